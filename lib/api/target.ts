/**
 * The public Target: one registry repository or one OCI image-layout folder, with its manifests, blobs, tags
 * and referrers. It wraps the internal Store (lib/oci/store.ts), so that the store can change while this
 * surface stays.
 *
 * @module
 */

import { type Descriptor, encodeManifest, type Manifest } from "../oci/manifest.ts";
import { isValidTag } from "../oci/reference.ts";
import { digestOf } from "../oci/digest.ts";
import { openLayout as openLayoutStore } from "../oci/layout.ts";
import type { FetchedManifest, Store } from "../oci/store.ts";
import { ArtifactError } from "../artifact/files.ts";

export type { FetchedManifest };

/** The largest blob `fetchBytes` reads into memory unless told otherwise (64 MiB). */
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

let wrap: (store: Store) => Target;
let unwrap: (target: Target) => Store;

/**
 * A registry repository or an OCI image-layout folder: what push, pull and copy read and write. Get one from
 * `Client.repository` or `openLayout`. Every blob and manifest read is verified against its digest.
 *
 * @example Store a blob and a manifest, tag it, and list the tags
 * ```ts
 * import { openLayout } from "@kcl/kpm";
 *
 * const layout = await openLayout(await Deno.makeTempDir(), { create: true });
 * const config = await layout.pushBlob("{}", { mediaType: "application/vnd.oci.empty.v1+json" });
 * const manifest = await layout.pushManifest({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config, layers: [] });
 * await layout.tag(manifest.digest, ["v1", "stable"]);
 * console.log(await layout.tags()); // [ "stable", "v1" ]
 * ```
 */
export class Target {
  static {
    wrap = (store) => new Target(store);
    unwrap = (target) => target.#store;
  }

  #store: Store;

  private constructor(store: Store) {
    this.#store = store;
  }

  /**
   * Names the target in messages: `127.0.0.1:5000/demo` or `oci-layout:/tmp/dir`.
   *
   * @example
   * ```ts
   * import { Client } from "@kcl/kpm";
   *
   * console.log(new Client().repository("localhost:5000/demo").name); // localhost:5000/demo
   * ```
   */
  get name(): string {
    return this.#store.name;
  }

  /**
   * Resolves a tag or digest to the descriptor of its manifest.
   *
   * @throws {RegistryError} / {LayoutError} when there is no such manifest (its `notFound` is true)
   * @example
   * ```ts
   * import { openLayout, push } from "@kcl/kpm";
   *
   * const layout = await openLayout(await Deno.makeTempDir(), { create: true });
   * await push(layout, [{ name: "a.txt", content: "a" }], { tags: ["v1"] });
   * console.log((await layout.resolve("v1")).digest);
   * ```
   */
  async resolve(reference: string): Promise<Descriptor> {
    return await this.#store.resolve(reference);
  }

  /**
   * Reads a manifest (or index) by tag, digest or descriptor.
   *
   * @throws {RegistryError} / {LayoutError} when it is missing; {DigestError} when its bytes do not match
   * @example
   * ```ts
   * import { openLayout, push } from "@kcl/kpm";
   *
   * const layout = await openLayout(await Deno.makeTempDir(), { create: true });
   * await push(layout, [{ name: "a.txt", content: "a" }], { tags: ["v1"], artifactType: "application/x.demo" });
   * const { manifest } = await layout.fetchManifest("v1");
   * console.log(manifest.artifactType); // application/x.demo
   * ```
   */
  async fetchManifest(reference: string | Descriptor): Promise<FetchedManifest> {
    return await this.#store.fetchManifest(reference);
  }

  /**
   * Stores a manifest (an object, or its exact bytes with `mediaType`), under `tag` when given.
   *
   * @returns the manifest's descriptor
   * @throws {ArtifactError} when bytes come without a media type
   * @example
   * ```ts
   * import { openLayout } from "@kcl/kpm";
   *
   * const layout = await openLayout(await Deno.makeTempDir(), { create: true });
   * const config = await layout.pushBlob("{}", { mediaType: "application/vnd.oci.empty.v1+json" });
   * const pushed = await layout.pushManifest(
   *   { schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config, layers: [] },
   *   { tag: "empty" },
   * );
   * console.log(pushed.size);
   * ```
   */
  async pushManifest(
    manifest: Manifest | Uint8Array,
    options: { mediaType?: string; tag?: string } = {},
  ): Promise<Descriptor> {
    const bytes = manifest instanceof Uint8Array ? manifest : encodeManifest(manifest);
    const mediaType = options.mediaType ?? (manifest instanceof Uint8Array ? undefined : manifest.mediaType);
    if (!mediaType) {
      throw new ArtifactError(`Cannot push a manifest to "${this.name}": its media type is unknown`);
    }
    if (options.tag !== undefined) checkTag(options.tag);
    return await this.#store.pushManifest(bytes, mediaType, { tag: options.tag });
  }

  /**
   * Opens a blob as a stream that fails when its size or digest does not match the descriptor.
   *
   * @example
   * ```ts
   * import { openLayout } from "@kcl/kpm";
   *
   * const layout = await openLayout(await Deno.makeTempDir(), { create: true });
   * const blob = await layout.pushBlob("hello");
   * console.log(await new Response(await layout.fetchBlob(blob)).text()); // hello
   * ```
   */
  async fetchBlob(descriptor: Descriptor): Promise<ReadableStream<Uint8Array>> {
    return await this.#store.fetchBlob(descriptor);
  }

  /**
   * Reads a blob into memory, verified.
   *
   * @param options `maxBytes` refuses bigger blobs (default 64 MiB)
   * @throws {ArtifactError} when the descriptor's size is over `maxBytes`; {DigestError} on a mismatch
   * @example
   * ```ts
   * import { openLayout } from "@kcl/kpm";
   *
   * const layout = await openLayout(await Deno.makeTempDir(), { create: true });
   * const blob = await layout.pushBlob(new Uint8Array([1, 2, 3]));
   * console.log(await layout.fetchBytes(blob)); // Uint8Array(3) [ 1, 2, 3 ]
   * ```
   */
  async fetchBytes(descriptor: Descriptor, options: { maxBytes?: number } = {}): Promise<Uint8Array> {
    const max = options.maxBytes ?? DEFAULT_MAX_BYTES;
    if (descriptor.size > max) {
      throw new ArtifactError(
        `Cannot read blob "${descriptor.digest}" of "${this.name}" into memory: ${descriptor.size} bytes is over the limit of ${max}`,
      );
    }
    return new Uint8Array(await new Response(await this.#store.fetchBlob(descriptor)).arrayBuffer());
  }

  /**
   * Stores in-memory content as a blob (skipped when the target has it).
   *
   * @param options `mediaType` of the returned descriptor (default `application/octet-stream`)
   * @returns the blob's descriptor
   * @example
   * ```ts
   * import { openLayout } from "@kcl/kpm";
   *
   * const layout = await openLayout(await Deno.makeTempDir(), { create: true });
   * const blob = await layout.pushBlob("Hello World!\n", { mediaType: "text/plain" });
   * console.log(blob.digest, blob.size); // sha256:03ba204e… 13
   * ```
   */
  async pushBlob(content: Uint8Array | string, options: { mediaType?: string } = {}): Promise<Descriptor> {
    const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
    const descriptor: Descriptor = {
      mediaType: options.mediaType ?? "application/octet-stream",
      digest: digestOf(bytes),
      size: bytes.byteLength,
    };
    await this.#store.pushBlob(descriptor, bytes);
    return descriptor;
  }

  /**
   * Says whether the target holds a blob or manifest.
   *
   * @example
   * ```ts
   * import { openLayout } from "@kcl/kpm";
   *
   * const layout = await openLayout(await Deno.makeTempDir(), { create: true });
   * const blob = await layout.pushBlob("x");
   * console.log(await layout.exists(blob)); // true
   * ```
   */
  async exists(descriptor: Descriptor): Promise<boolean> {
    return await this.#store.exists(descriptor);
  }

  /**
   * Points one or more tags at the manifest `reference` (a tag or digest) names.
   *
   * @returns the tagged manifest's descriptor
   * @throws {ArtifactError} for a malformed tag
   * @example
   * ```ts
   * import { openLayout, push } from "@kcl/kpm";
   *
   * const layout = await openLayout(await Deno.makeTempDir(), { create: true });
   * await push(layout, [{ name: "a.txt", content: "a" }], { tags: ["v1"] });
   * await layout.tag("v1", "latest");
   * console.log(await layout.tags()); // [ "latest", "v1" ]
   * ```
   */
  async tag(reference: string, tags: string | string[]): Promise<Descriptor> {
    const list = typeof tags === "string" ? [tags] : tags;
    list.forEach(checkTag);
    const descriptor = await this.#store.resolve(reference);
    for (const tag of list) await this.#store.tag(descriptor, tag);
    return descriptor;
  }

  /**
   * Lists every tag (all pages), sorted.
   *
   * @example
   * ```ts
   * import { openLayout } from "@kcl/kpm";
   *
   * const layout = await openLayout(await Deno.makeTempDir(), { create: true });
   * console.log(await layout.tags()); // []
   * ```
   */
  async tags(): Promise<string[]> {
    return (await this.#store.tags()).sort();
  }

  /**
   * Lists the manifests that refer to `subject` (a tag, digest or descriptor), optionally of one artifact type.
   *
   * @example Attach a signature-like artifact and find it again
   * ```ts
   * import { openLayout, push } from "@kcl/kpm";
   *
   * const layout = await openLayout(await Deno.makeTempDir(), { create: true });
   * const image = await push(layout, [{ name: "app.txt", content: "app" }], { tags: ["v1"] });
   * await push(layout, [{ name: "sig.txt", content: "signed" }], {
   *   subject: image.manifest,
   *   artifactType: "application/vnd.example.signature",
   * });
   * const found = await layout.referrers("v1", { artifactType: "application/vnd.example.signature" });
   * console.log(found.length); // 1
   * ```
   */
  async referrers(
    subject: string | Descriptor,
    options: { artifactType?: string } = {},
  ): Promise<Descriptor[]> {
    const descriptor = typeof subject === "string" ? await this.#store.resolve(subject) : subject;
    return await this.#store.referrers(descriptor, options);
  }
}

/** Wraps an internal store (for lib/api only; not exported from mod.ts). */
export function targetOf(store: Store): Target {
  return wrap(store);
}

/** The internal store of a target (for lib/api only; not exported from mod.ts). */
export function storeOf(target: Target): Store {
  return unwrap(target);
}

function checkTag(tag: string): void {
  if (!isValidTag(tag)) {
    throw new ArtifactError(`Invalid tag "${tag}": it must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`);
  }
}

/**
 * Opens an OCI image-layout folder as a target.
 *
 * @param options `create` makes the folder, its `oci-layout` file and an empty `index.json` when missing
 * @throws {LayoutError} when the folder is not a layout (and `create` is not set)
 * @example
 * ```ts
 * import { openLayout } from "@kcl/kpm";
 *
 * const layout = await openLayout(await Deno.makeTempDir(), { create: true });
 * console.log(layout.name.startsWith("oci-layout:")); // true
 * ```
 */
export async function openLayout(dir: string, options: { create?: boolean } = {}): Promise<Target> {
  return wrap(await openLayoutStore(dir, options));
}
