/**
 * Garbage collection of the embedded registry's folder (`kpm registry gc`): mark every manifest each
 * repository holds (tagged, untagged, referrers) and what it references (config, layers, child manifests), then
 * sweep content nothing marks, the repository links to it, uploads left behind and temporary files of
 * interrupted writes. It takes the folder's lock, so it refuses to run while a server uses the folder.
 *
 * @module
 */

import { join } from "node:path";
import type { Digest } from "../oci/digest.ts";
import { ifFound } from "../oci/if_found.ts";
import { isIndex, parseManifest } from "../oci/manifest.ts";
import { ServerStorage } from "./storage.ts";

/** What a collection freed (or, with `dryRun`, would free). */
export interface GcReport {
  /** Content removed: digest (or path, for a stray file) and size. */
  removed: { digest: string; size: number }[];
  /** Uploads removed and their bytes. */
  uploads: number;
  /** Repository links to removed content. */
  links: number;
  /** Bytes freed in all (content and uploads). */
  bytes: number;
  dryRun: boolean;
}

/** Marks a manifest and everything it references, recursively through index children. */
async function mark(storage: ServerStorage, digest: Digest, marked: Set<string>): Promise<void> {
  if (marked.has(digest)) return;
  marked.add(digest);
  const bytes = await ifFound(Deno.readFile(storage.blobPath(digest)), undefined);
  if (!bytes) return;
  let manifest;
  try {
    manifest = parseManifest(bytes).manifest;
  } catch {
    return; // content stored as a manifest that no longer parses references nothing
  }
  if (isIndex(manifest)) {
    for (const child of manifest.manifests) await mark(storage, child.digest, marked);
  } else {
    for (const blob of [manifest.config, ...manifest.layers]) marked.add(blob.digest);
  }
}

/** Removes what is in the uploads folder; returns how many entries and bytes. */
async function sweepUploads(dir: string, dryRun: boolean): Promise<{ count: number; bytes: number }> {
  const entries = await ifFound(Array.fromAsync(Deno.readDir(dir)), []);
  let bytes = 0;
  for (const entry of entries) {
    const path = join(dir, entry.name);
    bytes += (await Deno.stat(path)).size;
    if (!dryRun) await Deno.remove(path, { recursive: true });
  }
  return { count: entries.length, bytes };
}

/**
 * Collects the garbage of a registry folder.
 *
 * @param root the folder `kpm registry serve --root` uses
 * @param options `dryRun`: report without removing anything
 * @returns what was (or would be) freed
 * @throws {Error} when the folder is not a registry folder or a server holds it
 */
export async function collectGarbage(root: string, options: { dryRun?: boolean } = {}): Promise<GcReport> {
  const dryRun = options.dryRun ?? false;
  const storage = new ServerStorage(root);
  const isFolder = await Deno.stat(join(root, "blobs")).then((info) => info.isDirectory, () => false);
  if (!isFolder) throw new Error(`Cannot collect garbage in "${root}": it is not a kpm registry folder`);
  using _lock = await storage.lock("collect garbage in");
  const marked = new Set<string>();
  const repositories = await storage.repositories();
  for (const name of repositories) {
    for (const digest of await storage.revisions(name)) await mark(storage, digest, marked);
  }
  const report: GcReport = { removed: [], uploads: 0, links: 0, bytes: 0, dryRun };
  for await (const content of storage.contents()) {
    if (content.digest && marked.has(content.digest)) continue;
    report.removed.push({ digest: content.digest ?? content.path, size: content.size });
    report.bytes += content.size;
    if (!dryRun) await Deno.remove(content.path);
  }
  for (const name of repositories) {
    for (const digest of await storage.layerLinks(name)) {
      if (marked.has(digest)) continue;
      report.links++;
      if (!dryRun) await storage.unlinkBlob(name, digest);
    }
  }
  const uploads = await sweepUploads(storage.uploadsDir, dryRun);
  report.uploads = uploads.count;
  report.bytes += uploads.bytes;
  return report;
}
