/**
 * `pull` and `pullToMemory`: an artifact's titled layers, of the allowed media types, saved as files under a
 * folder (folders pushed as such are unpacked) or returned as bytes.
 *
 * @module
 */

import { resolve } from "node:path";
import type { Descriptor } from "../oci/manifest.ts";
import { ANNOTATION_TITLE } from "../oci/media_types.ts";
import { pullFromStore, selectLayers } from "../artifact/pull.ts";
import { ArtifactError } from "../artifact/files.ts";
import type { Client } from "./client.ts";
import { DEFAULT_MAX_BYTES, targetOf } from "./target.ts";
import { type OpenedSpec, openSpec, sourceReference, type TargetSpec } from "./target_spec.ts";

/** Options shared by pull and pullToMemory. */
export interface PullSourceOptions {
  /** The client for registry references (default: an anonymous Client). */
  client?: Client;
  /** The tag or digest to pull when `from` is a Target or names neither (default `latest`). */
  reference?: string;
  /** Only layers of these media types (all when absent or empty). */
  allowedMediaTypes?: string[];
}

/** Options of pull. */
export interface PullOptions extends PullSourceOptions {
  /** Fail instead of overwriting files that exist. */
  keepOldFiles?: boolean;
  /** Parallel downloads (default 3). */
  concurrency?: number;
  /** Cancels the operation: transfers not yet started never start, and it rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** What pull wrote. */
export interface PullResult {
  /** The artifact's manifest. */
  manifest: Descriptor;
  /** Each file or folder written (absolute path) and its layer. */
  files: { path: string; descriptor: Descriptor }[];
  /** Allowed layers skipped because they have no title. */
  skipped: Descriptor[];
}

/** One layer read into memory. */
export interface PulledContent {
  /**
   * The layer's title (`org.opencontainers.image.title`) as the artifact gives it: untrusted, so check it
   * before using it as a path (`pull` refuses absolute titles and titles with `..`).
   */
  name: string;
  /** The layer's media type. */
  mediaType: string;
  /** The layer's bytes, verified. */
  content: Uint8Array;
  /** The layer's descriptor. */
  descriptor: Descriptor;
}

/** What pullToMemory read. */
export interface MemoryPullResult {
  /** The artifact's manifest. */
  manifest: Descriptor;
  /** The titled layers of the allowed media types. */
  files: PulledContent[];
  /** Allowed layers skipped because they have no title. */
  skipped: Descriptor[];
}

async function openSource(from: TargetSpec, options: PullSourceOptions): Promise<[OpenedSpec, string]> {
  const place = await openSpec(from, { client: options.client });
  return [place, sourceReference(place, options.reference)];
}

/**
 * Pulls an artifact's titled layers into `outDir`, each verified and renamed into place; titles that are
 * absolute or climb out with `..` are refused.
 *
 * @param from a reference (`host[:port]/repo[:tag|@digest]`, `oci-layout:DIR[:tag]`) or a Target
 * @param outDir the folder files are written to (created when missing)
 * @throws {ArtifactError} for unsafe titles, an index of several manifests, or existing files with keepOldFiles
 * @throws {RegistryError} / {LayoutError} / {DigestError} when the place refuses or content does not match
 * @example Pull only the layers of one media type
 * ```ts
 * import { pull, push } from "@kcl/kpm";
 *
 * const layout = `oci-layout:${await Deno.makeTempDir()}:v1`;
 * await push(layout, [
 *   { name: "hello.txt", content: "Hello World!\n", mediaType: "my.custom.media.type" },
 *   { name: "other.txt", content: "not wanted", mediaType: "text/plain" },
 * ]);
 * const out = await Deno.makeTempDir();
 * const result = await pull(layout, out, { allowedMediaTypes: ["my.custom.media.type"] });
 * console.log(result.files.length, await Deno.readTextFile(`${out}/hello.txt`)); // 1 Hello World!
 * ```
 */
export async function pull(from: TargetSpec, outDir: string, options: PullOptions = {}): Promise<PullResult> {
  const [place, reference] = await openSource(from, options);
  return await pullFromStore(place.store, reference, {
    outDir: resolve(outDir),
    mediaTypes: options.allowedMediaTypes,
    keepOldFiles: options.keepOldFiles,
    concurrency: options.concurrency,
    signal: options.signal,
  });
}

/**
 * Reads an artifact's titled layers into memory, verified.
 *
 * @param options `maxBytes` caps the total size read (default 64 MiB), checked before any download
 * @throws {ArtifactError} for an index of several manifests or layers over `maxBytes`
 * @throws {RegistryError} / {LayoutError} / {DigestError} when the place refuses or content does not match
 * @example
 * ```ts
 * import { pullToMemory, push } from "@kcl/kpm";
 *
 * const layout = `oci-layout:${await Deno.makeTempDir()}:v1`;
 * await push(layout, [{ name: "hello.txt", content: "Hello World!\n" }]);
 * const { files } = await pullToMemory(layout);
 * console.log(files[0]?.name, new TextDecoder().decode(files[0]?.content)); // hello.txt Hello World!
 * ```
 */
export async function pullToMemory(
  from: TargetSpec,
  options: PullSourceOptions & { maxBytes?: number } = {},
): Promise<MemoryPullResult> {
  const [place, reference] = await openSource(from, options);
  const { manifest, titled, skipped } = await selectLayers(place.store, reference, {
    mediaTypes: options.allowedMediaTypes,
  });
  const total = titled.reduce((sum, layer) => sum + layer.size, 0);
  const max = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (total > max) {
    throw new ArtifactError(
      `Cannot pull "${reference}" from "${place.store.name}" into memory: its layers hold ${total} bytes, over the limit of ${max}`,
    );
  }
  const target = targetOf(place.store);
  const files: PulledContent[] = [];
  for (const layer of titled) {
    const content = await target.fetchBytes(layer, { maxBytes: max });
    files.push({
      name: layer.annotations![ANNOTATION_TITLE]!,
      mediaType: layer.mediaType,
      content,
      descriptor: layer,
    });
  }
  return { manifest, files, skipped };
}
