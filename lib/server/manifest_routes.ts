/**
 * The embedded registry's manifest routes: GET/HEAD/PUT/DELETE of manifests by tag or digest (with the
 * checks distribution makes: valid JSON of a known type, referenced blobs and child manifests present, 4 MiB
 * cap), tag listing, the referrers API and the catalog, with `n`/`last` pagination and `Link` headers.
 *
 * @module
 */

import { type Digest, digestAlgorithm, digestOf, isDigest } from "../oci/digest.ts";
import { isIndex, type Manifest, ManifestError, MAX_MANIFEST_BYTES, parseManifest } from "../oci/manifest.ts";
import { isManifestMediaType } from "../oci/manifest.ts";
import { OCI_INDEX } from "../oci/media_types.ts";
import { isValidTag } from "../oci/reference.ts";
import { DistributionError } from "./registry_errors.ts";
import { digestParam, readBodyCapped, type RouteContext } from "./registry_http.ts";
import type { ServerStorage } from "./storage.ts";

function manifestUnknown(ctx: RouteContext, reference: string): DistributionError {
  return new DistributionError("MANIFEST_UNKNOWN", `Cannot find manifest "${reference}" in "${ctx.name}"`, {
    detail: { name: ctx.name, reference },
  });
}

/**
 * Checks a manifest reference: a digest, or a tag of the spec's grammar. A tag outside the grammar cannot name
 * anything: reads and deletes answer 404 MANIFEST_UNKNOWN (as distribution, whose routes do not match it, and
 * as the conformance suite expects), a push 400 TAG_INVALID.
 */
function checkReference(ctx: RouteContext, reference: string, write = false): void {
  if (reference.includes(":")) digestParam(reference, "the manifest reference");
  else if (!isValidTag(reference)) {
    if (!write) throw manifestUnknown(ctx, reference);
    throw new DistributionError("TAG_INVALID", `Invalid tag "${reference}"`, { detail: { tag: reference } });
  }
}

/** GET or HEAD `/v2/<name>/manifests/<reference>`. */
export async function getManifest(ctx: RouteContext, reference: string, head: boolean): Promise<Response> {
  checkReference(ctx, reference);
  await ctx.proxy?.cacheManifest(ctx.name, reference);
  const stored = await ctx.storage.getManifest(ctx.name, reference);
  if (!stored) throw manifestUnknown(ctx, reference);
  const headers = {
    "Content-Type": stored.mediaType,
    "Content-Length": String(stored.bytes.byteLength),
    "Docker-Content-Digest": stored.digest,
    "ETag": `"${stored.digest}"`,
  };
  return new Response(head ? null : stored.bytes as Uint8Array<ArrayBuffer>, { status: 200, headers });
}

/** PUT `/v2/<name>/manifests/<reference>`: validates and stores a manifest (201). */
export async function putManifest(ctx: RouteContext, reference: string): Promise<Response> {
  checkReference(ctx, reference, true);
  const bytes = await readBodyCapped(ctx.request, {
    limit: MAX_MANIFEST_BYTES,
    what: `a manifest in "${ctx.name}"`,
  });
  ctx.received(bytes.byteLength);
  const header = ctx.request.headers.get("Content-Type")?.split(";")[0]?.trim();
  let parsed;
  try {
    parsed = parseManifest(bytes, header);
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    throw new DistributionError(
      "MANIFEST_INVALID",
      `Cannot store manifest "${reference}" in "${ctx.name}": ${error.message}`,
    );
  }
  const mediaType = header && isManifestMediaType(header) ? header : parsed.mediaType;
  const digest = digestOf(bytes, isDigest(reference) ? digestAlgorithm(reference) : "sha256");
  if (isDigest(reference) && reference !== digest) {
    throw new DistributionError(
      "DIGEST_INVALID",
      `Cannot store manifest "${reference}" in "${ctx.name}": its content's digest is "${digest}"`,
      { detail: { digest: reference } },
    );
  }
  const manifest = parsed.manifest;
  const missing = await firstMissing(ctx, manifest);
  if (missing) {
    throw new DistributionError(
      "MANIFEST_BLOB_UNKNOWN",
      `Cannot store manifest "${reference}" in "${ctx.name}": it references "${missing}", which the repository does not hold`,
      { detail: { digest: missing } },
    );
  }
  await ctx.storage.putManifest(ctx.name, {
    stored: { bytes, mediaType, digest },
    manifest,
    tag: isDigest(reference) ? undefined : reference,
  });
  const headers: Record<string, string> = {
    "Location": `/v2/${ctx.name}/manifests/${digest}`,
    "Docker-Content-Digest": digest,
    "Content-Length": "0",
  };
  if (manifest.subject) headers["OCI-Subject"] = manifest.subject.digest;
  return new Response(null, { status: 201, headers });
}

/** The first manifest (of an index) or blob (of a manifest) the repository does not hold, if any. */
async function firstMissing(ctx: RouteContext, manifest: Manifest): Promise<Digest | undefined> {
  if (isIndex(manifest)) {
    for (const child of manifest.manifests) {
      if (!(await ctx.storage.hasManifest(ctx.name, child.digest))) return child.digest;
    }
    return undefined;
  }
  for (const blob of [manifest.config, ...manifest.layers]) {
    if (blob.urls && blob.urls.length > 0) continue; // non-distributable layers live elsewhere
    if ((await ctx.storage.blobSize(ctx.name, blob.digest)) === undefined) return blob.digest;
  }
  return undefined;
}

/** DELETE `/v2/<name>/manifests/<reference>`: a manifest with its tags (by digest), or one tag (202). */
export async function deleteManifest(ctx: RouteContext, reference: string): Promise<Response> {
  checkReference(ctx, reference);
  if (!(await ctx.storage.deleteManifest(ctx.name, reference))) throw manifestUnknown(ctx, reference);
  return new Response(null, { status: 202 });
}

/**
 * One page of a sorted list after `last`, of at most `n` entries, and the `Link` to the next page.
 *
 * @throws {DistributionError} on an `n` that is not a non-negative integer
 */
export function paginate(
  all: string[],
  options: { query: URLSearchParams; path: string },
): { page: string[]; link?: string } {
  const { query, path } = options;
  const last = query.get("last");
  const nValue = query.get("n");
  const n = nValue === null || nValue === "" ? undefined : Number(nValue);
  if (n !== undefined && (!Number.isInteger(n) || n < 0)) {
    throw new DistributionError("UNSUPPORTED", `Invalid page size n="${nValue}"`, { status: 400 });
  }
  const rest = last ? all.filter((entry) => entry > last) : all;
  const page = n === undefined ? rest : rest.slice(0, n);
  if (n === undefined || n === 0 || rest.length <= n) return { page };
  const next = new URLSearchParams({ n: String(n), last: page[page.length - 1]! });
  return { page, link: `<${path}?${next}>; rel="next"` };
}

/** GET `/v2/<name>/tags/list` with `n` and `last`. */
export async function listTags(ctx: RouteContext): Promise<Response> {
  const tags = await ctx.storage.tags(ctx.name);
  if (!tags) {
    throw new DistributionError("NAME_UNKNOWN", `Cannot list tags: repository "${ctx.name}" is unknown`, {
      detail: { name: ctx.name },
    });
  }
  const { page, link } = paginate(tags, { query: ctx.query, path: `/v2/${ctx.name}/tags/list` });
  const response = Response.json({ name: ctx.name, tags: page });
  if (link) response.headers.set("Link", link);
  return response;
}

/** GET `/v2/<name>/referrers/<digest>` with an optional `artifactType` filter: an OCI index. */
export async function listReferrers(ctx: RouteContext, reference: string): Promise<Response> {
  const subject = digestParam(reference, `the referrers path of "${ctx.name}"`);
  const artifactType = ctx.query.get("artifactType");
  let manifests = await ctx.storage.referrers(ctx.name, subject);
  if (artifactType) manifests = manifests.filter((d) => d.artifactType === artifactType);
  const body = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests });
  const headers: Record<string, string> = { "Content-Type": OCI_INDEX };
  if (artifactType) headers["OCI-Filters-Applied"] = "artifactType";
  return new Response(body, { status: 200, headers });
}

/**
 * GET `/v2/_catalog` with `n` and `last`: the repositories the caller may pull (`visible`).
 *
 * @param storage the registry's storage
 * @param request the `query` and the `visible` filter
 */
export async function catalog(
  storage: ServerStorage,
  request: { query: URLSearchParams; visible: (name: string) => boolean },
): Promise<Response> {
  const names = (await storage.repositories()).filter(request.visible);
  const { page, link } = paginate(names, { query: request.query, path: "/v2/_catalog" });
  const response = Response.json({ repositories: page });
  if (link) response.headers.set("Link", link);
  return response;
}
