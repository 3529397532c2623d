/**
 * Image and artifact references: `host[:port]/repo[:tag][@digest]`, with an optional `oci://` prefix and the
 * docker rules for names without a registry.
 *
 * @module
 */

import { type Digest, isDigest } from "./digest.ts";

/** A parsed reference. `registry` is the name users write (`docker.io`), not the API endpoint. */
export interface Reference {
  /** Registry host with optional port, e.g. `ghcr.io`, `localhost:5001`, `docker.io`. */
  registry: string;
  /** Repository path, e.g. `kcl-lang/k8s`. */
  repository: string;
  /** Tag, when given. */
  tag?: string;
  /** Digest, when given. */
  digest?: Digest;
}

/** Thrown for a malformed reference; the message names the input and the part that is wrong. */
export class ReferenceFormatError extends Error {
  /** The error's class name. */
  override name = "ReferenceFormatError";
}

/** The registry that names without a host refer to, as in docker. */
export const DOCKER_HUB = "docker.io";
/** The API endpoint of Docker Hub. */
export const DOCKER_HUB_ENDPOINT = "registry-1.docker.io";

const COMPONENT = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";
const REPOSITORY_PATTERN = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const HOST_PATTERN =
  /^(?:\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::[0-9]{1,5})?$/;

/** Returns true when `name` is a valid OCI repository name (lowercase path components). */
export function isValidRepository(name: string): boolean {
  return name.length <= 255 && REPOSITORY_PATTERN.test(name);
}

/** Returns true when `tag` matches the distribution spec's tag grammar. */
export function isValidTag(tag: string): boolean {
  return TAG_PATTERN.test(tag);
}

/** Returns true when `host` is a valid `host[:port]`. */
export function isValidHost(host: string): boolean {
  return HOST_PATTERN.test(host);
}

/** Docker's rule: the first path segment is a registry when it has a `.` or `:` or is `localhost`. */
function looksLikeRegistry(segment: string): boolean {
  return segment.includes(".") || segment.includes(":") || segment === "localhost" ||
    segment.startsWith("[");
}

/**
 * Parses `[oci://]host[:port]/repo[:tag][@digest]`. A name with no registry (`account/repo:1.0`, `alpine`)
 * means Docker Hub, with `library/` added to single-segment names, as docker does.
 *
 * @param input the reference as typed
 * @returns the parsed reference
 * @throws {ReferenceFormatError} naming the input and what is wrong with it
 * @example parseReference("localhost:5001/test/mypkg:0.0.1")
 */
export function parseReference(input: string): Reference {
  const fail = (why: string): never => {
    throw new ReferenceFormatError(`Invalid reference "${input}": ${why}`);
  };
  let rest = input.trim();
  if (rest.startsWith("oci://")) rest = rest.slice("oci://".length);
  else if (/^[a-z]+:\/\//i.test(rest)) fail("only the oci:// scheme is supported");
  if (rest === "") fail("it is empty");

  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    const candidate = rest.slice(at + 1);
    if (!isDigest(candidate)) fail(`"${candidate}" is not a valid digest (sha256:<64 hex digits>)`);
    digest = candidate as Digest;
    rest = rest.slice(0, at);
  }

  const slash = rest.indexOf("/");
  let registry = DOCKER_HUB;
  let path = rest;
  if (slash >= 0 && looksLikeRegistry(rest.slice(0, slash))) {
    registry = rest.slice(0, slash);
    path = rest.slice(slash + 1);
  }
  let tag: string | undefined;
  const lastSlash = path.lastIndexOf("/");
  const colon = path.indexOf(":", lastSlash + 1);
  if (colon >= 0) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!isValidTag(tag)) fail(`tag "${tag}" must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`);
  }
  if (!isValidHost(registry)) fail(`registry "${registry}" is not a valid host[:port]`);
  if (registry === "index.docker.io" || registry === DOCKER_HUB_ENDPOINT) registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && path !== "" && !path.includes("/")) path = `library/${path}`;
  if (path === "") fail("the repository is missing");
  if (path !== path.toLowerCase()) fail(`repository "${path}" must be lowercase`);
  if (!isValidRepository(path)) {
    fail(`repository "${path}" must be lowercase letters, digits and separators (. _ __ -) joined by /`);
  }
  return { registry, repository: path, ...(tag !== undefined && { tag }), ...(digest && { digest }) };
}

/**
 * Formats a reference as `registry/repository[:tag][@digest]`.
 *
 * @example formatReference({ registry: "ghcr.io", repository: "kcl-lang/k8s", tag: "1.28" })
 */
export function formatReference(ref: Reference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ""}${
    ref.digest ? `@${ref.digest}` : ""
  }`;
}

/** Formats `registry/repository` without tag or digest. */
export function repositoryName(ref: Pick<Reference, "registry" | "repository">): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The host:port to connect to for a registry name (`docker.io` → `registry-1.docker.io`). */
export function registryEndpoint(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_ENDPOINT : registry;
}

/** Returns true for loopback hosts (localhost, 127.0.0.0/8, ::1), which kpm reaches over plain HTTP. */
export function isLoopback(registry: string): boolean {
  const host = registry.startsWith("[") ? registry.slice(1, registry.indexOf("]")) : registry.split(":")[0]!;
  return host === "localhost" || host === "::1" || /^127(?:\.[0-9]{1,3}){3}$/.test(host);
}

/** The tag, else the digest, else `latest`: what a manifest request asks for. */
export function referenceTarget(ref: Reference): string {
  return ref.digest ?? ref.tag ?? "latest";
}
