/**
 * An OCI image-layout folder as a Store (read and write): the `oci-layout` file, `index.json` (tags as
 * `org.opencontainers.image.ref.name` annotations) and `blobs/<alg>/<hex>`. Blobs are written through a
 * temporary file while hashing and renamed when verified; index.json is written atomically. The result is
 * readable by `skopeo inspect oci:DIR:tag` and `skopeo copy oci:DIR:tag …`.
 *
 * @module
 */

import { join, resolve as resolvePath } from "node:path";
import { writeFileAtomic } from "./atomic_file.ts";
import type { BlobContent, UploadOutcome } from "./blob_upload.ts";
import type { ProgressCallback } from "./blobs.ts";
import { ifFound } from "./if_found.ts";
import { type Digest, digestAlgorithm, digestHex, digestOf, isDigest, VerifyingStream } from "./digest.ts";
import {
  type Descriptor,
  type ImageIndex,
  isIndex,
  isManifestMediaType,
  MAX_MANIFEST_BYTES,
  parseManifest,
} from "./manifest.ts";
import { OCI_INDEX } from "./media_types.ts";
import {
  contentStream,
  type FetchedManifest,
  hashThenPush,
  type PushedBlob,
  type Store,
  type StorePushBlobOptions,
  type UnhashedContent,
} from "./store.ts";
import { writeVerifiedFile } from "./partial_file.ts";
import { readCapped } from "./read_capped.ts";

/** The annotation that names a manifest's tag in index.json. */
export const ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name";
/** The only image-layout version there is. */
export const LAYOUT_VERSION = "1.0.0";

/** Thrown when a layout folder is missing, malformed, or lacks what is asked for. */
export class LayoutError extends Error {
  /** The error's class name. */
  override name = "LayoutError";
  /** The layout lacks the tag, manifest or blob asked for (see `isNotFound` of lib/oci/store.ts). */
  readonly notFound: boolean;

  /**
   * Makes the error.
   *
   * @param message the one-line message
   * @param options `notFound` when the layout lacks what is asked for
   */
  constructor(message: string, options: { notFound?: boolean } = {}) {
    super(message);
    this.notFound = options.notFound ?? false;
  }
}

/** Opens `dir` as a layout; `create` makes the folder, oci-layout and an empty index.json when missing. */
export async function openLayout(dir: string, options: { create?: boolean } = {}): Promise<LayoutStore> {
  const root = resolvePath(dir);
  const marker = join(root, "oci-layout");
  const bytes = await ifFound(readLayoutFile(marker), undefined);
  if (bytes === undefined) {
    if (!options.create) throw new LayoutError(`Cannot open OCI layout "${dir}": it has no oci-layout file`);
    await Deno.mkdir(join(root, "blobs", "sha256"), { recursive: true });
    await writeFileAtomic(marker, JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION }));
  } else {
    let version: unknown;
    try {
      version =
        (JSON.parse(new TextDecoder().decode(bytes)) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
    } catch {
      throw new LayoutError(`Cannot open OCI layout "${dir}": oci-layout is not JSON`);
    }
    if (version !== LAYOUT_VERSION) {
      throw new LayoutError(`Cannot open OCI layout "${dir}": unsupported imageLayoutVersion "${version}"`);
    }
  }
  const store = new LayoutStore(root);
  if (options.create && !(await ifFound(Deno.lstat(join(root, "index.json")).then(() => true), false))) {
    await store.writeIndex({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
  }
  return store;
}

/** An OCI image-layout folder. Use openLayout to make one. */
export class LayoutStore implements Store {
  /** The folder (absolute). */
  readonly root: string;
  /** Serialises index.json updates within this process. */
  #indexLock: Promise<unknown> = Promise.resolve();

  /** @param root the layout folder (absolute); prefer openLayout, which checks or creates it */
  constructor(root: string) {
    this.root = root;
  }

  /** `oci-layout:DIR`. */
  get name(): string {
    return `oci-layout:${this.root}`;
  }

  /** The path of a blob. */
  blobPath(digest: Digest): string {
    return join(this.root, "blobs", digestAlgorithm(digest), digestHex(digest));
  }

  /** Reads index.json (an empty index when it is missing). */
  async readIndex(): Promise<ImageIndex> {
    let bytes: Uint8Array;
    try {
      bytes = await readLayoutFile(join(this.root, "index.json"));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        return { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
      }
      throw error;
    }
    try {
      const { manifest } = parseManifest(bytes, OCI_INDEX);
      if (!isIndex(manifest)) throw new Error("not an index");
      return manifest;
    } catch (error) {
      throw new LayoutError(`Cannot read "${join(this.root, "index.json")}": ${(error as Error).message}`);
    }
  }

  /** Writes index.json atomically. */
  async writeIndex(index: ImageIndex): Promise<void> {
    await writeFileAtomic(join(this.root, "index.json"), JSON.stringify(index));
  }

  /**
   * Applies `change` to index.json (read, change, atomic write) under two locks: a promise chain within this
   * process and an `index.json.lock` file across processes, so concurrent tags are not lost.
   */
  #updateIndex(change: (index: ImageIndex) => ImageIndex | undefined): Promise<void> {
    const next = this.#indexLock.then(async () => {
      const release = await lockFile(join(this.root, "index.json.lock"));
      try {
        const updated = change(await this.readIndex());
        if (updated) await this.writeIndex(updated);
      } finally {
        await release();
      }
    });
    this.#indexLock = next.catch(() => {});
    return next;
  }

  /** Resolves a tag (index.json's ref.name) or a digest (index.json, else the blob's own content). */
  async resolve(reference: string): Promise<Descriptor> {
    const index = await this.readIndex();
    if (isDigest(reference)) {
      const listed = index.manifests.find((d) => d.digest === reference);
      if (listed) return strip(listed);
      return (await this.fetchManifest(reference)).descriptor;
    }
    const tagged = index.manifests.findLast((d) => d.annotations?.[ANNOTATION_REF_NAME] === reference);
    if (!tagged) {
      throw new LayoutError(`Cannot find "${reference}" in OCI layout "${this.root}": no such tag`, {
        notFound: true,
      });
    }
    return strip(tagged);
  }

  /** Reads a manifest blob, verifies its digest and parses it. */
  async fetchManifest(reference: string | Descriptor): Promise<FetchedManifest> {
    const descriptor = typeof reference === "string"
      ? (isDigest(reference) ? undefined : await this.resolve(reference))
      : reference;
    const digest = (descriptor?.digest ?? reference) as Digest;
    let bytes: Uint8Array;
    try {
      bytes = await readLayoutFile(this.blobPath(digest));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      throw new LayoutError(`Cannot find manifest "${digest}" in OCI layout "${this.root}"`, {
        notFound: true,
      });
    }
    const actual = digestOf(bytes, digestAlgorithm(digest));
    if (actual !== digest) {
      throw new LayoutError(
        `Cannot read manifest "${digest}" of OCI layout "${this.root}": content is "${actual}"`,
      );
    }
    try {
      const parsed = parseManifest(bytes, descriptor?.mediaType);
      return {
        manifest: parsed.manifest,
        bytes,
        descriptor: { mediaType: parsed.mediaType, digest, size: bytes.byteLength },
      };
    } catch (error) {
      throw new LayoutError(
        `Cannot read manifest "${digest}" of OCI layout "${this.root}": ${(error as Error).message}`,
      );
    }
  }

  /** Opens a blob, verified as it is read. */
  async fetchBlob(descriptor: Descriptor): Promise<ReadableStream<Uint8Array>> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(this.blobPath(descriptor.digest));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      throw new LayoutError(`Cannot find blob "${descriptor.digest}" in OCI layout "${this.root}"`, {
        notFound: true,
      });
    }
    return file.readable.pipeThrough(
      new VerifyingStream(descriptor, `blob "${descriptor.digest}" of OCI layout "${this.root}"`),
    );
  }

  /** Copies a blob to `path`, verified, through a temporary file. */
  async downloadBlob(
    descriptor: Descriptor,
    path: string,
    options: { onProgress?: ProgressCallback } = {},
  ): Promise<void> {
    const stream = await this.fetchBlob(descriptor);
    await writeVerifiedFile(path, stream, descriptor, { onProgress: options.onProgress });
  }

  /** The size of a blob file, or undefined when missing. */
  async statBlob(digest: Digest): Promise<Descriptor | undefined> {
    const info = await ifFound(Deno.stat(this.blobPath(digest)), undefined);
    return info && { mediaType: "application/octet-stream", digest, size: info.size };
  }

  /** True when the blob file exists with the expected size. */
  async exists(descriptor: Descriptor): Promise<boolean> {
    return (await ifFound(Deno.stat(this.blobPath(descriptor.digest)), undefined))?.size === descriptor.size;
  }

  /** Writes a blob unless present: temp file while hashing, renamed when verified. */
  async pushBlob(
    descriptor: Descriptor,
    content: BlobContent,
    options: StorePushBlobOptions = {},
  ): Promise<UploadOutcome> {
    if (await this.exists(descriptor)) {
      options.onProgress?.(descriptor.size);
      return "exists";
    }
    const path = this.blobPath(descriptor.digest);
    await Deno.mkdir(join(this.root, "blobs", digestAlgorithm(descriptor.digest)), { recursive: true });
    await writeVerifiedFile(path, await contentStream(content), descriptor, {
      what: `blob "${descriptor.digest}" for OCI layout "${this.root}"`,
      onProgress: options.onProgress,
    });
    return "uploaded";
  }

  /** Hashes the content, then writes it unless present. */
  async pushUnhashedBlob(
    base: Pick<Descriptor, "mediaType" | "annotations">,
    content: UnhashedContent,
    options?: StorePushBlobOptions,
  ): Promise<PushedBlob> {
    return await hashThenPush(this, base, content, options);
  }

  /**
   * Writes a manifest blob and lists it in index.json: under `tag` (replacing the tag's former entry), or
   * untagged when it has a `subject` (so referrers can be found).
   */
  async pushManifest(bytes: Uint8Array, mediaType: string, options: { tag?: string } = {}) {
    const descriptor: Descriptor = { mediaType, digest: digestOf(bytes), size: bytes.byteLength };
    const { manifest } = parseManifest(bytes, mediaType);
    await this.pushBlob(descriptor, bytes);
    if (options.tag !== undefined) await this.tag(descriptor, options.tag);
    else if (manifest.subject) {
      const entry: Descriptor = { ...descriptor };
      if (manifest.artifactType) entry.artifactType = manifest.artifactType;
      await this.#updateIndex((index) =>
        index.manifests.some((d) => d.digest === descriptor.digest)
          ? undefined
          : { ...index, manifests: [...index.manifests, entry] }
      );
    }
    return descriptor;
  }

  /** Points `tag` at a manifest in this layout. */
  async tag(descriptor: Descriptor, tag: string): Promise<void> {
    if (!(await this.exists(descriptor))) {
      throw new LayoutError(
        `Cannot tag "${descriptor.digest}" as "${tag}" in OCI layout "${this.root}": not found`,
        { notFound: true },
      );
    }
    const entry: Descriptor = {
      mediaType: descriptor.mediaType,
      digest: descriptor.digest,
      size: descriptor.size,
      ...(descriptor.artifactType && { artifactType: descriptor.artifactType }),
      annotations: { [ANNOTATION_REF_NAME]: tag },
    };
    await this.#updateIndex((index) => ({
      ...index,
      manifests: [
        ...index.manifests.filter((d) =>
          d.annotations?.[ANNOTATION_REF_NAME] !== tag &&
          !(d.digest === descriptor.digest && !d.annotations?.[ANNOTATION_REF_NAME])
        ),
        entry,
      ],
    }));
  }

  /** The tags of index.json, sorted. */
  async tags(): Promise<string[]> {
    const index = await this.readIndex();
    const tags = index.manifests.map((d) => d.annotations?.[ANNOTATION_REF_NAME]).filter((t): t is string =>
      t !== undefined
    );
    return [...new Set(tags)].sort();
  }

  /** The manifests listed in index.json whose subject is `subject`. */
  async referrers(subject: Descriptor, options: { artifactType?: string } = {}): Promise<Descriptor[]> {
    const index = await this.readIndex();
    const found: Descriptor[] = [];
    const seen = new Set<string>();
    for (const entry of index.manifests) {
      if (seen.has(entry.digest) || !isManifestMediaType(entry.mediaType)) continue;
      seen.add(entry.digest);
      const { manifest, descriptor } = await this.fetchManifest(entry);
      if (manifest.subject?.digest !== subject.digest) continue;
      const artifactType = manifest.artifactType ??
        (isIndex(manifest) ? undefined : manifest.config.mediaType);
      if (options.artifactType && artifactType !== options.artifactType) continue;
      found.push({
        ...descriptor,
        ...(artifactType && { artifactType }),
        ...(manifest.annotations && { annotations: manifest.annotations }),
      });
    }
    return found;
  }
}

/** A lock file older than this is taken to be left by a process that died. */
const STALE_LOCK_MS = 30_000;

/** Creates `path` exclusively (waiting while another process holds it) and returns its release. */
async function lockFile(path: string): Promise<() => Promise<void>> {
  for (let wait = 5;; wait = Math.min(wait * 2, 200)) {
    try {
      (await Deno.open(path, { write: true, createNew: true })).close();
      return () => Deno.remove(path).catch(() => {});
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    const info = await Deno.stat(path).catch(() => undefined);
    if (info?.mtime && Date.now() - info.mtime.getTime() > STALE_LOCK_MS) {
      await Deno.remove(path).catch(() => {});
      continue;
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/** A descriptor without index.json's ref.name annotation. */
function strip(descriptor: Descriptor): Descriptor {
  const { annotations, ...rest } = descriptor;
  const others = Object.fromEntries(
    Object.entries(annotations ?? {}).filter(([k]) => k !== ANNOTATION_REF_NAME),
  );
  return Object.keys(others).length ? { ...rest, annotations: others } : rest;
}

/**
 * Reads a JSON file of the layout (oci-layout, index.json, a manifest blob), at most MAX_MANIFEST_BYTES: a
 * bigger or endless file (a link to /dev/zero) is refused, not read into memory.
 *
 * @throws {Deno.errors.NotFound} when the file is missing; {LayoutError} when it is too big
 */
async function readLayoutFile(path: string): Promise<Uint8Array> {
  const file = await Deno.open(path);
  const bytes = await readCapped(file.readable, { limit: MAX_MANIFEST_BYTES + 1, truncate: true });
  if (bytes.byteLength > MAX_MANIFEST_BYTES) {
    throw new LayoutError(
      `Cannot read "${path}": it is over the ${MAX_MANIFEST_BYTES} byte limit of a manifest`,
    );
  }
  return bytes;
}
