/**
 * Manifest operations: GET/HEAD/PUT/DELETE by tag or digest, tag listing with Link pagination, referrers and
 * the catalog.
 *
 * @module
 */

import type { RegistryClient } from "./client.ts";
import { type Digest, digestOf, isDigest } from "./digest.ts";
import {
  type Descriptor,
  type ImageIndex,
  type Manifest,
  MAX_MANIFEST_BYTES,
  parseManifest,
} from "./manifest.ts";
import { MANIFEST_TYPES, OCI_INDEX } from "./media_types.ts";
import { formatReference, type Reference, referenceTarget } from "./reference.ts";
import { readCapped, RegistryError } from "./registry_error.ts";
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
  const bytes = await readCapped(response, MAX_MANIFEST_BYTES + 1);
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

/** Follows `Link: <url>; rel="next"` pagination, yielding each page's parsed JSON. */
async function* pages<T>(
  client: RegistryClient,
  first: { registry: string; repository?: string; path: string; scopes: string[]; what: string },
): AsyncGenerator<T> {
  let url: string | undefined = first.path;
  const seen = new Set<string>();
  while (url && !seen.has(url)) {
    seen.add(url);
    const response = await client.send({
      registry: first.registry,
      repository: first.repository,
      url,
      scopes: first.scopes,
      expect: [200],
      what: first.what,
    });
    url = nextLink(response.headers.get("Link"));
    const text = new TextDecoder().decode(await readCapped(response, 16 * 1024 * 1024));
    try {
      yield JSON.parse(text) as T;
    } catch {
      throw new RegistryError(`Cannot ${first.what}: the registry answered invalid JSON`, {
        status: 200,
        registry: first.registry,
      });
    }
  }
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

/**
 * Lists every tag of a repository, across all pages.
 *
 * @param options `pageSize` asks the registry for pages of that many tags
 */
export async function listTags(
  client: RegistryClient,
  ref: Pick<Reference, "registry" | "repository">,
  options: { pageSize?: number } = {},
): Promise<string[]> {
  const tags: string[] = [];
  const query = options.pageSize ? `?n=${options.pageSize}` : "";
  for await (
    const page of pages<{ tags?: string[] | null }>(client, {
      registry: ref.registry,
      repository: ref.repository,
      path: `/v2/${ref.repository}/tags/list${query}`,
      scopes: [repositoryScope(ref.repository, ["pull"])],
      what: `list tags of "${ref.registry}/${ref.repository}"`,
    })
  ) tags.push(...(page.tags ?? []));
  return tags;
}

/** Lists every repository of a registry (`/v2/_catalog`), across all pages. */
export async function listRepositories(
  client: RegistryClient,
  registry: string,
  options: { pageSize?: number } = {},
): Promise<string[]> {
  const repositories: string[] = [];
  const query = options.pageSize ? `?n=${options.pageSize}` : "";
  for await (
    const page of pages<{ repositories?: string[] | null }>(client, {
      registry,
      path: `/v2/_catalog${query}`,
      scopes: ["registry:catalog:*"],
      what: `list the repositories of "${registry}"`,
    })
  ) repositories.push(...(page.repositories ?? []));
  return repositories;
}

/**
 * Lists the referrers of a manifest: the referrers API, or the `sha256-<hex>` tag schema when the registry has
 * no such API.
 *
 * @param options `artifactType` filters the result
 */
export async function listReferrers(
  client: RegistryClient,
  ref: Reference & { digest: Digest },
  options: { artifactType?: string } = {},
): Promise<Descriptor[]> {
  const query = options.artifactType ? `?artifactType=${encodeURIComponent(options.artifactType)}` : "";
  const response = await client.send({
    registry: ref.registry,
    repository: ref.repository,
    path: `${ref.repository}/referrers/${ref.digest}${query}`,
    headers: { Accept: OCI_INDEX },
    scopes: [repositoryScope(ref.repository, ["pull"])],
    expect: [200, 404],
    what: `list referrers of "${formatReference(ref)}"`,
  });
  let index: ImageIndex | undefined;
  if (response.status === 200 && response.headers.get("Content-Type")?.startsWith(OCI_INDEX)) {
    index = JSON.parse(
      new TextDecoder().decode(await readCapped(response, MAX_MANIFEST_BYTES)),
    ) as ImageIndex;
  } else {
    await response.body?.cancel();
    const fallback = { ...ref, digest: undefined, tag: ref.digest.replace(":", "-") };
    if (!(await headManifest(client, fallback))) return [];
    index = (await fetchManifest(client, fallback)).manifest as ImageIndex;
  }
  const all = index.manifests ?? [];
  return options.artifactType ? all.filter((d) => d.artifactType === options.artifactType) : all;
}
