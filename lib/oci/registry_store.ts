/**
 * A registry repository as a Store: manifests, blobs, tags and referrers through lib/oci/manifests.ts,
 * blobs.ts and blob_upload.ts. Pushing a manifest with a `subject` to a registry without the referrers API
 * keeps the `sha256-<hex>` tag-schema index up to date, as image-spec 1.1 asks of clients.
 *
 * @module
 */

import { type BlobContent, pushBlob, type UploadOutcome } from "./blob_upload.ts";
import { downloadBlob, openBlob, type ProgressCallback, type Repository } from "./blobs.ts";
import type { RegistryClient } from "./client.ts";
import { type Digest, isDigest, VerifyingStream } from "./digest.ts";
import { type Descriptor, type ImageIndex, isIndex, parseManifest } from "./manifest.ts";
import { fetchManifest, headManifest, listReferrers, listTags, pushManifest } from "./manifests.ts";
import { isManifestMediaType } from "./manifest.ts";
import { OCI_INDEX } from "./media_types.ts";
import { formatReference, type Reference, repositoryName } from "./reference.ts";
import { RegistryError } from "./registry_error.ts";
import { repositoryScope } from "./auth/scope.ts";
import type { Store, StoredManifest, StorePushBlobOptions } from "./store.ts";

/** A repository of a registry, seen as a Store. */
export class RegistryStore implements Store {
  /** The client every request goes through (shared, so tokens are reused). */
  readonly client: RegistryClient;
  /** Registry host and repository. */
  readonly repo: Repository;
  #referrersApi?: Promise<boolean>;
  #pageSize?: number;
  /** The running update of each `sha256-<hex>` fallback index: updates of one index run one at a time. */
  #fallbackUpdates = new Map<string, Promise<void>>();

  /**
   * @param client the registry client
   * @param repo registry host and repository (a Reference's tag and digest are ignored)
   * @param options `pageSize` asks for tag lists in pages of that many (all pages are read)
   */
  constructor(client: RegistryClient, repo: Repository, options: { pageSize?: number } = {}) {
    this.client = client;
    this.repo = { registry: repo.registry, repository: repo.repository };
    this.#pageSize = options.pageSize;
  }

  /** `host/repository`. */
  get name(): string {
    return repositoryName(this.repo);
  }

  #ref(reference: string): Reference {
    return isDigest(reference) ? { ...this.repo, digest: reference } : { ...this.repo, tag: reference };
  }

  /** Resolves a tag or digest with a HEAD (GET when the registry omits the digest). */
  async resolve(reference: string): Promise<Descriptor> {
    const ref = this.#ref(reference);
    const found = await headManifest(this.client, ref);
    if (!found) {
      throw new RegistryError(`Cannot find manifest "${formatReference(ref)}": not found`, {
        status: 404,
        code: "MANIFEST_UNKNOWN",
        ...this.repo,
      });
    }
    return found.mediaType ? found : (await fetchManifest(this.client, ref)).descriptor;
  }

  /** Fetches a manifest by tag, digest or descriptor. */
  async fetchManifest(reference: string | Descriptor): Promise<StoredManifest> {
    const target = typeof reference === "string" ? reference : reference.digest;
    return await fetchManifest(this.client, this.#ref(target));
  }

  /** Opens a verified blob stream (manifests are fetched through the manifests endpoint). */
  async fetchBlob(descriptor: Descriptor): Promise<ReadableStream<Uint8Array>> {
    if (isManifestMediaType(descriptor.mediaType)) {
      const { bytes } = await this.fetchManifest(descriptor);
      return new Blob([bytes as Uint8Array<ArrayBuffer>]).stream();
    }
    const { body } = await openBlob(this.client, this.repo, descriptor.digest);
    return body.pipeThrough(new VerifyingStream(descriptor, `blob "${descriptor.digest}" of "${this.name}"`));
  }

  /** Downloads a blob with Range resume, verified and renamed into place. */
  async downloadBlob(
    descriptor: Descriptor,
    path: string,
    options: { onProgress?: ProgressCallback } = {},
  ): Promise<void> {
    await downloadBlob(this.client, this.repo, descriptor, path, options);
  }

  /** HEAD of the blob or manifest. */
  async exists(descriptor: Descriptor): Promise<boolean> {
    if (isManifestMediaType(descriptor.mediaType)) {
      return (await headManifest(this.client, { ...this.repo, digest: descriptor.digest })) !== undefined;
    }
    return (await this.statBlob(descriptor.digest)) !== undefined;
  }

  /** HEAD of a blob: its size from Content-Length, or undefined on 404. */
  async statBlob(digest: Digest): Promise<Descriptor | undefined> {
    const response = await this.client.send({
      registry: this.repo.registry,
      repository: this.repo.repository,
      method: "HEAD",
      path: `${this.repo.repository}/blobs/${digest}`,
      scopes: [repositoryScope(this.repo.repository, ["pull"])],
      expect: [200, 404],
      what: `look up blob "${digest}" of "${this.name}"`,
    });
    await response.body?.cancel();
    if (response.status === 404) return undefined;
    return {
      mediaType: "application/octet-stream",
      digest,
      size: Number(response.headers.get("Content-Length") ?? "0"),
    };
  }

  /** Uploads a blob, mounting it from `options.from` when that is a repository of the same registry. */
  async pushBlob(
    descriptor: Descriptor,
    content: BlobContent,
    options: StorePushBlobOptions = {},
  ): Promise<UploadOutcome> {
    const from: string | undefined =
      options.from instanceof RegistryStore && options.from.repo.registry === this.repo.registry
        ? options.from.repo.repository
        : undefined;
    return await pushBlob(this.client, this.repo, descriptor, content, {
      mountFrom: from,
      onProgress: options.onProgress,
    });
  }

  /** Uploads a manifest (by tag or digest) and keeps the referrers tag-schema index when needed. */
  async pushManifest(bytes: Uint8Array, mediaType: string, options: { tag?: string } = {}) {
    const descriptor = await pushManifest(this.client, { ...this.repo, tag: options.tag }, {
      bytes,
      mediaType,
    });
    const { manifest } = parseManifest(bytes, mediaType);
    if (manifest.subject && !(await this.#hasReferrersApi(manifest.subject))) {
      const entry: Descriptor = {
        mediaType,
        digest: descriptor.digest,
        size: descriptor.size,
        artifactType: manifest.artifactType ?? (isIndex(manifest) ? undefined : manifest.config.mediaType),
        ...(manifest.annotations && { annotations: manifest.annotations }),
      };
      if (!entry.artifactType) delete entry.artifactType;
      await this.#addToReferrersTag(manifest.subject, entry);
    }
    return descriptor;
  }

  /** Whether the registry serves the referrers API (asked once per store). */
  #hasReferrersApi(subject: Descriptor): Promise<boolean> {
    this.#referrersApi ??= (async () => {
      const response = await this.client.send({
        registry: this.repo.registry,
        repository: this.repo.repository,
        path: `${this.repo.repository}/referrers/${subject.digest}`,
        headers: { Accept: OCI_INDEX },
        scopes: [repositoryScope(this.repo.repository, ["pull"])],
        expect: [200, 400, 404, 405],
        what: `list referrers of "${this.name}@${subject.digest}"`,
      });
      const ok = response.status === 200 && !!response.headers.get("Content-Type")?.startsWith(OCI_INDEX);
      await response.body?.cancel();
      return ok;
    })();
    return this.#referrersApi;
  }

  /**
   * Adds a referrer to the `sha256-<hex>` index of its subject (the fallback for registries without the API).
   * The index is read, changed and written back, so updates of one index wait for each other: referrers
   * pushed at once (a `copy -r`) would otherwise overwrite each other's entry.
   */
  async #addToReferrersTag(subject: Descriptor, entry: Descriptor): Promise<void> {
    const tag = subject.digest.replace(":", "-");
    const previous = this.#fallbackUpdates.get(tag) ?? Promise.resolve();
    const update = previous.catch(() => {}).then(() => this.#updateReferrersTag(tag, entry));
    this.#fallbackUpdates.set(tag, update);
    try {
      await update;
    } finally {
      if (this.#fallbackUpdates.get(tag) === update) this.#fallbackUpdates.delete(tag);
    }
  }

  /** Reads the fallback index `tag`, adds `entry` unless present, and writes it back. */
  async #updateReferrersTag(tag: string, entry: Descriptor): Promise<void> {
    const ref = { ...this.repo, tag };
    let index: ImageIndex = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
    if (await headManifest(this.client, ref)) {
      const fetched = await fetchManifest(this.client, ref);
      if (isIndex(fetched.manifest)) index = fetched.manifest;
    }
    if (index.manifests.some((d) => d.digest === entry.digest)) return;
    index = { ...index, manifests: [...index.manifests, entry] };
    const bytes = new TextEncoder().encode(JSON.stringify(index));
    await pushManifest(this.client, ref, { bytes, mediaType: OCI_INDEX });
  }

  /** Tags a manifest: fetches its bytes by digest and PUTs them under the tag. */
  async tag(descriptor: Descriptor, tag: string): Promise<void> {
    const { bytes, descriptor: fetched } = await this.fetchManifest(descriptor);
    await pushManifest(this.client, { ...this.repo, tag }, { bytes, mediaType: fetched.mediaType });
  }

  /** Every tag, following Link pagination. */
  async tags(): Promise<string[]> {
    return await listTags(this.client, this.repo, { pageSize: this.#pageSize });
  }

  /** Referrers through the API, or the tag-schema index. */
  async referrers(subject: Descriptor, options: { artifactType?: string } = {}): Promise<Descriptor[]> {
    return await listReferrers(this.client, { ...this.repo, digest: subject.digest }, options);
  }
}
