/**
 * Where a KCL package comes from: an `oci://` URL, `name[:version]` in the default registry, a docker-style
 * reference, a local folder, or a .tar/.tgz file.
 *
 * @module
 */

import { resolve } from "node:path";
import { isValidHost, isValidTag, parseReference, ReferenceFormatError } from "../oci/reference.ts";

/** A package in an OCI registry. `tag` is absent when the newest semver tag is wanted. */
export interface OciSource {
  kind: "oci";
  registry: string;
  /** Repository path, lowercased as OCI requires. */
  repository: string;
  tag?: string;
  /** The repository path as the user wrote it (may have capitals). */
  spelled: string;
}

/** A package folder or archive on disk. */
export type LocalSource = { kind: "path"; path: string } | { kind: "archive"; path: string };

/** Any package source. */
export type PackageSource = OciSource | LocalSource;

/** The default registry and repository a bare `name[:version]` lives in. */
export interface SourceDefaults {
  registry: string;
  repository: string;
}

/** Thrown for a source that cannot be understood. */
export class SourceError extends Error {
  /** The error's class name. */
  override name = "SourceError";
}

const NAME_VERSION = /^([A-Za-z0-9_.-]+)(?::([A-Za-z0-9_][A-Za-z0-9._+-]*))?$/;

/**
 * Parses a package source as typed on the command line.
 *
 * @param input the SOURCE argument
 * @param options defaults (registry, repo), an explicit `tag` (--tag), the working folder and a file check
 * @returns the source; `onLowercase` is called when a repository path had capitals
 * @throws {SourceError} for malformed input, naming it
 * @example parseSource("oci://localhost:5001/test/MyPkg", { tag: "0.0.1", ... })
 */
export function parseSource(
  input: string,
  options: {
    defaults: SourceDefaults;
    tag?: string;
    cwd: string;
    /** Says whether a path exists and what it is. */
    stat: (path: string) => "file" | "dir" | undefined;
    onLowercase?: (from: string, to: string) => void;
  },
): PackageSource {
  const trimmed = input.trim();
  if (trimmed === "") throw new SourceError('Invalid package source "": it is empty');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    if (!trimmed.startsWith("oci://")) {
      throw new SourceError(`Invalid package source "${input}": only oci:// URLs are supported`);
    }
    return ociFromPath(trimmed.slice("oci://".length), input, options);
  }
  const stat = options.stat(resolve(options.cwd, trimmed));
  if (stat === "dir") return { kind: "path", path: resolve(options.cwd, trimmed) };
  if (stat === "file") {
    if (/\.(tar|tgz|tar\.gz)$/i.test(trimmed)) {
      return { kind: "archive", path: resolve(options.cwd, trimmed) };
    }
    throw new SourceError(
      `Invalid package source "${input}": a file must be a .tar, .tgz or .tar.gz archive`,
    );
  }
  const nameVersion = NAME_VERSION.exec(trimmed);
  if (nameVersion && !trimmed.includes("/")) {
    const [, name, version] = nameVersion;
    return ociSource(
      options.defaults.registry,
      `${options.defaults.repository}/${name}`,
      options.tag ?? version,
      input,
      options.onLowercase,
    );
  }
  if (trimmed.includes("/")) return dockerStyle(trimmed, input, options);
  throw new SourceError(
    `Invalid package source "${input}": expected oci://HOST/REPO, NAME[:VERSION], HOST/REPO/NAME:TAG or a path`,
  );
}

/** What the OCI forms read from parseSource's options. */
type OciOptions = { tag?: string; onLowercase?: (from: string, to: string) => void };

/** `host/repo/name[:tag]` with docker's rule for the first segment. */
function dockerStyle(value: string, input: string, options: OciOptions): OciSource {
  const { path, tag } = splitTag(value, options.tag);
  let ref;
  try {
    ref = parseReference(path.toLowerCase());
  } catch (error) {
    if (error instanceof ReferenceFormatError) {
      throw new SourceError(`Invalid package source "${input}": ${referenceReason(error)}`);
    }
    throw error;
  }
  const spelledRepo = path.slice(path.length - ref.repository.length);
  return ociSource(
    ref.registry,
    ref.repository === spelledRepo.toLowerCase() ? spelledRepo : ref.repository,
    tag,
    input,
    options.onLowercase,
  );
}

function ociFromPath(rest: string, input: string, options: OciOptions): OciSource {
  const slash = rest.indexOf("/");
  if (slash <= 0) throw new SourceError(`Invalid package source "${input}": expected oci://HOST/REPO`);
  const { path, tag } = splitTag(rest.slice(slash + 1).replace(/\/+$/, ""), options.tag);
  return ociSource(rest.slice(0, slash), path, tag, input, options.onLowercase);
}

/** Splits `path[:tag]` at a colon after the last slash; an explicit tag (--tag) wins over the written one. */
function splitTag(value: string, explicit: string | undefined): { path: string; tag: string | undefined } {
  const colon = value.indexOf(":", value.lastIndexOf("/") + 1);
  if (colon < 0) return { path: value, tag: explicit };
  return { path: value.slice(0, colon), tag: explicit ?? value.slice(colon + 1) };
}

/** A reference error's reason, without its own `Invalid reference "…": ` prefix. */
function referenceReason(error: Error): string {
  return error.message.replace(/^Invalid reference "[^"]*": /, "");
}

function ociSource(
  registry: string,
  spelled: string,
  tag: string | undefined,
  input: string,
  onLowercase?: (from: string, to: string) => void,
): OciSource {
  if (!isValidHost(registry)) {
    throw new SourceError(`Invalid package source "${input}": bad registry "${registry}"`);
  }
  if (tag !== undefined && !isValidTag(tag)) {
    throw new SourceError(`Invalid package source "${input}": tag "${tag}" is not a valid OCI tag`);
  }
  const repository = spelled.toLowerCase();
  try {
    parseReference(`${registry}/${repository}`);
  } catch (error) {
    throw new SourceError(`Invalid package source "${input}": ${referenceReason(error as Error)}`);
  }
  if (repository !== spelled) onLowercase?.(spelled, repository);
  return { kind: "oci", registry, repository, spelled, ...(tag !== undefined && { tag }) };
}
