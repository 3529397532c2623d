/**
 * The image manifest of an artifact (image-spec 1.1, as `oras push` writes it), built and pushed in one place
 * for ORAS-style artifacts (lib/artifact/push.ts) and KCL packages (lib/kpm/oci_package.ts): layers already in
 * the store, the empty config `{}` unless one is given, `artifactType`, an optional `subject`, annotations
 * stamped with `org.opencontainers.image.created`, pushed to any Store under each tag.
 *
 * @module
 */

import { type Descriptor, EMPTY_CONFIG, encodeManifest, type ImageManifest } from "./manifest.ts";
import { ANNOTATION_CREATED, OCI_MANIFEST } from "./media_types.ts";
import type { Store } from "./store.ts";

/** Options of pushArtifactManifest. */
export interface ArtifactManifestOptions {
  /** The manifest's `artifactType`; none when undefined. */
  artifactType?: string;
  /** The config, already in the store; when absent, the empty config `{}` is pushed and used. */
  config?: Descriptor;
  /** Annotations of the config descriptor. */
  configAnnotations?: Record<string, string>;
  /** The manifest this artifact refers to, written as `subject`. */
  subject?: Descriptor;
  /** Manifest annotations, in this order; `org.opencontainers.image.created` is added unless given. */
  annotations?: Record<string, string>;
  /** The time written as `org.opencontainers.image.created` (default now). */
  created?: Date;
  /** The tags to push it under, in order; by digest only when there is none. */
  tags?: string[];
}

/** A manifest as pushed. */
export interface PushedManifest {
  /** Its descriptor in the store. */
  descriptor: Descriptor;
  manifest: ImageManifest;
  /** Its bytes, as pushed. */
  bytes: Uint8Array;
}

/**
 * Builds the image manifest of `layers` (see the module) and pushes it, with the empty config when no config
 * is given, under every tag of `options.tags`.
 *
 * @throws what the store throws when it refuses a blob or the manifest
 * @example await pushArtifactManifest(store, [layer], { artifactType: "application/vnd.x", tags: ["v1"] })
 */
export async function pushArtifactManifest(
  store: Store,
  layers: Descriptor[],
  options: ArtifactManifestOptions = {},
): Promise<PushedManifest> {
  if (!options.config) await store.pushBlob(EMPTY_CONFIG, new TextEncoder().encode("{}"));
  const manifest = artifactManifest(layers, options);
  const bytes = encodeManifest(manifest);
  const [first, ...more] = options.tags ?? [];
  const descriptor = await store.pushManifest(bytes, OCI_MANIFEST, { tag: first });
  for (const tag of more) await store.pushManifest(bytes, OCI_MANIFEST, { tag });
  return { descriptor, manifest, bytes };
}

/** The image manifest of `layers`, its fields in the order oras writes them. */
function artifactManifest(layers: Descriptor[], options: ArtifactManifestOptions): ImageManifest {
  const config: Descriptor = { ...(options.config ?? EMPTY_CONFIG) };
  if (options.configAnnotations && Object.keys(options.configAnnotations).length) {
    config.annotations = { ...options.configAnnotations };
  }
  const { subject } = options;
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: options.artifactType,
    config,
    layers,
    ...(subject && { subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size } }),
    annotations: {
      ...options.annotations,
      [ANNOTATION_CREATED]: options.annotations?.[ANNOTATION_CREATED] ??
        (options.created ?? new Date()).toISOString().replace(/\.\d{3}Z$/, "Z"),
    },
  };
  if (!manifest.artifactType) delete manifest.artifactType;
  return manifest;
}
