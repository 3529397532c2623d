/**
 * ORAS-style pull: the titled layers of an artifact, saved as files under an output folder, in parallel,
 * each verified and renamed into place.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { downloadBlob } from "../oci/blobs.ts";
import type { RegistryClient } from "../oci/client.ts";
import { type Descriptor, isIndex } from "../oci/manifest.ts";
import { ANNOTATION_TITLE } from "../oci/media_types.ts";
import { fetchManifest } from "../oci/manifests.ts";
import { formatReference, type Reference } from "../oci/reference.ts";
import { mapLimit } from "./concurrency.ts";
import { ArtifactError, safeRelativePath } from "./files.ts";

/** Options of pullArtifact. */
export interface PullArtifactOptions {
  /** Folder the files are written to. */
  outDir: string;
  /** Only layers of these media types (all when empty). */
  mediaTypes?: string[];
  /** Fail instead of overwriting files that exist. */
  keepOldFiles?: boolean;
  /** Allow titles that climb out of the output folder. */
  allowPathTraversal?: boolean;
  concurrency?: number;
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
}

/**
 * Pulls an artifact's titled layers into `options.outDir`.
 *
 * @throws {ArtifactError} for unsafe titles, an index with several manifests, or existing files with keepOldFiles
 * @throws {RegistryError} / {DigestError} when the registry refuses or content does not match
 */
export async function pullArtifact(
  client: RegistryClient,
  ref: Reference,
  options: PullArtifactOptions,
): Promise<PullResult> {
  let fetched = await fetchManifest(client, ref);
  if (isIndex(fetched.manifest)) {
    const children = fetched.manifest.manifests;
    if (children.length !== 1) {
      throw new ArtifactError(
        `Cannot pull "${
          formatReference(ref)
        }": it is an index of ${children.length} manifests; pull one by digest`,
      );
    }
    fetched = await fetchManifest(client, { ...ref, tag: undefined, digest: children[0]!.digest });
  }
  if (isIndex(fetched.manifest)) {
    throw new ArtifactError(`Cannot pull "${formatReference(ref)}": nested index`);
  }
  const wanted = options.mediaTypes?.length ? new Set(options.mediaTypes) : undefined;
  const layers = fetched.manifest.layers.filter((layer) => !wanted || wanted.has(layer.mediaType));
  const skipped = layers.filter((layer) => !layer.annotations?.[ANNOTATION_TITLE]);
  const titled = layers.filter((layer) => layer.annotations?.[ANNOTATION_TITLE]);
  const targets = titled.map((layer) => {
    const title = layer.annotations![ANNOTATION_TITLE]!;
    const relative = options.allowPathTraversal ? title : safeRelativePath(title, "layer title");
    return { layer, title, path: join(options.outDir, relative) };
  });
  const seen = new Set<string>();
  for (const target of targets) {
    if (seen.has(target.path)) {
      throw new ArtifactError(`Cannot pull: two layers are titled "${target.title}"`);
    }
    seen.add(target.path);
    if (options.keepOldFiles && await exists(target.path)) {
      throw new ArtifactError(`Cannot pull "${target.title}": "${target.path}" exists (--keep-old-files)`);
    }
  }
  await mapLimit(targets, options.concurrency ?? 3, async ({ layer, title, path }) => {
    await Deno.mkdir(dirname(path), { recursive: true });
    await downloadBlob(client, ref, layer, path, {
      onProgress: (bytes) => options.onProgress?.(title, bytes, layer.size),
    });
  });
  return {
    manifest: fetched.descriptor,
    files: targets.map(({ layer, path }) => ({ path, descriptor: layer })),
    skipped,
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}
