/**
 * Manifest operations: GET/HEAD/PUT/DELETE by tag or digest, tag listing with Link pagination, referrers and
 * the catalog.
 *
 * @module
 */

import type { RegistryClient } from "./client.ts";
import { type Digest, digestOf, isDigest } from "./digest.ts";
import {
  checkDescriptor,
  type Descriptor,
  type ImageIndex,
  type Manifest,
  MAX_MANIFEST_BYTES,
  parseManifest,
} from "./manifest.ts";
import { MANIFEST_TYPES, OCI_INDEX } from "./media_types.ts";
import { formatReference, type Reference, referenceTarget } from "./reference.ts";
import { readCapped } from "./read_capped.ts";
import { RegistryError } from "./registry_error.ts";
import { repositoryScope } from "./auth/scope.ts";

/** A fetched manifest with its raw bytes and descriptor. */
export interface FetchedManifest {
  manifest: Manifest;
  bytes: Uint8Array;
  descriptor: Descriptor;
}

const ACCEPT = MANIFEST_TYPES.join(", ");

/**
 * Fetches a manifest by tag or digest, checking size, type and (when asked by digest) the digest.
 *
 * @throws {RegistryError} when the registry refuses, or the manifest is oversize, invalid or does not match
 */
export async function fetchManifest(client: RegistryClient, ref: Reference): Promise<FetchedManifest> {
  const target = referenceTarget(ref);
  const what = `pull manifest "${formatReference(ref)}"`;
  const response = await client.send({
    registry: ref.registry,
    repository: ref.repository,
    path: `${ref.repository}/manifests/${target}`,
    headers: { Accept: ACCEPT },
    scopes: [repositoryScope(ref.repository, ["pull"])],
    expect: [200],
    what,
  });
  const declared = Number(response.headers.get("Content-Length") ?? "0");
  if (declared > MAX_MANIFEST_BYTES) {
    await response.body?.cancel();
    throw new RegistryError(`Cannot ${what}: manifest is ${declared} bytes, over the 4 MiB limit`, {
      status: 200,
      registry: ref.registry,
      repository: ref.repository,
    });
  }
  const bytes = await readCapped(response, { limit: MAX_MANIFEST_BYTES + 1, truncate: true });
  const fail = (why: string): never => {
    throw new RegistryError(`Cannot ${what}: ${why}`, {
      status: 200,
      registry: ref.registry,
      repository: ref.repository,
    });
  };
  let parsed;
  try {
    parsed = parseManifest(bytes, response.headers.get("Content-Type") ?? undefined);
  } catch (error) {
    return fail((error as Error).message);
  }
  const digest = digestOf(bytes, ref.digest ? ref.digest.split(":")[0] : "sha256");
  if (ref.digest && digest !== ref.digest) fail(`content has digest "${digest}"`);
  const header = response.headers.get("Docker-Content-Digest");
  if (!ref.digest && header && isDigest(header) && header.startsWith("sha256:") && header !== digest) {
    fail(`content has digest "${digest}" but the registry said "${header}"`);
  }
  return {
    manifest: parsed.manifest,
    bytes,
    descriptor: { mediaType: parsed.mediaType, digest, size: bytes.byteLength },
  };
}

/**
 * Asks whether a manifest exists (HEAD) and returns its descriptor, or undefined on 404.
 *
 * @throws {RegistryError} on any other failure
 */
export async function headManifest(client: RegistryClient, ref: Reference): Promise<Descriptor | undefined> {
  const response = await client.send({
    registry: ref.registry,
    repository: ref.repository,
    method: "HEAD",
    path: `${ref.repository}/manifests/${referenceTarget(ref)}`,
    headers: { Accept: ACCEPT },
    scopes: [repositoryScope(ref.repository, ["pull"])],
    expect: [200, 404],
    what: `look up manifest "${formatReference(ref)}"`,
  });
  await response.body?.cancel();
  if (response.status === 404) return undefined;
  const digest = response.headers.get("Docker-Content-Digest");
  if (!digest || !isDigest(digest)) {
    // Some registries omit the digest on HEAD: fall back to a GET.
    return (await fetchManifest(client, ref)).descriptor;
  }
  return {
    mediaType: response.headers.get("Content-Type")?.split(";")[0] ?? "",
    digest,
    size: Number(response.headers.get("Content-Length") ?? "0"),
  };
}

/**
 * Uploads a manifest under a tag or its digest.
 *
 * @param ref where: `ref.tag`, else `ref.digest`, else the manifest's own digest
 * @returns the manifest's descriptor
 */
export async function pushManifest(
  client: RegistryClient,
  ref: Reference,
  manifest: { bytes: Uint8Array; mediaType: string },
): Promise<Descriptor> {
  const digest = digestOf(manifest.bytes);
  const target = ref.tag ?? ref.digest ?? digest;
  const response = await client.send({
    registry: ref.registry,
    repository: ref.repository,
    method: "PUT",
    path: `${ref.repository}/manifests/${target}`,
    headers: { "Content-Type": manifest.mediaType },
    body: manifest.bytes,
    scopes: [repositoryScope(ref.repository, ["pull", "push"])],
    expect: [200, 201],
    what: `push manifest to "${
      formatReference({ ...ref, tag: ref.tag, digest: ref.tag ? undefined : digest })
    }"`,
  });
  await response.body?.cancel();
  return { mediaType: manifest.mediaType, digest, size: manifest.bytes.byteLength };
}

/** Deletes a manifest by digest (registries refuse deletion by tag). */
export async function deleteManifest(
  client: RegistryClient,
  ref: Reference & { digest: Digest },
): Promise<void> {
  const response = await client.send({
    registry: ref.registry,
    repository: ref.repository,
    method: "DELETE",
    path: `${ref.repository}/manifests/${ref.digest}`,
    scopes: [repositoryScope(ref.repository, ["delete"])],
    expect: [202, 200],
    what: `delete manifest "${formatReference(ref)}"`,
  });
  await response.body?.cancel();
}

/** The most pages kpm follows in one listing (tags, catalog, referrers). */
export const MAX_PAGES = 1000;
/** The most entries kpm keeps from one listing. */
export const MAX_ENTRIES = 100_000;
/** The most bytes read from one page. */
const MAX_PAGE_BYTES = 16 * 1024 * 1024;

/** The first request of a listing. */
interface Listing<T> {
  registry: string;
  repository?: string;
  path: string;
  headers?: HeadersInit;
  scopes: string[];
  what: string;
  /** The entries of one parsed page. */
  entries: (page: T) => unknown[] | null | undefined;
  /** The first answer is no listing at all (e.g. no referrers API): returns undefined instead. */
  absent?: (response: Response) => boolean;
}

/**
 * Reads a listing across its `Link: <url>; rel="next"` pages, bounded to MAX_PAGES pages and MAX_ENTRIES
 * entries (a registry that always sends another page cannot keep kpm busy or fill its memory).
 *
 * @returns every entry, or undefined when `absent` says the first answer is no listing
 * @throws {RegistryError} on invalid JSON, or when a bound is passed (the error names it)
 */
async function readListing<T>(client: RegistryClient, listing: Listing<T>): Promise<unknown[] | undefined> {
  const entries: unknown[] = [];
  const seen = new Set<string>();
  const fail = (why: string): never => {
    throw new RegistryError(`Cannot ${listing.what}: ${why}`, {
      status: 200,
      registry: listing.registry,
      repository: listing.repository,
    });
  };
  let url: string | undefined = listing.path;
  while (url && !seen.has(url)) {
    if (seen.size === MAX_PAGES) fail(`the registry sent more than ${MAX_PAGES} pages, the most kpm follows`);
    seen.add(url);
    const response = await client.send({
      registry: listing.registry,
      repository: listing.repository,
      url,
      headers: listing.headers,
      scopes: listing.scopes,
      expect: listing.absent ? [200, 404] : [200],
      what: listing.what,
    });
    if (seen.size === 1 && listing.absent?.(response)) {
      await response.body?.cancel();
      return undefined;
    }
    url = nextLink(response.headers.get("Link"));
    let page: T;
    try {
      page = JSON.parse(
        new TextDecoder().decode(await readCapped(response, { limit: MAX_PAGE_BYTES, truncate: true })),
      ) as T;
    } catch {
      return fail("the registry answered invalid JSON");
    }
    let more: unknown[];
    try {
      more = listing.entries(page) ?? [];
    } catch (error) {
      return fail((error as Error).message);
    }
    if (!Array.isArray(more)) fail("the registry answered a list that is not an array");
    if (entries.length + more.length > MAX_ENTRIES) {
      fail(`the registry sent more than ${MAX_ENTRIES} entries, the most kpm keeps`);
    }
    entries.push(...more);
  }
  return entries;
}

/** Parses a `Link` header's `rel="next"` target (relative to the registry). */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(",")) {
    const match = /<([^>]*)>\s*;(?:.*;)?\s*rel="?next"?/i.exec(part.trim());
    if (match) return match[1];
  }
  return undefined;
}

/** The strings of a list (a registry's list is data: anything else in it is dropped). */
function strings(list: unknown[] | undefined): string[] {
  return (list ?? []).filter((item): item is string => typeof item === "string");
}

/**
 * Lists every tag of a repository, across all pages (at most MAX_PAGES pages and MAX_ENTRIES tags).
 *
 * @param options `pageSize` asks the registry for pages of that many tags
 */
export async function listTags(
  client: RegistryClient,
  ref: Pick<Reference, "registry" | "repository">,
  options: { pageSize?: number } = {},
): Promise<string[]> {
  const query = options.pageSize ? `?n=${options.pageSize}` : "";
  return strings(
    await readListing<{ tags?: string[] | null }>(client, {
      registry: ref.registry,
      repository: ref.repository,
      path: `/v2/${ref.repository}/tags/list${query}`,
      scopes: [repositoryScope(ref.repository, ["pull"])],
      what: `list tags of "${ref.registry}/${ref.repository}"`,
      entries: (page) => page.tags,
    }),
  );
}

/** Lists every repository of a registry (`/v2/_catalog`), across all pages (bounded as listTags). */
export async function listRepositories(
  client: RegistryClient,
  registry: string,
  options: { pageSize?: number } = {},
): Promise<string[]> {
  const query = options.pageSize ? `?n=${options.pageSize}` : "";
  return strings(
    await readListing<{ repositories?: string[] | null }>(client, {
      registry,
      path: `/v2/_catalog${query}`,
      scopes: ["registry:catalog:*"],
      what: `list the repositories of "${registry}"`,
      entries: (page) => page.repositories,
    }),
  );
}

/**
 * Lists the referrers of a manifest: the referrers API across its pages (bounded as listTags), or the
 * `sha256-<hex>` tag schema when the registry has no such API.
 *
 * @param options `artifactType` filters the result
 */
export async function listReferrers(
  client: RegistryClient,
  ref: Reference & { digest: Digest },
  options: { artifactType?: string } = {},
): Promise<Descriptor[]> {
  const query = options.artifactType ? `?artifactType=${encodeURIComponent(options.artifactType)}` : "";
  let all = await readListing<ImageIndex>(client, {
    registry: ref.registry,
    repository: ref.repository,
    path: `/v2/${ref.repository}/referrers/${ref.digest}${query}`,
    headers: { Accept: OCI_INDEX },
    scopes: [repositoryScope(ref.repository, ["pull"])],
    what: `list referrers of "${formatReference(ref)}"`,
    entries: (page) =>
      Array.isArray(page.manifests)
        ? page.manifests.map((d, i) => checkDescriptor(d, `referrer ${i}`))
        : page.manifests,
    absent: (response) =>
      response.status !== 200 || !response.headers.get("Content-Type")?.startsWith(OCI_INDEX),
  }) as Descriptor[] | undefined;
  if (!all) {
    const fallback = { ...ref, digest: undefined, tag: ref.digest.replace(":", "-") };
    if (!(await headManifest(client, fallback))) return [];
    all = ((await fetchManifest(client, fallback)).manifest as ImageIndex).manifests ?? [];
  }
  return options.artifactType ? all.filter((d) => d.artifactType === options.artifactType) : all;
}
