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
import { partialPath } from "../oci/blobs.ts";
import type { RegistryClient } from "../oci/client.ts";
import { type Digest, isDigest } from "../oci/digest.ts";
import { ifFound } from "../oci/if_found.ts";
import { RegistryError } from "../oci/registry_error.ts";
import { Registry, type Repository } from "../oci/repository.ts";
import type { Descriptor } from "../oci/manifest.ts";
import { isNotFound } from "../oci/store.ts";
import { DistributionError } from "./registry_errors.ts";
import type { ServerStorage } from "./storage.ts";

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
  #storage: ServerStorage;
  #upstreamRegistry: Registry;
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
  constructor(storage: ServerStorage, options: ProxyCacheOptions) {
    this.#storage = storage;
    this.#upstreamRegistry = new Registry(options.client, options.registry);
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
        const upstream = await this.#upstream(() => this.#repository(name).manifests.head(reference));
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
        const found = await this.#upstream(() => this.#repository(name).blobs.stat(digest));
        if (found === undefined) return;
        if (!(await this.#storage.contentExists(digest))) await this.#download(name, found);
        await this.#storage.linkBlob(name, digest);
      } catch (error) {
        throw this.#unreachable(`blob "${digest}" of "${name}"`, error);
      }
    });
  }

  /** Downloads a blob of `name` into the content store; a download that fails leaves no file behind. */
  async #download(name: string, blob: Descriptor): Promise<void> {
    const temp = join(this.#storage.uploadsDir, `proxy-${crypto.randomUUID()}`);
    try {
      await this.#upstream(() => this.#repository(name).downloadBlob(blob, temp));
    } catch (error) {
      // downloadBlob keeps what arrived for a resume, under a name no later request uses
      await ifFound(Deno.remove(partialPath(temp, blob.digest)), undefined);
      throw error;
    }
    await this.#storage.adoptContent(temp, blob.digest);
  }

  /** The upstream's repository `name`. */
  #repository(name: string): Repository {
    return this.#upstreamRegistry.repository(name);
  }

  async #fetchManifest(name: string, reference: string): Promise<void> {
    let fetched;
    try {
      this.#checkUp();
      fetched = await this.#upstream(() => this.#repository(name).manifests.fetch(reference));
    } catch (error) {
      if (isNotFound(error)) return;
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
      `Cannot fetch ${what} from upstream "${this.#upstreamRegistry.registry}": ${(error as Error).message}`,
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
