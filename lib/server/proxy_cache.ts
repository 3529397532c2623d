/**
 * The pull-through cache of the embedded registry (`kpm registry serve --proxy URL`): a manifest or blob the
 * folder lacks is fetched from the upstream once, verified (digest, size, manifest checks of lib/oci), stored,
 * and then served from disk. A cached tag is checked against the upstream again (HEAD, digest compared) after
 * the tag TTL; when the upstream cannot be reached, the cached copy is served. Pushes and deletes are refused
 * by the router in this mode.
 *
 * @module
 */

import { join } from "node:path";
import { downloadBlob } from "../oci/blobs.ts";
import type { RegistryClient } from "../oci/client.ts";
import { type Digest, isDigest } from "../oci/digest.ts";
import { fetchManifest, headManifest } from "../oci/manifests.ts";
import { repositoryScope } from "../oci/auth/scope.ts";
import { RegistryError } from "../oci/registry_error.ts";
import { DistributionError } from "./registry_errors.ts";
import type { RegistryStorage } from "./storage.ts";

/** Default time a cached tag is trusted before it is checked against the upstream again. */
export const DEFAULT_PROXY_TAG_TTL_MS = 5 * 60 * 1000;
/** After the upstream failed to answer, how long requests do not wait for it (the cache answers alone). */
const UPSTREAM_DOWN_MS = 10_000;

/** Options of ProxyCache. */
export interface ProxyCacheOptions {
  /** The upstream registry host, e.g. `ghcr.io` or `127.0.0.1:5000`. */
  registry: string;
  /** The client that reaches it (credentials, plain HTTP, retries). */
  client: RegistryClient;
  /** How long a cached tag is trusted (default five minutes). */
  tagTtlMs?: number;
  now?: () => number;
  /** Receives a line when the upstream fails and the cache answers alone. */
  log?: (line: string) => void;
}

/** Fetches what the storage lacks from an upstream registry. */
export class ProxyCache {
  #storage: RegistryStorage;
  #registry: string;
  #client: RegistryClient;
  #tagTtlMs: number;
  #now: () => number;
  #log?: (line: string) => void;
  /** `name:tag` → when it was last checked against the upstream. */
  #checked = new Map<string, number>();
  /** Fetches in progress, so that concurrent requests for one thing fetch it once. */
  #pending = new Map<string, Promise<void>>();
  /** Until when the upstream is taken as down (it failed to answer). */
  #downUntil = 0;

  /**
   * @param storage the folder the cache fills
   * @param options the upstream `registry` and its `client`, the tag TTL, clock and log
   */
  constructor(storage: RegistryStorage, options: ProxyCacheOptions) {
    this.#storage = storage;
    this.#registry = options.registry;
    this.#client = options.client;
    this.#tagTtlMs = options.tagTtlMs ?? DEFAULT_PROXY_TAG_TTL_MS;
    this.#now = options.now ?? Date.now;
    this.#log = options.log;
  }

  /**
   * Makes sure the storage holds the manifest `reference` of `name` (by digest: fetched once; by tag: checked
   * again after the TTL). Not found upstream: nothing is stored, the caller answers 404.
   *
   * @throws {DistributionError} when the upstream fails and nothing is cached
   */
  async cacheManifest(name: string, reference: string): Promise<void> {
    await this.#once(`manifest ${name}:${reference}`, async () => {
      if (isDigest(reference)) {
        if (!(await this.#storage.hasManifest(name, reference))) await this.#fetchManifest(name, reference);
        return;
      }
      const key = `${name}:${reference}`;
      const cached = await this.#storage.resolve(name, reference);
      const checked = this.#checked.get(key);
      if (cached && checked !== undefined && this.#now() - checked < this.#tagTtlMs) return;
      try {
        this.#checkUp();
        const ref = { registry: this.#registry, repository: name, tag: reference };
        const upstream = await this.#upstream(() => headManifest(this.#client, ref));
        if (upstream && upstream.digest !== cached) await this.#fetchManifest(name, reference);
        this.#checked.set(key, this.#now());
      } catch (error) {
        if (!cached) throw this.#unreachable(`manifest "${name}:${reference}"`, error);
        this.#log?.(`proxy: serving cached "${name}:${reference}": ${(error as Error).message}`);
        this.#checked.set(key, this.#now());
      }
    });
  }

  /**
   * Makes sure the storage holds blob `digest` for `name`, fetching and verifying it from the upstream.
   *
   * @throws {DistributionError} when the upstream fails
   */
  async cacheBlob(name: string, digest: Digest): Promise<void> {
    await this.#once(`blob ${name}@${digest}`, async () => {
      if ((await this.#storage.blobSize(name, digest)) !== undefined) return;
      try {
        this.#checkUp();
        const size = await this.#upstream(() => this.#upstreamBlobSize(name, digest));
        if (size === undefined) return;
        if (!(await this.#storage.contentExists(digest))) {
          const temp = join(this.#storage.uploadsDir, `proxy-${crypto.randomUUID()}`);
          const repo = { registry: this.#registry, repository: name };
          await this.#upstream(() => downloadBlob(this.#client, repo, { digest, size }, temp));
          await this.#storage.adoptContent(temp, digest);
        }
        await this.#storage.linkBlob(name, digest);
      } catch (error) {
        throw this.#unreachable(`blob "${digest}" of "${name}"`, error);
      }
    });
  }

  async #fetchManifest(name: string, reference: string): Promise<void> {
    const ref = isDigest(reference)
      ? { registry: this.#registry, repository: name, digest: reference }
      : { registry: this.#registry, repository: name, tag: reference };
    let fetched;
    try {
      this.#checkUp();
      fetched = await this.#upstream(() => fetchManifest(this.#client, ref));
    } catch (error) {
      if (error instanceof RegistryError && error.status === 404) return;
      throw this.#unreachable(`manifest "${name}:${reference}"`, error);
    }
    await this.#storage.putManifest(name, {
      stored: {
        bytes: fetched.bytes,
        mediaType: fetched.descriptor.mediaType,
        digest: fetched.descriptor.digest,
      },
      manifest: fetched.manifest,
      tag: isDigest(reference) ? undefined : reference,
    });
  }

  /** The upstream's size of a blob (HEAD), or undefined when it does not have it. */
  async #upstreamBlobSize(name: string, digest: Digest): Promise<number | undefined> {
    const response = await this.#client.send({
      registry: this.#registry,
      repository: name,
      method: "HEAD",
      path: `${name}/blobs/${digest}`,
      scopes: [repositoryScope(name, ["pull"])],
      expect: [200, 404],
      what: `look up blob "${digest}" of "${this.#registry}/${name}"`,
    });
    await response.body?.cancel();
    if (response.status === 404) return undefined;
    const size = Number(response.headers.get("Content-Length"));
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new Error(`the upstream gave no valid Content-Length for blob "${digest}"`);
    }
    return size;
  }

  /** Fails at once while the upstream is taken as down. */
  #checkUp(): void {
    const wait = this.#downUntil - this.#now();
    if (wait > 0) throw new Error(`it did not answer; trying again in ${Math.ceil(wait / 1000)} s`);
  }

  /** Runs a request to the upstream; a failure to answer (no status, or 5xx) marks the upstream down. */
  async #upstream<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      if (error instanceof RegistryError && (error.status === 0 || error.status >= 500)) {
        this.#downUntil = this.#now() + UPSTREAM_DOWN_MS;
      }
      throw error;
    }
  }

  #unreachable(what: string, error: unknown): DistributionError {
    if (error instanceof DistributionError) return error;
    return new DistributionError(
      "UNKNOWN",
      `Cannot fetch ${what} from upstream "${this.#registry}": ${(error as Error).message}`,
      {
        status: 502,
      },
    );
  }

  async #once(key: string, task: () => Promise<void>): Promise<void> {
    const running = this.#pending.get(key);
    if (running) return await running;
    const promise = task().finally(() => this.#pending.delete(key));
    this.#pending.set(key, promise);
    await promise;
  }
}
