/**
 * `copy`: an artifact's whole graph (manifests, indexes, configs, layers, optionally referrers) between any
 * two places, registries or OCI layout folders, skipping what the destination has.
 *
 * @module
 */

import type { Descriptor } from "../oci/manifest.ts";
import { copyGraph } from "../oci/copy.ts";
import { isDigest } from "../oci/digest.ts";
import { Client } from "./client.ts";
import { openSpec, sourceReference, type TargetSpec } from "./target_spec.ts";

/** Options of copy. */
export interface CopyOptions {
  /** The client for registry references (default: an anonymous Client); both places share it. */
  client?: Client;
  /** The tag or digest to copy when `from` is a Target or names neither (default `latest`). */
  reference?: string;
  /**
   * Tags the copy gets besides those of `to`'s reference string. When none is named: the source's tag (none
   * when the source is pinned by digest).
   */
  tags?: string[];
  /** Also copy the referrers (signatures, SBOMs…) of every copied manifest. */
  referrers?: boolean;
  /** Parallel transfers (default 3). */
  concurrency?: number;
  /** Cancels the operation: transfers not yet started never start, and it rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** What a copy did. */
export interface CopyResult {
  /** The copied root manifest. */
  root: Descriptor;
  /** The tags applied in the destination. */
  tags: string[];
  /** Blobs and manifests transferred. */
  copied: number;
  /** Blobs and manifests the destination already had. */
  skipped: number;
  /** The referrers found (with `referrers: true`). */
  referrers: Descriptor[];
}

/**
 * Copies an artifact from one place to another, verifying every blob on the fly.
 *
 * @param from a reference (`host[:port]/repo[:tag|@digest]`, `oci-layout:DIR[:tag]`) or a Target
 * @param to a reference (`…:t1,t2` for several tags) or a Target
 * @throws {RegistryError} / {LayoutError} when a place refuses; {DigestError} on corrupt content
 * @example Copy between two OCI layout folders
 * ```ts
 * import { copy, openLayout, push } from "@kcl/kpm";
 *
 * const source = `oci-layout:${await Deno.makeTempDir()}`;
 * await push(`${source}:v1`, [{ name: "a.txt", content: "a" }]);
 * const dir = await Deno.makeTempDir();
 * const result = await copy(`${source}:v1`, `oci-layout:${dir}`);
 * console.log(result.tags, result.copied); // [ "v1" ] 3
 * console.log(await (await openLayout(dir)).tags()); // [ "v1" ]
 * ```
 */
export async function copy(from: TargetSpec, to: TargetSpec, options: CopyOptions = {}): Promise<CopyResult> {
  const client = options.client ?? new Client();
  const source = await openSpec(from, { client });
  const destination = await openSpec(to, { client, create: true, multipleTags: true });
  const reference = sourceReference(source, options.reference);
  const named = [...destination.tags, ...(options.tags ?? [])];
  const tags = named.length ? [...new Set(named)] : isDigest(reference) ? [] : [reference];
  const root = await source.store.resolve(reference);
  const result = await copyGraph(source.store, destination.store, root, {
    tags,
    referrers: options.referrers,
    concurrency: options.concurrency,
    signal: options.signal,
  });
  return { root, tags, copied: result.copied, skipped: result.skipped, referrers: result.referrers };
}
