/**
 * Where an artifact command reads or writes: `host[:port]/repo[:tag|@digest]` (a registry) or
 * `oci-layout:DIR[:tag|@digest]` (an OCI image-layout folder), with `:t1,t2` for several tags on push.
 *
 * @module
 */

import { resolve } from "node:path";
import type { RegistryClient } from "../oci/client.ts";
import { type Digest, isDigest } from "../oci/digest.ts";
import { openLayout } from "../oci/layout.ts";
import { isValidTag, parseReference, type Reference } from "../oci/reference.ts";
import { Repository } from "../oci/repository.ts";
import type { Store } from "../oci/store.ts";
import { ArtifactError } from "./files.ts";

/** The prefix of an OCI layout target. */
export const LAYOUT_PREFIX = "oci-layout:";

/** A parsed target. `tags` holds every tag given (`:t1,t2`); `digest` a pinned digest. */
export type Target =
  | { kind: "registry"; ref: Reference; tags: string[]; digest?: Digest }
  | { kind: "layout"; dir: string; tags: string[]; digest?: Digest };

/**
 * Parses a target.
 *
 * @param options `cwd` resolves a relative layout folder; `multipleTags` allows `:t1,t2`
 * @throws {ArtifactError} / {ReferenceFormatError} for malformed input
 * @example parseTarget("oci-layout:./out:v1", { cwd: "/tmp" }) // { kind: "layout", dir: "/tmp/out", tags: ["v1"] }
 */
export function parseTarget(value: string, options: { cwd: string; multipleTags?: boolean }): Target {
  const { rest, tags, digest } = splitTarget(value);
  if (tags.length > 1 && !options.multipleTags) {
    throw new ArtifactError(`Invalid reference "${value}": only push takes several tags`);
  }
  for (const tag of tags) {
    if (!isValidTag(tag)) {
      throw new ArtifactError(
        `Invalid reference "${value}": tag "${tag}" must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`,
      );
    }
  }
  if (value.startsWith(LAYOUT_PREFIX)) {
    const dir = rest.slice(LAYOUT_PREFIX.length);
    if (dir === "") throw new ArtifactError(`Invalid reference "${value}": the folder is missing`);
    return { kind: "layout", dir: resolve(options.cwd, dir), tags, ...(digest && { digest }) };
  }
  const ref = parseReference(
    `${rest}${tags[0] !== undefined ? `:${tags[0]}` : ""}${digest ? `@${digest}` : ""}`,
  );
  return { kind: "registry", ref, tags, ...(digest && { digest }) };
}

/** Splits `…[:tags][@digest]`; a `:` followed by a `/` (a port or a Windows drive) is not a tag. */
function splitTarget(value: string): { rest: string; tags: string[]; digest?: Digest } {
  let rest = value;
  let digest: Digest | undefined;
  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    const candidate = rest.slice(at + 1);
    if (!isDigest(candidate)) {
      throw new ArtifactError(`Invalid reference "${value}": "${candidate}" is not a valid digest`);
    }
    digest = candidate;
    rest = rest.slice(0, at);
  }
  const body = rest.startsWith(LAYOUT_PREFIX) ? rest.slice(LAYOUT_PREFIX.length) : rest;
  const offset = rest.length - body.length;
  const colon = body.lastIndexOf(":");
  const lastSep = Math.max(body.lastIndexOf("/"), body.lastIndexOf("\\"));
  const isDrive = colon === 1 && /^[a-zA-Z]:(?:[\\/]|$)/.test(body);
  if (colon < 0 || colon < lastSep || isDrive) return { rest, tags: [], digest };
  const tagText = body.slice(colon + 1);
  return { rest: rest.slice(0, offset + colon), tags: tagText.split(","), digest };
}

/** The reference a target names: its digest, else its first tag, else `fallback` (e.g. `latest`). */
export function targetReference(target: Target, fallback?: string): string | undefined {
  return target.digest ?? target.tags[0] ?? fallback;
}

/** Formats a target for messages. */
export function formatTarget(target: Target): string {
  const base = target.kind === "layout"
    ? `${LAYOUT_PREFIX}${target.dir}`
    : `${target.ref.registry}/${target.ref.repository}`;
  return `${base}${target.tags.length ? `:${target.tags.join(",")}` : ""}${
    target.digest ? `@${target.digest}` : ""
  }`;
}

/**
 * Opens the store a target names.
 *
 * @param options `client` makes the registry client (called only for registry targets); `create` makes a
 *   missing layout folder (for targets that are written)
 */
export async function openTarget(
  target: Target,
  options: { client: () => RegistryClient | Promise<RegistryClient>; create?: boolean },
): Promise<Store> {
  if (target.kind === "layout") return await openLayout(target.dir, { create: options.create });
  return new Repository(await options.client(), target.ref);
}
