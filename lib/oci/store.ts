/**
 * The content store interface shared by a registry repository (lib/oci/repository.ts) and an OCI
 * image-layout folder (lib/oci/layout.ts), so that push, pull and copy work the same on both; and the one
 * not-found test for both.
 *
 * @module
 */

import type { BlobContent, UploadOutcome } from "./blob_upload.ts";
import type { ProgressCallback } from "./blobs.ts";
import { type Digest, DigestError, digestStream } from "./digest.ts";
import type { Descriptor, Manifest } from "./manifest.ts";

/** A manifest read from a store: parsed, its raw bytes, and its descriptor. */
export interface FetchedManifest {
  /** The parsed manifest or index. */
  manifest: Manifest;
  /** Its exact bytes (what its digest is computed over). */
  bytes: Uint8Array;
  /** Its media type, digest and size. */
  descriptor: Descriptor;
}

/**
 * Says whether an error of a Store means that the manifest, tag or blob asked for is not there: a registry's
 * 404 (RegistryError) or one missing from an OCI layout (LayoutError) both carry `notFound: true`. Test this,
 * never a message or a status.
 *
 * @example if (isNotFound(error)) return undefined;
 */
export function isNotFound(error: unknown): boolean {
  return error instanceof Error && (error as { notFound?: unknown }).notFound === true;
}

/** Options of Store.pushBlob. */
export interface StorePushBlobOptions {
  /** The store the blob is copied from: a registry store on the same host tries a cross-repository mount. */
  from?: Store;
  onProgress?: ProgressCallback;
}

/**
 * Where artifacts live: a registry repository or an OCI image-layout folder. Blob streams are verified
 * (size and digest) as they are read; writes are atomic.
 */
export interface Store {
  /** Names the store in messages: `127.0.0.1:5000/demo` or `oci-layout:/tmp/dir`. */
  readonly name: string;
  /**
   * Resolves a tag or digest to the manifest's descriptor.
   *
   * @throws an error that isNotFound when there is no such manifest
   */
  resolve(reference: string): Promise<Descriptor>;
  /** Reads a manifest by tag, digest or descriptor, checking its digest when known (isNotFound when missing). */
  fetchManifest(reference: string | Descriptor): Promise<FetchedManifest>;
  /** Opens a blob (or manifest) as a stream that errors when size or digest do not match (isNotFound when missing). */
  fetchBlob(descriptor: Descriptor): Promise<ReadableStream<Uint8Array>>;
  /** Saves a blob to `path`, verified, through a temporary file renamed into place. */
  downloadBlob(
    descriptor: Descriptor,
    path: string,
    options?: { onProgress?: ProgressCallback },
  ): Promise<void>;
  /** The size of a blob the store holds (as a descriptor of unknown media type), or undefined. */
  statBlob(digest: Digest): Promise<Descriptor | undefined>;
  /** Returns true when the store holds the blob or manifest. */
  exists(descriptor: Descriptor): Promise<boolean>;
  /**
   * Stores a blob unless present; the content is verified against the descriptor.
   *
   * @returns whether it was there already, mounted from another repository or uploaded
   */
  pushBlob(
    descriptor: Descriptor,
    content: BlobContent,
    options?: StorePushBlobOptions,
  ): Promise<UploadOutcome>;
  /**
   * Stores content whose digest is not known yet (a file to push): hashes it and stores it unless present. A
   * registry starts uploading a big one while it is hashed (see Repository.pushUnhashedBlob).
   *
   * @returns the content's descriptor (`base` with its digest and size) and what the push did
   * @throws {DigestError} when the content's size is not `content.size` (it changed while read)
   */
  pushUnhashedBlob(
    base: Pick<Descriptor, "mediaType" | "annotations">,
    content: UnhashedContent,
    options?: StorePushBlobOptions,
  ): Promise<PushedBlob>;
  /** Stores a manifest, under `tag` when given (else by digest), and returns its descriptor. */
  pushManifest(bytes: Uint8Array, mediaType: string, options?: { tag?: string }): Promise<Descriptor>;
  /** Points `tag` at an existing manifest. */
  tag(descriptor: Descriptor, tag: string): Promise<void>;
  /** Every tag, across all pages. */
  tags(): Promise<string[]>;
  /** The manifests whose `subject` is `subject`, optionally of one artifact type. */
  referrers(subject: Descriptor, options?: { artifactType?: string }): Promise<Descriptor[]>;
}

/** Content whose digest is not known yet: how to open it (each call a fresh stream) and its expected size. */
export interface UnhashedContent {
  open: () => Promise<ReadableStream<Uint8Array>>;
  size: number;
  /** Names the content in errors, e.g. `file "big.bin"`. */
  what: string;
}

/** What Store.pushUnhashedBlob stored and did. */
export interface PushedBlob {
  descriptor: Descriptor;
  outcome: UploadOutcome;
}

/**
 * Hashes unhashed content in one read pass.
 *
 * @throws {DigestError} when its size is not the expected one (the content changed while read)
 */
export async function hashContent(content: UnhashedContent): Promise<{ digest: Digest; size: number }> {
  const hashed = await digestStream(await content.open());
  if (hashed.size !== content.size) {
    throw new DigestError(
      `${content.what} changed while it was read: ${content.size} bytes, then ${hashed.size}`,
    );
  }
  return hashed;
}

/** Hashes the content, then pushes it: Store.pushUnhashedBlob for a store with no faster way. */
export async function hashThenPush(
  store: Store,
  base: Pick<Descriptor, "mediaType" | "annotations">,
  content: UnhashedContent,
  options?: StorePushBlobOptions,
): Promise<PushedBlob> {
  const descriptor = describe(base, await hashContent(content));
  return { descriptor, outcome: await store.pushBlob(descriptor, content.open, options) };
}

/** The descriptor of hashed content, its fields in the order oras writes them (manifest bytes depend on it). */
export function describe(
  base: Pick<Descriptor, "mediaType" | "annotations">,
  hashed: { digest: Digest; size: number },
): Descriptor {
  const descriptor: Descriptor = { mediaType: base.mediaType, digest: hashed.digest, size: hashed.size };
  if (base.annotations) descriptor.annotations = base.annotations;
  return descriptor;
}

/** Opens a BlobContent as a stream. */
export async function contentStream(content: BlobContent): Promise<ReadableStream<Uint8Array>> {
  if (content instanceof Uint8Array) return new Blob([content as Uint8Array<ArrayBuffer>]).stream();
  return await content();
}
