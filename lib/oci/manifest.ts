/**
 * OCI / Docker manifest, index and descriptor types, with parsing that validates what kpm relies on.
 *
 * @module
 */

import { type Digest, digestOf, isDigest } from "./digest.ts";
import { INDEX_TYPES, MANIFEST_TYPES, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST } from "./media_types.ts";

/** Manifests larger than this are refused (the distribution spec's recommended limit). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** A content descriptor. */
export interface Descriptor {
  /** The media type. */
  mediaType: string;
  /** The content's digest (`sha256:<hex>`). */
  digest: Digest;
  /** The content's size in bytes. */
  size: number;
  /** Annotations: free-form string pairs. */
  annotations?: Record<string, string>;
  /** The artifact's type (image-spec 1.1). */
  artifactType?: string;
  /** Other places the content can be downloaded from. */
  urls?: string[];
  /** The content itself, base64-encoded (small blobs only). */
  data?: string;
  /** The platform an index entry is for. */
  platform?: Platform;
}

/** The empty JSON config `{}` of image-spec 1.1. */
export const EMPTY_CONFIG: Descriptor = {
  mediaType: OCI_EMPTY,
  digest: digestOf("{}"),
  size: 2,
  data: "e30=",
};

/** Platform of an index entry. */
export interface Platform {
  /** CPU architecture (`amd64`, `arm64`…). */
  architecture: string;
  /** Operating system (`linux`, `windows`…). */
  os: string;
  /** CPU variant (`v8`…). */
  variant?: string;
  /** Operating system version. */
  "os.version"?: string;
  /** Required operating system features. */
  "os.features"?: string[];
}

/** An image manifest (OCI or Docker schema 2). */
export interface ImageManifest {
  /** Always 2. */
  schemaVersion: 2;
  /** The media type. */
  mediaType?: string;
  /** The artifact's type (image-spec 1.1). */
  artifactType?: string;
  /** The config blob. */
  config: Descriptor;
  /** The layers, in order. */
  layers: Descriptor[];
  /** The manifest this one refers to (a signature's image…). */
  subject?: Descriptor;
  /** Annotations: free-form string pairs. */
  annotations?: Record<string, string>;
}

/** An image index (OCI) or manifest list (Docker). */
export interface ImageIndex {
  /** Always 2. */
  schemaVersion: 2;
  /** The media type. */
  mediaType?: string;
  /** The artifact's type (image-spec 1.1). */
  artifactType?: string;
  /** The manifests it lists. */
  manifests: Descriptor[];
  /** The manifest this one refers to (a signature's image…). */
  subject?: Descriptor;
  /** Annotations: free-form string pairs. */
  annotations?: Record<string, string>;
}

/** Either kind of manifest. */
export type Manifest = ImageManifest | ImageIndex;

/** Thrown when manifest JSON is malformed or inconsistent. */
export class ManifestError extends Error {
  /** The error's class name. */
  override name = "ManifestError";
}

/** Returns true when the manifest is an index / manifest list. */
export function isIndex(manifest: Manifest): manifest is ImageIndex {
  return "manifests" in manifest;
}

/** Returns true when `mediaType` is one of the manifest types kpm understands. */
export function isManifestMediaType(mediaType: string): boolean {
  return (MANIFEST_TYPES as readonly string[]).includes(mediaType);
}

/**
 * Checks that a value from a registry is a descriptor (mediaType, a valid digest, a size).
 *
 * @param where what the value is, for the error, e.g. `layers[0]`
 * @throws {ManifestError} naming `where` and what is wrong
 */
export function checkDescriptor(value: unknown, where: string): Descriptor {
  const d = value as Partial<Descriptor> | null;
  if (!d || typeof d !== "object") throw new ManifestError(`${where} is not an object`);
  if (typeof d.mediaType !== "string" || d.mediaType === "") {
    throw new ManifestError(`${where} has no mediaType`);
  }
  if (typeof d.digest !== "string" || !isDigest(d.digest)) {
    throw new ManifestError(`${where} has an invalid digest "${String(d.digest)}"`);
  }
  if (typeof d.size !== "number" || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw new ManifestError(`${where} has an invalid size "${String(d.size)}"`);
  }
  return d as Descriptor;
}

/**
 * Parses and validates manifest bytes.
 *
 * @param bytes the raw manifest
 * @param contentType the Content-Type the registry answered, checked against the manifest's own mediaType
 * @returns the manifest, its media type and the raw bytes' size
 * @throws {ManifestError} on invalid JSON, missing fields, bad descriptors, or a type mismatch
 */
export function parseManifest(
  bytes: Uint8Array,
  contentType?: string,
): { manifest: Manifest; mediaType: string } {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) {
    throw new ManifestError(
      `Manifest is ${bytes.byteLength} bytes, over the ${MAX_MANIFEST_BYTES} byte limit`,
    );
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new ManifestError(`Manifest is not valid JSON: ${(error as Error).message}`);
  }
  if (!json || typeof json !== "object" || Array.isArray(json)) {
    throw new ManifestError("Manifest is not a JSON object");
  }
  if (json.schemaVersion !== 2) {
    throw new ManifestError(`Unsupported manifest schemaVersion "${String(json.schemaVersion)}"`);
  }
  const declared = typeof json.mediaType === "string" ? json.mediaType : undefined;
  const header = contentType?.split(";")[0]?.trim();
  const headerKnown = header && isManifestMediaType(header) ? header : undefined;
  if (declared && headerKnown && declared !== headerKnown) {
    throw new ManifestError(`Manifest declares mediaType "${declared}" but was served as "${headerKnown}"`);
  }
  const isList = Array.isArray(json.manifests);
  const mediaType = declared ?? headerKnown ?? (isList ? OCI_INDEX : OCI_MANIFEST);
  if (isList !== INDEX_TYPES.includes(mediaType)) {
    throw new ManifestError(`Manifest of type "${mediaType}" has ${isList ? "" : "no "}"manifests" list`);
  }
  if (isList) {
    (json.manifests as unknown[]).forEach((d, i) => checkDescriptor(d, `manifests[${i}]`));
  } else {
    checkDescriptor(json.config, "config");
    if (!Array.isArray(json.layers)) throw new ManifestError(`Manifest has no "layers" list`);
    json.layers.forEach((d, i) => checkDescriptor(d, `layers[${i}]`));
  }
  if (json.subject !== undefined) checkDescriptor(json.subject, "subject");
  return { manifest: json as unknown as Manifest, mediaType };
}

/** Serialises a manifest the way kpm pushes it (compact JSON) and returns the bytes. */
export function encodeManifest(manifest: Manifest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(manifest));
}

/** Every blob and child manifest a manifest references (config first, then layers, or the index entries). */
export function referencedDescriptors(manifest: Manifest): Descriptor[] {
  return isIndex(manifest) ? manifest.manifests : [manifest.config, ...manifest.layers];
}
