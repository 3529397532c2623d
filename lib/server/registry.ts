/**
 * kpm's embedded OCI registry: the distribution API v1.1 over a folder, with optional accounts (Basic and a
 * Bearer token endpoint) and access rules, TLS (HTTP/2 through ALPN), deletes when enabled, Prometheus
 * metrics, access logs, upload expiry, a bounded drain on close, and a pull-through cache mode. `kpm registry
 * serve`, the demo and the tests start it with `startRegistry`.
 *
 * @module
 */

import type { AccessRules } from "./access_rules.ts";
import { RegistryMetrics } from "./metrics.ts";
import type { ProxyCache } from "./proxy_cache.ts";
import { RegistryAuth, type RegistryUser } from "./registry_auth.ts";
import { DistributionError, errorResponse } from "./registry_errors.ts";
import { rawTarget, route, routeLabel, type RouterDeps } from "./registry_router.ts";
import { ServerStorage } from "./storage.ts";
import { UploadSessions } from "./uploads.ts";

/** Options of startRegistry. */
export interface RegistryOptions {
  /** Address to listen on (default 127.0.0.1). */
  hostname?: string;
  /** Port (default 0: a free port). */
  port?: number;
  /** The storage folder (created when missing); data survives restarts. */
  root: string;
  /** Accounts; with none, no htpasswd and no rules, access is anonymous and unrestricted. */
  users?: RegistryUser[];
  /** Path of an htpasswd file with bcrypt entries (`htpasswd -B`). */
  htpasswd?: string;
  /** What each account and anonymous callers may do (see access_rules.ts). */
  rules?: AccessRules;
  /** Allow deletes of manifests, tags and blobs (default false, as distribution). */
  delete?: boolean;
  /** PEM certificate chain and key: serve HTTPS (and HTTP/2). */
  tls?: { cert: string; key: string };
  /** How long an untouched upload lives (default one hour). */
  uploadTtlMs?: number;
  /** How long `close()` waits for requests in flight before it drops them (default 30 s). */
  drainMs?: number;
  /** Pull-through cache mode: the upstream to fetch what the folder lacks from. */
  proxy?: (storage: ServerStorage) => ProxyCache;
  /** Receives one access-log line per request (and internal errors). */
  log?: (line: string) => void;
  /** Access-log lines as JSON documents instead of text. */
  logJson?: boolean;
}

/** A running registry. */
export interface RunningRegistry {
  /** The port it listens on. */
  port: number;
  /** `HOST:PORT`, e.g. `127.0.0.1:5000`. */
  host: string;
  /** `http://HOST:PORT` (`https://` with TLS). */
  url: string;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
  /**
   * Stops: answers new requests 503, waits (bounded by `drainMs`) for those in flight, then closes every
   * connection, drops unfinished uploads and releases the folder.
   */
  close(): Promise<void>;
}

const API_VERSION = "registry/2.0";
/** Default bound of the drain on close. */
export const DEFAULT_DRAIN_MS = 30_000;
/** How long a computed storage size is reused by /metrics. */
const STORAGE_SIZE_CACHE_MS = 10_000;

/**
 * Starts the registry.
 *
 * @param options where to listen, the storage folder, accounts and a request log
 * @returns the running registry (`host`, `url`, `close`)
 * @throws {Error} when the folder cannot be created, the htpasswd file is invalid, or the port is taken
 * @example
 * const registry = await startRegistry({ root: "./registry-data", users: [{ username: "test", password: "1234" }] });
 * console.log(registry.url); // http://127.0.0.1:40123
 * await registry.close();
 */
export async function startRegistry(options: RegistryOptions): Promise<RunningRegistry> {
  const storage = new ServerStorage(options.root);
  const lock = await storage.init();
  try {
    return await serveStorage(storage, lock, options);
  } catch (error) {
    lock.close();
    throw error;
  }
}

/** The lines of the access log: text (`from user METHOD path status ms`) or one JSON document. */
function accessLine(json: boolean, entry: Record<string, string | number>): string {
  if (json) return JSON.stringify(entry);
  return `${entry.remote} ${entry.user} ${entry.method} ${entry.path} ${entry.status} ${entry.ms}ms`;
}

/** Answers a request that failed: the spec's JSON error, and a log line for an internal failure. */
async function failure(request: Request, error: unknown, log?: (line: string) => void): Promise<Response> {
  const path = rawTarget(request.url).path;
  if (!(error instanceof DistributionError)) {
    log?.(`error: ${request.method} ${path}: ${(error as Error).message}`);
  }
  const refusal = error instanceof DistributionError
    ? error
    : new DistributionError("UNKNOWN", `Cannot ${request.method} "${path}": ${(error as Error).message}`);
  await request.body?.cancel().catch(() => {});
  return errorResponse(refusal, request.method === "HEAD");
}

/** Requests being answered, each until its response is sent (Deno's `info.completed`). */
class InFlight {
  #requests = new Set<Promise<void>>();

  /** How many there are. */
  get size(): number {
    return this.#requests.size;
  }

  /** Tracks one request until `completed` settles. */
  add(completed: Promise<void>): void {
    const done = completed.catch(() => {});
    this.#requests.add(done);
    done.then(() => this.#requests.delete(done));
  }

  /** Waits for the requests there are now, at most `ms`; true when they all ended. */
  async drained(ms: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), ms));
    const all = Promise.all([...this.#requests]).then(() => true);
    const drained = await Promise.race([all, limit]);
    clearTimeout(timer);
    return drained;
  }
}

/** The storage's size for /metrics, recomputed at most every STORAGE_SIZE_CACHE_MS. */
function storageSizeGauge(storage: ServerStorage): () => Promise<number> {
  let at = -Infinity;
  let bytes = 0;
  return async () => {
    if (performance.now() - at > STORAGE_SIZE_CACHE_MS) {
      bytes = await storage.size();
      at = performance.now();
    }
    return bytes;
  };
}

/** `HOST:PORT` clients use for a listening address (loopback for "every interface"). */
function displayHost(addr: Deno.NetAddr): string {
  const hostname = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const shown = hostname === "0.0.0.0" ? "127.0.0.1" : hostname === "[::]" ? "[::1]" : hostname;
  return `${shown}:${addr.port}`;
}

/** A registry being served: its request handler, counters and stop sequence. */
class RegistryServer {
  readonly deps: RouterDeps;
  #options: RegistryOptions;
  #lock: Deno.FsFile;
  #metrics: RegistryMetrics;
  #storageBytes: () => Promise<number>;
  #inFlight = new InFlight();
  #draining = false;
  #abort = new AbortController();
  #server?: Deno.HttpServer<Deno.NetAddr>;

  constructor(deps: RouterDeps, options: RegistryOptions, lock: Deno.FsFile, metrics: RegistryMetrics) {
    this.deps = deps;
    this.#metrics = metrics;
    this.#options = options;
    this.#lock = lock;
    this.#storageBytes = storageSizeGauge(deps.storage);
  }

  /** Starts listening; returns the server. */
  listen(): Deno.HttpServer<Deno.NetAddr> {
    this.#server = Deno.serve({
      hostname: this.#options.hostname ?? "127.0.0.1",
      port: this.#options.port ?? 0,
      signal: this.#abort.signal,
      onListen() {},
      ...(this.#options.tls ?? {}),
    }, (request, info) => this.#handle(request, info));
    this.deps.uploads.startExpiry();
    return this.#server;
  }

  /**
   * Answers new requests 503, waits for those in flight (bounded), then closes every connection, drops the
   * uploads and releases the folder.
   */
  async stop(): Promise<void> {
    const server = this.#server!;
    this.#draining = true;
    // Drained: a graceful shutdown lets the last responses reach their clients. Not drained: the abort signal
    // closes every connection at once (shutdown would wait for them without bound).
    if (await this.#inFlight.drained(this.#options.drainMs ?? DEFAULT_DRAIN_MS)) await server.shutdown();
    else this.#abort.abort();
    await server.finished;
    await this.deps.uploads.cancelAll();
    this.#lock.close();
  }

  async #handle(request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>): Promise<Response> {
    const started = performance.now();
    this.#inFlight.add(info.completed);
    const { log, logJson = false } = this.#options;
    const seen: { remote: string; caller?: string } = { remote: info.remoteAddr.hostname };
    const response = await this.#answer(request, seen).catch((error) => failure(request, error, log));
    response.headers.set("Docker-Distribution-API-Version", API_VERSION);
    const { method } = request;
    const path = rawTarget(request.url).path;
    const bytesOut = Number(response.headers.get("Content-Length") ?? 0) || 0;
    this.#metrics.record({ route: routeLabel(path), method, status: response.status, bytesOut });
    if (log) {
      const { remote } = seen;
      const ms = (performance.now() - started).toFixed(1);
      const time = new Date().toISOString();
      const user = seen.caller ?? "-";
      log(accessLine(logJson, { time, remote, user, method, path, status: response.status, ms, bytesOut }));
    }
    return response;
  }

  async #answer(request: Request, seen: { remote: string; caller?: string }): Promise<Response> {
    if (this.#draining) {
      throw new DistributionError("UNAVAILABLE", "The registry is shutting down", {
        headers: { "Connection": "close", "Retry-After": "1" },
      });
    }
    if (rawTarget(request.url).path === "/metrics" && request.method === "GET") {
      const text = this.#metrics.render({
        uploadsInFlight: this.deps.uploads.size,
        requestsInFlight: this.#inFlight.size,
        storageBytes: await this.#storageBytes(),
      });
      return new Response(text, { headers: { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" } });
    }
    return await route(request, this.deps, seen);
  }
}

async function serveStorage(
  storage: ServerStorage,
  lock: Deno.FsFile,
  options: RegistryOptions,
): Promise<RunningRegistry> {
  const { users, htpasswd, rules } = options;
  const metrics = new RegistryMetrics();
  const received = (bytes: number) => metrics.received(bytes);
  const deps: RouterDeps = {
    storage,
    uploads: new UploadSessions(storage, { ttlMs: options.uploadTtlMs, onReceived: received }),
    received,
    auth: await RegistryAuth.create({ users, htpasswd, rules }),
    delete: options.delete ?? false,
    scheme: options.tls ? "https" : "http",
    proxy: options.proxy?.(storage),
  };
  const registry = new RegistryServer(deps, options, lock, metrics);
  const server = registry.listen();
  let closing: Promise<void> | undefined;
  const host = displayHost(server.addr);
  return {
    port: server.addr.port,
    host,
    url: `${deps.scheme}://${host}`,
    finished: server.finished,
    close() {
      closing ??= registry.stop();
      return closing;
    },
  };
}
