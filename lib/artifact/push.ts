/**
 * ORAS-style push of files and folders as an OCI artifact (image-spec 1.1, as `oras push` 1.2 writes it), to a
 * registry or an OCI layout folder.
 *
 * @module
 */

import { resolve } from "node:path";
import type { RegistryClient } from "../oci/client.ts";
import { digestOf } from "../oci/digest.ts";
import { pushArtifactManifest } from "../oci/artifact_manifest.ts";
import type { Descriptor } from "../oci/manifest.ts";
import {
  ANNOTATION_CONTENT_DIGEST,
  ANNOTATION_TITLE,
  ANNOTATION_UNPACK,
  OCI_LAYER_TAR,
  OCI_LAYER_TAR_GZIP,
  UNKNOWN_ARTIFACT,
  UNKNOWN_CONFIG,
} from "../oci/media_types.ts";
import type { Reference } from "../oci/reference.ts";
import { Repository } from "../oci/repository.ts";
import type { Store } from "../oci/store.ts";
import type { UploadOutcome } from "../oci/blob_upload.ts";
import { ArtifactError, type FileSpec, fileTitle } from "./files.ts";
import { type ConcurrencyOptions, operationLimiter } from "../oci/concurrency.ts";
import { packFolder } from "./folder.ts";

/** Options of pushArtifact. */
export interface PushArtifactOptions extends ConcurrencyOptions {
  /** Folder relative file paths are read from (and titles are relative to). */
  cwd: string;
  artifactType?: string;
  /** Manifest annotations. */
  annotations?: Record<string, string>;
  /** Per-file annotations, keyed by title. */
  fileAnnotations?: Record<string, Record<string, string>>;
  /** Annotations of the config descriptor. */
  configAnnotations?: Record<string, string>;
  /** A config file; the empty config when absent. */
  config?: FileSpec;
  /** Extra tags to apply after the first. */
  extraTags?: string[];
  /** Called with a file's title and bytes sent so far. */
  onProgress?: (title: string, bytes: number, total: number) => void;
  /** The time written as org.opencontainers.image.created (default now). */
  created?: Date;
  /** The manifest this artifact refers to (`attach`): written as the manifest's `subject`. */
  subject?: Descriptor;
  /** Titles as given, absolute or climbing out with `..` (oras' --disable-path-validation). */
  disablePathValidation?: boolean;
  /** Called with a file's title and whether the store had it already, mounted it or received it. */
  onOutcome?: (title: string, outcome: UploadOutcome) => void;
}

/** What a push produced. */
export interface PushResult {
  manifest: Descriptor;
  /** The manifest as pushed. */
  manifestBytes: Uint8Array;
  layers: Descriptor[];
  /** The tags applied. */
  tags: string[];
  /** The registry reference pushed to (pushArtifact only). */
  reference?: Reference;
}

/**
 * Pushes files as one artifact to a registry: see pushToStore.
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
  const tags = ref.tag !== undefined ? [ref.tag, ...(options.extraTags ?? [])] : options.extraTags ?? [];
  const result = await pushToStore(new Repository(client, ref), files, { ...options, tags });
  return { ...result, reference: ref };
}

/**
 * Pushes files as one artifact: a layer per file (title annotation = the path as given; folders as tar+gzip
 * with oras's unpack and content-digest annotations), the empty config (or the given one), and an image
 * manifest with `artifactType`, under every tag of `options.tags` (by digest only when there is none).
 *
 * @throws {ArtifactError} for missing or unsafe files, or an annotation file naming files not pushed
 * @throws {RegistryError} / {LayoutError} when the store refuses
 */
export async function pushToStore(
  store: Store,
  files: FileSpec[],
  options: PushArtifactOptions & { tags?: string[] },
): Promise<PushResult> {
  const titles = new Set<string>();
  for (const file of files) {
    const title = titleOf(file.path, options);
    if (titles.has(title)) throw new ArtifactError(`Cannot push "${file.path}": it is named twice`);
    titles.add(title);
  }
  const layers = await operationLimiter(options).map(files, (file) => pushFile(store, file, options));
  const { descriptor, manifest, bytes } = await pushArtifactManifest(store, layers, {
    artifactType: options.artifactType ?? (options.config ? undefined : UNKNOWN_ARTIFACT),
    config: options.config && await pushConfig(store, options),
    configAnnotations: options.configAnnotations,
    subject: options.subject,
    annotations: options.annotations,
    created: options.created,
    tags: options.tags,
  });
  // the descriptor as oras prints it: with the manifest's artifactType and annotations
  const described: Descriptor = {
    ...descriptor,
    ...(manifest.artifactType && { artifactType: manifest.artifactType }),
    annotations: manifest.annotations,
  };
  return { manifest: described, manifestBytes: bytes, layers, tags: options.tags ?? [] };
}

/** A file's title: checked by fileTitle, or as given with disablePathValidation. */
export function titleOf(path: string, options: Pick<PushArtifactOptions, "disablePathValidation">): string {
  return options.disablePathValidation ? path.replaceAll("\\", "/").replace(/\/+$/, "") : fileTitle(path);
}

/** Pushes one file, folder or in-memory content and returns its layer descriptor. */
async function pushFile(store: Store, file: FileSpec, options: PushArtifactOptions): Promise<Descriptor> {
  const title = titleOf(file.path, options);
  const annotations = { ...options.fileAnnotations?.[title], [ANNOTATION_TITLE]: title };
  const onProgress = (total: number) => (bytes: number) => options.onProgress?.(title, bytes, total);
  const onOutcome = (outcome: UploadOutcome) => options.onOutcome?.(title, outcome);
  if (file.content) {
    const base = { mediaType: file.mediaType ?? OCI_LAYER_TAR, annotations };
    return await pushBytes(store, file.content, base, {
      onProgress: onProgress(file.content.byteLength),
      onOutcome,
    });
  }
  const path = resolve(options.cwd, file.path);
  const info = await Deno.stat(path).catch(() => {
    throw new ArtifactError(`Cannot push "${file.path}": no such file or folder`);
  });
  if (info.isDirectory) return await pushFolder(store, path, file, { annotations, onProgress, onOutcome });
  if (!info.isFile) throw new ArtifactError(`Cannot push "${file.path}": not a regular file or folder`);
  const { descriptor, outcome } = await store.pushUnhashedBlob(
    { mediaType: file.mediaType ?? OCI_LAYER_TAR, annotations },
    { open: async () => (await Deno.open(path)).readable, size: info.size, what: `file "${file.path}"` },
    { onProgress: onProgress(info.size) },
  );
  onOutcome(outcome);
  return descriptor;
}

/** Pushes a folder as tar+gzip with oras's unpack and content-digest annotations. */
async function pushFolder(
  store: Store,
  path: string,
  file: FileSpec,
  options: {
    annotations: Record<string, string>;
    onProgress: (total: number) => (bytes: number) => void;
    onOutcome: (outcome: UploadOutcome) => void;
  },
): Promise<Descriptor> {
  const packed = await packFolder(path, options.annotations[ANNOTATION_TITLE]!);
  try {
    const descriptor: Descriptor = {
      mediaType: file.mediaType ?? OCI_LAYER_TAR_GZIP,
      digest: packed.digest,
      size: packed.size,
      annotations: {
        ...options.annotations,
        [ANNOTATION_CONTENT_DIGEST]: packed.tarDigest,
        [ANNOTATION_UNPACK]: "true",
      },
    };
    options.onOutcome(
      await store.pushBlob(descriptor, async () => (await Deno.open(packed.path)).readable, {
        onProgress: options.onProgress(packed.size),
      }),
    );
    return descriptor;
  } finally {
    await Deno.remove(packed.path).catch(() => {});
  }
}

/** Pushes in-memory bytes as a blob and returns its descriptor. */
async function pushBytes(
  store: Store,
  bytes: Uint8Array,
  base: Pick<Descriptor, "mediaType" | "annotations">,
  report: { onProgress?: (bytes: number) => void; onOutcome?: (outcome: UploadOutcome) => void } = {},
): Promise<Descriptor> {
  const descriptor: Descriptor = { ...base, digest: digestOf(bytes), size: bytes.byteLength };
  const outcome = await store.pushBlob(descriptor, bytes, { onProgress: report.onProgress });
  report.onOutcome?.(outcome);
  return descriptor;
}

async function pushConfig(store: Store, options: PushArtifactOptions): Promise<Descriptor> {
  const spec = options.config!;
  let bytes: Uint8Array;
  try {
    bytes = spec.content ?? await Deno.readFile(resolve(options.cwd, spec.path));
  } catch {
    throw new ArtifactError(`Cannot read config file "${spec.path}"`);
  }
  return await pushBytes(store, bytes, { mediaType: spec.mediaType ?? UNKNOWN_CONFIG });
}
