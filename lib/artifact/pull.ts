/**
 * ORAS-style pull from a registry or an OCI layout: the titled layers of an artifact, saved as files (or
 * unpacked as folders) under an output folder, in parallel, each verified and renamed into place.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { isDigest } from "../oci/digest.ts";
import { type Descriptor, isIndex } from "../oci/manifest.ts";
import { ANNOTATION_CONTENT_DIGEST, ANNOTATION_TITLE, ANNOTATION_UNPACK } from "../oci/media_types.ts";
import type { Store } from "../oci/store.ts";
import { exists } from "../oci/if_found.ts";
import { type ConcurrencyOptions, operationLimiter } from "../oci/concurrency.ts";
import { ArtifactError, safeRelativePath } from "./files.ts";
import { unpackFolder } from "./folder.ts";
import { withHelmTitles } from "./helm_titles.ts";
import { type PlatformSpec, selectManifest } from "./platform.ts";

/** Options of pullFromStore. */
export interface PullArtifactOptions extends ConcurrencyOptions {
  /** Folder the files are written to. */
  outDir: string;
  /** Only layers of these media types (all when empty). */
  mediaTypes?: string[];
  /** Fail instead of overwriting files that exist. */
  keepOldFiles?: boolean;
  /** Allow titles that climb out of the output folder. */
  allowPathTraversal?: boolean;
  /** The manifest of an image index to pull (`--platform`). */
  platform?: PlatformSpec;
  onProgress?: (title: string, bytes: number, total: number) => void;
}

/** A pulled file. */
export interface PulledFile {
  path: string;
  descriptor: Descriptor;
}

/** What a pull produced. */
export interface PullResult {
  manifest: Descriptor;
  files: PulledFile[];
  /** Layers skipped because they have no title. */
  skipped: Descriptor[];
  /** The manifest it refers to (`subject`), if any. */
  subject?: Descriptor;
}

/**
 * Pulls an artifact's titled layers into `options.outDir`; layers without a title are skipped (as oras does),
 * layers annotated `io.deis.oras.content.unpack` are unpacked as folders after checking the tar's digest.
 *
 * @param reference a tag or digest in the store
 * @throws {ArtifactError} for unsafe titles, hostile archives, an index with several manifests, or existing
 *   files with keepOldFiles
 * @throws {RegistryError} / {LayoutError} / {DigestError} when the store refuses or content does not match
 */
export async function pullFromStore(
  store: Store,
  reference: string,
  options: PullArtifactOptions,
): Promise<PullResult> {
  const { manifest, titled, skipped, subject } = await selectLayers(store, reference, options);
  const targets = titled.map((layer) => {
    const title = layer.annotations![ANNOTATION_TITLE]!;
    const unpack = layer.annotations?.[ANNOTATION_UNPACK] === "true";
    const relative = options.allowPathTraversal && !unpack ? title : safeRelativePath(title, "layer title");
    return { layer, title, unpack, relative, path: join(options.outDir, relative) };
  });
  const seen = new Set<string>();
  for (const target of targets) {
    if (seen.has(target.path)) {
      throw new ArtifactError(`Cannot pull: two layers are titled "${target.title}"`);
    }
    seen.add(target.path);
    if (options.keepOldFiles && !target.unpack && await exists(target.path)) {
      throw new ArtifactError(`Cannot pull "${target.title}": "${target.path}" exists (--keep-old-files)`);
    }
  }
  const folders = new Set(targets.filter((target) => !target.unpack).map((target) => dirname(target.path)));
  for (const folder of folders) await Deno.mkdir(folder, { recursive: true });
  await operationLimiter(options).map(targets, async ({ layer, title, unpack, relative, path }) => {
    const onProgress = (bytes: number) => options.onProgress?.(title, bytes, layer.size);
    if (unpack) {
      const digest = layer.annotations?.[ANNOTATION_CONTENT_DIGEST];
      const stream = (await store.fetchBlob(layer)).pipeThrough(counting(onProgress));
      await unpackFolder(stream, options.outDir, relative, {
        tarDigest: digest && isDigest(digest) ? digest : undefined,
        keepOldFiles: options.keepOldFiles,
      });
      return;
    }
    await store.downloadBlob(layer, path, { onProgress });
  });
  return {
    manifest,
    files: targets.map(({ layer, path }) => ({ path, descriptor: layer })),
    skipped,
    ...(subject && { subject }),
  };
}

/**
 * The layers an artifact pull takes: titled ones to write, untitled ones skipped (as oras does); a Helm
 * chart's untitled layers are titled as Helm names the files (see helm_titles.ts).
 */
export interface SelectedLayers {
  /** The artifact's manifest (the one manifest of a single-entry index). */
  manifest: Descriptor;
  /** Layers of an allowed media type with an `org.opencontainers.image.title`. */
  titled: Descriptor[];
  /** Layers of an allowed media type without a title. */
  skipped: Descriptor[];
  /** The manifest it refers to (`subject`), if any. */
  subject?: Descriptor;
}

/**
 * Reads an artifact's manifest (following an index to its one manifest, or to the one for `platform`) and
 * picks its layers of the allowed media types (all when `mediaTypes` is empty).
 *
 * @throws {ArtifactError} for an index without the manifest wanted, a nested index, or media types that
 *   match no layer
 */
export async function selectLayers(
  store: Store,
  reference: string,
  options: { mediaTypes?: readonly string[]; platform?: PlatformSpec } = {},
): Promise<SelectedLayers> {
  const mediaTypes = options.mediaTypes ?? [];
  const name = `${store.name}${isDigest(reference) ? "@" : ":"}${reference}`;
  let fetched = await store.fetchManifest(reference);
  if (isIndex(fetched.manifest)) {
    fetched = await store.fetchManifest(selectManifest(fetched.manifest, name, options.platform));
  }
  if (isIndex(fetched.manifest)) {
    throw new ArtifactError(`Cannot pull "${name}": nested index`);
  }
  const wanted = mediaTypes.length ? new Set(mediaTypes) : undefined;
  const layers = withHelmTitles(fetched.manifest).filter((layer) => !wanted || wanted.has(layer.mediaType));
  if (wanted && layers.length === 0) {
    const held = [...new Set(fetched.manifest.layers.map((layer) => layer.mediaType))];
    throw new ArtifactError(
      `Cannot pull "${name}": no layer has media type ${[...wanted].map((t) => `"${t}"`).join(" or ")}; ` +
        `it holds ${held.length ? held.map((t) => `"${t}"`).join(", ") : "no layers"}`,
    );
  }
  return {
    manifest: fetched.descriptor,
    titled: layers.filter((layer) => layer.annotations?.[ANNOTATION_TITLE]),
    skipped: layers.filter((layer) => !layer.annotations?.[ANNOTATION_TITLE]),
    ...(fetched.manifest.subject && { subject: fetched.manifest.subject }),
  };
}

function counting(onProgress: (bytes: number) => void): TransformStream<Uint8Array, Uint8Array> {
  let total = 0;
  return new TransformStream({
    transform(chunk, controller) {
      total += chunk.byteLength;
      onProgress(total);
      controller.enqueue(chunk);
    },
  });
}
