/**
 * One repository of a registry (the shape of oras-go's `remote.Repository`): every request kpm sends to it
 * goes through here — `blobs` (lib/oci/blobs.ts, uploads in blob_upload.ts), `manifests`
 * (lib/oci/manifests.ts), tags and referrers — over the shared RegistryClient (the transport: auth, retries,
 * scheme fallback). A Repository is also a Store: pushing a manifest with a `subject` to a registry without the
 * referrers API keeps the `sha256-<hex>` tag-schema index up to date, as image-spec 1.1 asks of clients.
 * `Registry` holds what belongs to the whole registry: the ping and the catalog.
 *
 * @module
 */

import {
  type BlobContent,
  HASH_WHILE_UPLOADING_FROM,
  type UploadOutcome,
  uploadWhileHashing,
} from "./blob_upload.ts";
import { downloadBlob, type ProgressCallback, RepositoryBlobs } from "./blobs.ts";
import type { RegistryClient } from "./client.ts";
import { type Digest, isDigest, VerifyingStream } from "./digest.ts";
import {
  checkDescriptor,
  type Descriptor,
  type ImageIndex,
  isIndex,
  isManifestMediaType,
  parseManifest,
} from "./manifest.ts";
import { RepositoryManifests } from "./manifests.ts";
import { OCI_INDEX } from "./media_types.ts";
import { readListing, strings } from "./listing.ts";
import { formatReference, type Reference, repositoryName } from "./reference.ts";
import { RegistryError } from "./registry_error.ts";
import { repositoryScope } from "./auth/scope.ts";
import {
  type FetchedManifest,
  hashThenPush,
  type PushedBlob,
  type Store,
  type StorePushBlobOptions,
  type UnhashedContent,
} from "./store.ts";

/** A registry host: the ping and the catalog, and its repositories. */
export class Registry {
  /** The client every request goes through (shared, so tokens are reused). */
  readonly client: RegistryClient;
  /** The registry host, e.g. `ghcr.io` or `127.0.0.1:5000`. */
  readonly registry: string;

  /**
   * @param client the registry client
   * @param registry the registry host
   */
  constructor(client: RegistryClient, registry: string) {
    this.client = client;
    this.registry = registry;
  }

  /**
   * Asks the API root (`GET /v2/`) with the client's credentials.
   *
   * @param options `what` names the attempt in errors (default `ping "HOST"`)
   * @throws {RegistryError} when the registry cannot be reached (status 0) or refuses (e.g. 401)
   */
  async ping(options: { what?: string } = {}): Promise<void> {
    const response = await this.client.send({
      registry: this.registry,
      path: "",
      scopes: [],
      expect: [200],
      what: options.what ?? `ping "${this.registry}"`,
    });
    await response.body?.cancel();
  }

  /**
   * Lists every repository (`/v2/_catalog`), across all pages (bounded as tag listings).
   *
   * @param options `pageSize` asks for pages of that many
   */
  async repositories(options: { pageSize?: number } = {}): Promise<string[]> {
    const query = options.pageSize ? `?n=${options.pageSize}` : "";
    return strings(
      await readListing<{ repositories?: string[] | null }>(this.client, {
        registry: this.registry,
        path: `/v2/_catalog${query}`,
        scopes: ["registry:catalog:*"],
        what: `list the repositories of "${this.registry}"`,
        entries: (page) => page.repositories,
      }),
    );
  }

  /** Opens one of its repositories. */
  repository(name: string, options: { pageSize?: number } = {}): Repository {
    return new Repository(this.client, { registry: this.registry, repository: name }, options);
  }
}

/** A repository of a registry: its blobs, manifests, tags and referrers, and a Store. */
export class Repository implements Store {
  /** The client every request goes through (shared, so tokens are reused). */
  readonly client: RegistryClient;
  /** The registry host. */
  readonly registry: string;
  /** The repository path, e.g. `kcl-lang/k8s`. */
  readonly repository: string;
  /** Its blobs: exists, stat, open, push, delete. */
  readonly blobs: RepositoryBlobs;
  /** Its manifests: fetch, head, push, delete. */
  readonly manifests: RepositoryManifests;
  #referrersApi?: Promise<boolean>;
  #pageSize?: number;
  /** The running update of each `sha256-<hex>` fallback index: updates of one index run one at a time. */
  #fallbackUpdates = new Map<string, Promise<void>>();

  /**
   * @param client the registry client
   * @param ref registry host and repository (a Reference's tag and digest are ignored)
   * @param options `pageSize` asks for tag lists in pages of that many (all pages are read)
   */
  constructor(client: RegistryClient, ref: Reference, options: { pageSize?: number } = {}) {
    this.client = client;
    this.registry = ref.registry;
    this.repository = ref.repository;
    this.#pageSize = options.pageSize;
    this.blobs = new RepositoryBlobs(this);
    this.manifests = new RepositoryManifests(this);
  }

  /** `host/repository`. */
  get name(): string {
    return repositoryName(this);
  }

  /** The reference of a tag or digest in this repository. */
  reference(target: string): Reference {
    const repo = { registry: this.registry, repository: this.repository };
    return isDigest(target) ? { ...repo, digest: target } : { ...repo, tag: target };
  }

  /**
   * Deletes a blob or a manifest by digest (`DELETE /v2/<name>/<kind>/<digest>`): the one DELETE behind
   * `blobs.delete` and `manifests.delete`.
   *
   * @param what names the attempt in errors
   * @throws {RegistryError} when the registry refuses (405 when deletion is off)
   */
  async deleteByDigest(kind: "blobs" | "manifests", digest: Digest, what: string): Promise<void> {
    const response = await this.client.send({
      registry: this.registry,
      repository: this.repository,
      method: "DELETE",
      path: `${this.repository}/${kind}/${digest}`,
      scopes: [repositoryScope(this.repository, ["delete"])],
      expect: [202, 200],
      what,
    });
    await response.body?.cancel();
  }

  /** Resolves a tag or digest with a HEAD (GET when the registry omits the digest or media type). */
  async resolve(reference: string): Promise<Descriptor> {
    const found = await this.manifests.head(reference);
    if (!found) {
      throw new RegistryError(
        `Cannot find manifest "${formatReference(this.reference(reference))}": not found`,
        {
          status: 404,
          code: "MANIFEST_UNKNOWN",
          registry: this.registry,
          repository: this.repository,
        },
      );
    }
    return found.mediaType ? found : (await this.manifests.fetch(reference)).descriptor;
  }

  /** Fetches a manifest by tag, digest or descriptor. */
  async fetchManifest(reference: string | Descriptor): Promise<FetchedManifest> {
    return await this.manifests.fetch(typeof reference === "string" ? reference : reference.digest);
  }

  /** Opens a verified blob stream (manifests are fetched through the manifests endpoint). */
  async fetchBlob(descriptor: Descriptor): Promise<ReadableStream<Uint8Array>> {
    if (isManifestMediaType(descriptor.mediaType)) {
      const { bytes } = await this.fetchManifest(descriptor);
      return new Blob([bytes as Uint8Array<ArrayBuffer>]).stream();
    }
    const { body } = await this.blobs.open(descriptor.digest);
    return body.pipeThrough(new VerifyingStream(descriptor, `blob "${descriptor.digest}" of "${this.name}"`));
  }

  /** Downloads a blob with Range resume, verified and renamed into place. */
  async downloadBlob(
    descriptor: Descriptor,
    path: string,
    options: { onProgress?: ProgressCallback } = {},
  ): Promise<void> {
    await downloadBlob(this, descriptor, path, options);
  }

  /** HEAD of the blob or manifest. */
  async exists(descriptor: Descriptor): Promise<boolean> {
    if (isManifestMediaType(descriptor.mediaType)) {
      return (await this.manifests.head(descriptor.digest)) !== undefined;
    }
    return await this.blobs.exists(descriptor.digest);
  }

  /** HEAD of a blob: its size from Content-Length, or undefined on 404. */
  async statBlob(digest: Digest): Promise<Descriptor | undefined> {
    return await this.blobs.stat(digest);
  }

  /**
   * Uploads a blob unless present (one HEAD), mounting it from `options.from` when that is a repository of
   * the same registry.
   */
  async pushBlob(
    descriptor: Descriptor,
    content: BlobContent,
    options: StorePushBlobOptions = {},
  ): Promise<UploadOutcome> {
    const from = options.from instanceof Repository && options.from.registry === this.registry
      ? options.from.repository
      : undefined;
    return await this.blobs.push(descriptor, content, { mountFrom: from, onProgress: options.onProgress });
  }

  /**
   * Hashes content and uploads it unless present; from HASH_WHILE_UPLOADING_FROM bytes up the upload runs while
   * the content is hashed (uploadWhileHashing).
   */
  async pushUnhashedBlob(
    base: Pick<Descriptor, "mediaType" | "annotations">,
    content: UnhashedContent,
    options: StorePushBlobOptions = {},
  ): Promise<PushedBlob> {
    if (content.size < HASH_WHILE_UPLOADING_FROM) return await hashThenPush(this, base, content, options);
    return await uploadWhileHashing(this, base, content, { onProgress: options.onProgress });
  }

  /** Uploads a manifest (by tag or digest) and keeps the referrers tag-schema index when needed. */
  async pushManifest(bytes: Uint8Array, mediaType: string, options: { tag?: string } = {}) {
    const descriptor = await this.manifests.push(bytes, mediaType, options);
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

  /** Tags a manifest: fetches its bytes by digest and PUTs them under the tag. */
  async tag(descriptor: Descriptor, tag: string): Promise<void> {
    const { bytes, descriptor: fetched } = await this.fetchManifest(descriptor);
    await this.manifests.push(bytes, fetched.mediaType, { tag });
  }

  /**
   * Lists every tag, across all pages (at most MAX_PAGES pages and MAX_ENTRIES tags of lib/oci/listing.ts).
   *
   * @param options `pageSize` asks the registry for pages of that many tags (default: the constructor's)
   */
  async tags(options: { pageSize?: number } = {}): Promise<string[]> {
    const pageSize = options.pageSize ?? this.#pageSize;
    const query = pageSize ? `?n=${pageSize}` : "";
    return strings(
      await readListing<{ tags?: string[] | null }>(this.client, {
        registry: this.registry,
        repository: this.repository,
        path: `/v2/${this.repository}/tags/list${query}`,
        scopes: [repositoryScope(this.repository, ["pull"])],
        what: `list tags of "${this.name}"`,
        entries: (page) => page.tags,
      }),
    );
  }

  /**
   * Lists the referrers of a manifest: the referrers API across its pages (bounded as tags), or the
   * `sha256-<hex>` tag schema when the registry has no such API.
   *
   * @param options `artifactType` filters the result
   */
  async referrers(
    subject: Pick<Descriptor, "digest">,
    options: { artifactType?: string } = {},
  ): Promise<Descriptor[]> {
    const query = options.artifactType ? `?artifactType=${encodeURIComponent(options.artifactType)}` : "";
    let all = await readListing<ImageIndex>(this.client, {
      registry: this.registry,
      repository: this.repository,
      path: `/v2/${this.repository}/referrers/${subject.digest}${query}`,
      headers: { Accept: OCI_INDEX },
      scopes: [repositoryScope(this.repository, ["pull"])],
      what: `list referrers of "${formatReference(this.reference(subject.digest))}"`,
      entries: (page) =>
        Array.isArray(page.manifests)
          ? page.manifests.map((d, i) => checkDescriptor(d, `referrer ${i}`))
          : page.manifests,
      absent: (response) => !isReferrersAnswer(response),
    }) as Descriptor[] | undefined;
    if (!all) {
      const tag = subject.digest.replace(":", "-");
      if (!(await this.manifests.head(tag))) return [];
      all = ((await this.manifests.fetch(tag)).manifest as ImageIndex).manifests ?? [];
    }
    return options.artifactType ? all.filter((d) => d.artifactType === options.artifactType) : all;
  }

  /** Whether the registry serves the referrers API (asked once per repository). */
  #hasReferrersApi(subject: Descriptor): Promise<boolean> {
    this.#referrersApi ??= (async () => {
      const response = await this.client.send({
        registry: this.registry,
        repository: this.repository,
        path: `${this.repository}/referrers/${subject.digest}`,
        headers: { Accept: OCI_INDEX },
        scopes: [repositoryScope(this.repository, ["pull"])],
        expect: [200, 400, 404, 405],
        what: `list referrers of "${this.name}@${subject.digest}"`,
      });
      await response.body?.cancel();
      return isReferrersAnswer(response);
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
    let index: ImageIndex = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
    if (await this.manifests.head(tag)) {
      const fetched = await this.manifests.fetch(tag);
      if (isIndex(fetched.manifest)) index = fetched.manifest;
    }
    if (index.manifests.some((d) => d.digest === entry.digest)) return;
    index = { ...index, manifests: [...index.manifests, entry] };
    await this.manifests.push(new TextEncoder().encode(JSON.stringify(index)), OCI_INDEX, { tag });
  }
}

/** A referrers API answer: 200 with an OCI index (anything else means the registry has no such API). */
function isReferrersAnswer(response: Response): boolean {
  return response.status === 200 && !!response.headers.get("Content-Type")?.startsWith(OCI_INDEX);
}
