/**
 * The chart-repository adapter: serves a Helm chart repository (`index.yaml` and `charts/NAME-VERSION.tgz`)
 * whose content is the Helm chart artifacts of an OCI registry.
 *
 * Unlike the original oci-chartrepo (cache filled once at start, never refreshed), tags are re-listed when the
 * index is older than `refreshSeconds` or on request, while manifests and configs are cached by digest.
 *
 * @module
 */

import type { RegistryClient } from "../oci/client.ts";
import { digestHex, digestOf } from "../oci/digest.ts";
import type { Descriptor } from "../oci/manifest.ts";
import { RegistryError } from "../oci/registry_error.ts";
import { Registry } from "../oci/repository.ts";
import {
  type ChartCatalog,
  ChartIndexer,
  type ChartRecord,
  type ChartSource,
  firstLine,
  registryChartSource,
} from "./chart_index.ts";
import { type RenderedIndex, renderIndex } from "./chart_index_yaml.ts";

/** Options of startChartRepo. */
export interface ChartRepoOptions {
  /** Address to listen on (default `0.0.0.0`). */
  hostname?: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** The registry holding the charts: `HOST[:PORT]`. */
  registry: string;
  /** `http`, `https`, or empty to try https and then http (used only when `client` is a factory). */
  scheme?: ChartRepoScheme;
  /**
   * The registry client, or a factory that makes one for a scheme: `http` (plain HTTP), `https` (https only,
   * loopback included) or empty (https, with the client's own http fallback for loopback registries).
   */
  client: RegistryClient | ((scheme: ChartRepoScheme) => RegistryClient);
  /** How old index.yaml may get before tags are listed again (default 30 s). */
  refreshSeconds?: number;
  /** Registry requests in flight at once while indexing (default 16). */
  concurrency?: number;
  /** Receives diagnostics (skipped repositories, failures, the scheme chosen). */
  log?: (line: string) => void;
  /** Clock, for tests. */
  now?: () => Date;
}

/** How the chart repository reaches its registry: `http`, `https`, or empty to find out. */
export type ChartRepoScheme = "http" | "https" | "";

/** A running chart repository. */
export interface ChartRepoServer {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  port: number;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
  /** Stops accepting connections and waits for requests in flight. */
  close(): Promise<void>;
}

/**
 * Picks the client for the configured scheme (`http`/`https`, either case, always honoured); with an empty
 * scheme, pings `/v2/` over https and falls back to http when https cannot connect at all (any HTTP answer,
 * even 401, means the scheme works). The answer holds for the life of the server.
 *
 * @throws {RegistryError} when neither scheme reaches the registry
 */
export async function connectRegistry(
  options: Pick<ChartRepoOptions, "client" | "scheme" | "registry" | "log">,
): Promise<RegistryClient> {
  const { client, registry } = options;
  if (typeof client !== "function") return client;
  const scheme = (options.scheme ?? "").toLowerCase();
  if (scheme === "http" || scheme === "https") return client(scheme);
  const https = client("");
  const overHttps = await unreachable(https, registry);
  if (overHttps === undefined) return https;
  options.log?.(`cannot reach "${registry}" over https; trying http`);
  const http = client("http");
  const overHttp = await unreachable(http, registry);
  if (overHttp === undefined) {
    options.log?.(`reaching "${registry}" over http from now on`);
    return http;
  }
  throw new RegistryError(
    `Cannot reach registry "${registry}" over https (${overHttps}) or http (${overHttp})`,
    { status: 0, registry },
  );
}

/** Pings the registry: undefined when it answers at all, else why it cannot be reached. */
async function unreachable(client: RegistryClient, registry: string): Promise<string | undefined> {
  try {
    await new Registry(client, registry).ping();
    return undefined;
  } catch (error) {
    if (error instanceof RegistryError && error.status !== 0) return undefined;
    return firstLine(error);
  }
}

interface Snapshot extends RenderedIndex {
  etag: string;
  builtAt: number;
}

/**
 * Starts the chart repository.
 *
 * Routes: `GET /index.yaml` (`?refresh=1` re-lists now; ETag and If-None-Match), `POST /refresh`,
 * `GET /charts/NAME-VERSION.tgz` and `.tgz.prov` (streamed from the registry, digest-verified on the fly),
 * `GET /healthz`.
 *
 * @returns the running server; call `close()` to stop it
 * @throws {RegistryError} when the registry cannot be reached with an empty scheme
 * @example
 * const repo = await startChartRepo({ port: 8080, registry: "localhost:5000", client: new RegistryClient() });
 */
export async function startChartRepo(options: ChartRepoOptions): Promise<ChartRepoServer> {
  const log = options.log ?? (() => {});
  const client = await connectRegistry({ ...options, log });
  const source = registryChartSource(client, options.registry);
  const repo = new ChartRepo(client, options.registry, source, {
    refreshMs: (options.refreshSeconds ?? 30) * 1000,
    concurrency: options.concurrency,
    log,
    now: options.now ?? (() => new Date()),
  });
  const controller = new AbortController();
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: options.hostname ?? "0.0.0.0",
    port: options.port,
    signal: controller.signal,
    onListen: (addr) => resolve(addr as Deno.NetAddr),
  }, (request) => repo.handle(request));
  const addr = await listening;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  repo.index(false).catch(() => {}); // warm the cache; failures are logged and retried on request
  return {
    url: `http://${host}:${addr.port}`,
    port: addr.port,
    finished: server.finished,
    close: async () => {
      controller.abort();
      await server.finished;
    },
  };
}

class ChartRepo {
  #client: RegistryClient;
  #registry: string;
  #indexer: ChartIndexer;
  #refreshMs: number;
  #log: (line: string) => void;
  #now: () => Date;
  #snapshot?: Snapshot;
  #building?: Promise<Snapshot>;
  #queued?: Promise<Snapshot>;

  constructor(
    client: RegistryClient,
    registry: string,
    source: ChartSource,
    options: { refreshMs: number; concurrency?: number; log: (line: string) => void; now: () => Date },
  ) {
    this.#client = client;
    this.#registry = registry;
    this.#refreshMs = options.refreshMs;
    this.#log = options.log;
    this.#now = options.now;
    this.#indexer = new ChartIndexer(source, {
      concurrency: options.concurrency,
      log: options.log,
      now: options.now,
    });
  }

  async handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const path = safeDecode(url.pathname);
    const read = request.method === "GET" || request.method === "HEAD";
    try {
      if (path === "/healthz") return read ? this.#health() : notAllowed("GET");
      if (path === "/index.yaml") {
        if (!read) return notAllowed("GET");
        const refresh = url.searchParams.get("refresh");
        return await this.#serveIndex(request, refresh !== null && refresh !== "0" && refresh !== "false");
      }
      if (path === "/refresh") {
        if (request.method !== "POST") return notAllowed("POST");
        const snapshot = await this.index(true);
        return text(200, `indexed ${snapshot.files.size} chart versions`);
      }
      if (path.startsWith("/charts/")) {
        if (!read) return notAllowed("GET");
        return await this.#serveChart(request, path.slice("/charts/".length));
      }
      if (path === "/") return text(200, "kpm chart repository: add it with `helm repo add NAME URL`");
      return text(404, `Not found: "${path}"`);
    } catch (error) {
      const message = firstLine(error);
      this.#log(`${request.method} ${path}: ${message}`);
      return text(502, `Cannot answer ${request.method} ${path}: ${message}`);
    }
  }

  /** The current index, re-listing tags when stale or when `force` (a forced build starts after the request). */
  index(force: boolean): Promise<Snapshot> {
    const fresh = this.#snapshot && this.#now().getTime() - this.#snapshot.builtAt < this.#refreshMs;
    if (!force && fresh) return Promise.resolve(this.#snapshot!);
    if (!this.#building) return this.#start();
    if (!force) return this.#building;
    this.#queued ??= this.#building.catch(() => {}).then(() => {
      this.#queued = undefined;
      return this.#start();
    });
    return this.#queued;
  }

  #start(): Promise<Snapshot> {
    const building = this.#build().finally(() => {
      if (this.#building === building) this.#building = undefined;
    });
    this.#building = building;
    return building;
  }

  async #build(): Promise<Snapshot> {
    let catalog: ChartCatalog;
    try {
      catalog = await this.#indexer.walk();
    } catch (error) {
      this.#log(`cannot index "${this.#registry}": ${firstLine(error)}`);
      if (this.#snapshot) return this.#snapshot; // serve the last good index while the registry is away
      throw error;
    }
    const now = this.#now();
    const rendered = renderIndex(catalog.charts, now.toISOString(), { previous: this.#snapshot });
    for (const [file, message] of rendered.conflicts) {
      if (this.#snapshot?.conflicts.get(file) !== message) this.#log(`error: ${message}`);
    }
    const etag = `"${digestHex(digestOf(rendered.body)).slice(0, 32)}"`;
    this.#snapshot = { ...rendered, etag, builtAt: now.getTime() };
    return this.#snapshot;
  }

  async #serveIndex(request: Request, force: boolean): Promise<Response> {
    const snapshot = await this.index(force);
    const headers = { "ETag": snapshot.etag, "Cache-Control": "no-cache" };
    if (matchesEtag(request.headers.get("If-None-Match"), snapshot.etag)) {
      return new Response(null, { status: 304, headers });
    }
    return new Response(request.method === "HEAD" ? null : snapshot.body, {
      headers: { ...headers, "Content-Type": "application/x-yaml; charset=utf-8" },
    });
  }

  async #serveChart(request: Request, file: string): Promise<Response> {
    const prov = file.endsWith(".tgz.prov");
    const chartFile = prov ? file.slice(0, -".prov".length) : file;
    if (!chartFile.endsWith(".tgz") || chartFile.includes("/")) {
      return text(404, `Not found: "charts/${file}": expected charts/NAME-VERSION.tgz or .tgz.prov`);
    }
    const chart = await this.#findChart(chartFile);
    if (!chart) return text(404, `Chart "${chartFile}" is not in registry "${this.#registry}"`);
    if ("conflict" in chart) return text(409, `Cannot serve "${chartFile}": ${chart.conflict}`);
    const layer = prov ? chart.provenance : chart.chart;
    if (!layer) return text(404, `Chart "${chartFile}" has no provenance file`);
    const headers = {
      "Content-Type": prov ? "application/pgp-signature" : "application/gzip",
      "Content-Length": String(layer.size),
      "ETag": `"${layer.digest}"`,
    };
    if (matchesEtag(request.headers.get("If-None-Match"), headers.ETag)) {
      return new Response(null, { status: 304, headers });
    }
    if (request.method === "HEAD") return new Response(null, { headers });
    return new Response(await this.#open(chart.repository, layer), { headers });
  }

  async #open(repository: string, layer: Descriptor): Promise<ReadableStream<Uint8Array>> {
    const verified = await new Registry(this.#client, this.#registry).repository(repository).fetchBlob(layer);
    return holdLastChunk(verified, (error) => this.#log(`aborted a download: ${(error as Error).message}`));
  }

  /**
   * Finds where a chart file is stored, from the index alone: the file names a repository and tag, whose tag
   * is resolved again on each download (so a download always matches the registry). A file the index does not
   * name costs no registry request unless the index is stale, when it is rebuilt first, as a request for
   * index.yaml would (one shared build, at most once per refresh interval however many names are asked for).
   * A file the index left out because several repositories hold it stays refused.
   */
  async #findChart(file: string): Promise<ChartRecord | { conflict: string } | undefined> {
    let snapshot = this.#snapshot ?? await this.index(false);
    if (!snapshot.files.has(file) && !snapshot.conflicts.has(file)) snapshot = await this.index(false);
    const conflict = snapshot.conflicts.get(file);
    if (conflict) return { conflict };
    const indexed = snapshot.files.get(file);
    return indexed && await this.#indexer.lookup(indexed.repository, indexed.tag);
  }

  /** `200 ok`, followed by one `error:` line per chart file left out of the index as ambiguous. */
  #health(): Response {
    const errors = [...this.#snapshot?.conflicts.values() ?? []].map((message) => `\nerror: ${message}`);
    return text(200, `ok${errors.join("")}`);
  }
}

/**
 * Passes a stream on one chunk behind, so that the last chunk goes out only once the source has ended
 * cleanly. When the source fails (e.g. the digest does not match), the body ends short of its Content-Length,
 * so the client sees a broken download instead of a complete, wrong file (and the server prints nothing).
 */
function holdLastChunk(
  source: ReadableStream<Uint8Array>,
  onError: (error: unknown) => void,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let held: Uint8Array | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        while (true) {
          const { value, done } = await reader.read();
          if (done) {
            if (held) controller.enqueue(held);
            controller.close();
            return;
          }
          const previous = held;
          held = value;
          if (previous) return controller.enqueue(previous);
        }
      } catch (error) {
        onError(error);
        controller.close();
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

function text(status: number, body: string): Response {
  return new Response(`${body}\n`, { status, headers: { "Content-Type": "text/plain; charset=utf-8" } });
}

function notAllowed(allow: string): Response {
  return new Response("Method not allowed\n", { status: 405, headers: { Allow: allow } });
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** If-None-Match: a list of (possibly weak) entity tags, or `*`. */
function matchesEtag(header: string | null, etag: string): boolean {
  if (!header) return false;
  return header.split(",").map((t) => t.trim().replace(/^W\//, "")).some((t) => t === "*" || t === etag);
}
