/**
 * ORAS-style push of files as an OCI artifact (image-spec 1.1 layout, as `oras push` writes it).
 *
 * @module
 */

import { resolve } from "node:path";
import { pushBlob } from "../oci/blob_upload.ts";
import type { ProgressCallback } from "../oci/blobs.ts";
import type { RegistryClient } from "../oci/client.ts";
import { digestOf, digestStream } from "../oci/digest.ts";
import { type Descriptor, encodeManifest, type ImageManifest } from "../oci/manifest.ts";
import {
  ANNOTATION_CREATED,
  ANNOTATION_TITLE,
  OCI_EMPTY,
  OCI_LAYER_TAR,
  OCI_MANIFEST,
  UNKNOWN_ARTIFACT,
} from "../oci/media_types.ts";
import { pushManifest } from "../oci/manifests.ts";
import type { Reference } from "../oci/reference.ts";
import { ArtifactError, type FileSpec, safeRelativePath } from "./files.ts";
import { mapLimit } from "./concurrency.ts";

/** The empty JSON config `{}` of image-spec 1.1. */
export const EMPTY_CONFIG: Descriptor = {
  mediaType: OCI_EMPTY,
  digest: digestOf("{}"),
  size: 2,
  data: "e30=",
};

/** Options of pushArtifact. */
export interface PushArtifactOptions {
  /** Folder relative file paths are read from (and titles are relative to). */
  cwd: string;
  artifactType?: string;
  /** Manifest annotations. */
  annotations?: Record<string, string>;
  /** Per-file annotations, keyed by title. */
  fileAnnotations?: Record<string, Record<string, string>>;
  /** A config file; the empty config when absent. */
  config?: FileSpec;
  /** Extra tags to apply after the first. */
  extraTags?: string[];
  concurrency?: number;
  /** Called with a file's title and bytes sent so far. */
  onProgress?: (title: string, bytes: number, total: number) => void;
  /** The time written as org.opencontainers.image.created (default now). */
  created?: Date;
}

/** What a push produced. */
export interface PushResult {
  manifest: Descriptor;
  layers: Descriptor[];
  reference: Reference;
}

/**
 * Pushes files as one artifact: a layer per file (title annotation = the path as given), the empty config
 * (or the given one), and an image manifest with `artifactType`, tagged as `ref.tag` and `extraTags`.
 *
 * @throws {ArtifactError} for missing or unsafe files
 * @throws {RegistryError} when the registry refuses
 */
export async function pushArtifact(
  client: RegistryClient,
  ref: Reference,
  files: FileSpec[],
  options: PushArtifactOptions,
): Promise<PushResult> {
  const layers = await mapLimit(files, options.concurrency ?? 3, async (file) => {
    const title = safeRelativePath(file.path, "file").replaceAll("\\", "/");
    const path = resolve(options.cwd, file.path);
    const info = await Deno.stat(path).catch(() => {
      throw new ArtifactError(`Cannot push "${file.path}": no such file`);
    });
    if (!info.isFile) throw new ArtifactError(`Cannot push "${file.path}": not a regular file`);
    const { digest, size } = await digestStream((await Deno.open(path)).readable);
    const descriptor: Descriptor = {
      mediaType: file.mediaType ?? OCI_LAYER_TAR,
      digest,
      size,
      annotations: { ...options.fileAnnotations?.[title], [ANNOTATION_TITLE]: title },
    };
    const progress: ProgressCallback = (bytes) => options.onProgress?.(title, bytes, size);
    await pushBlob(client, ref, descriptor, async () => (await Deno.open(path)).readable, {
      onProgress: progress,
    });
    return descriptor;
  });
  const config = options.config ? await pushConfig(client, ref, options) : EMPTY_CONFIG;
  if (!options.config) await pushBlob(client, ref, config, new TextEncoder().encode("{}"));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: options.artifactType ?? (options.config ? undefined : UNKNOWN_ARTIFACT),
    config,
    layers,
    annotations: {
      ...options.annotations,
      [ANNOTATION_CREATED]: options.annotations?.[ANNOTATION_CREATED] ??
        (options.created ?? new Date()).toISOString().replace(/\.\d{3}Z$/, "Z"),
    },
  };
  if (!manifest.artifactType) delete manifest.artifactType;
  const bytes = encodeManifest(manifest);
  const descriptor = await pushManifest(client, ref, { bytes, mediaType: OCI_MANIFEST });
  for (const tag of options.extraTags ?? []) {
    await pushManifest(client, { ...ref, tag, digest: undefined }, { bytes, mediaType: OCI_MANIFEST });
  }
  return { manifest: descriptor, layers, reference: ref };
}

async function pushConfig(
  client: RegistryClient,
  ref: Reference,
  options: PushArtifactOptions,
): Promise<Descriptor> {
  const spec = options.config!;
  const path = resolve(options.cwd, spec.path);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch {
    throw new ArtifactError(`Cannot read config file "${spec.path}"`);
  }
  const descriptor: Descriptor = {
    mediaType: spec.mediaType ?? "application/vnd.unknown.config.v1+json",
    digest: digestOf(bytes),
    size: bytes.byteLength,
  };
  await pushBlob(client, ref, descriptor, bytes);
  return descriptor;
}
