/**
 * RegistryClient: one place for fetch, authentication (Basic and Bearer with the token cache), credentials
 * only for the registry's own origin (never for a redirect, upload Location or Link on another one), idle
 * timeouts, the https-then-http try of loopback registries, retries with backoff, and error mapping.
 *
 * @module
 */

import { type Challenge, parseChallenges } from "./auth/challenge.ts";
import { basicAuthorization, TokenCache, type TokenRequest } from "./auth/token.ts";
import type { Credential, CredentialLookup } from "./credentials.ts";
import { anySignal } from "./concurrency.ts";
import { isLoopback, registryEndpoint } from "./reference.ts";
import { errorFromResponse, RegistryError } from "./registry_error.ts";
import { DEFAULT_TIMEOUT_MS, describeFetchError, exchange, registryUrl } from "./http.ts";
import { VERSION } from "../version.ts";

/** Options of a RegistryClient. Everything that touches the outside world can be injected. */
export interface RegistryClientOptions {
  /** The fetch every request goes through (a custom Deno.HttpClient for TLS options is bound into it). */
  fetch?: typeof fetch;
  /** Finds credentials for a registry host. */
  credentials?: CredentialLookup;
  /**
   * Use plain HTTP for every registry, or for those the function picks. Otherwise https; a loopback registry
   * that cannot be reached over https is tried over http once, and the answer is remembered (as docker does).
   */
  plainHttp?: boolean | ((registry: string) => boolean);
  /** Never fall back to http, not even for a loopback registry (https was chosen explicitly). */
  httpsOnly?: boolean;
  /** Retries of idempotent requests on 429, 5xx and dropped connections (default 3). */
  retries?: number;
  /** Waits between retries; injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Clock for token expiry. */
  now?: () => number;
  userAgent?: string;
  /** Idle timeout of every request and token request in ms (default 30 s; 0: none). */
  timeoutMs?: number;
  /** Receives one line per request when set (verbose mode). */
  log?: (line: string) => void;
  /** Cancels every request in flight and every later one: they fail with the signal's reason (no retry). */
  signal?: AbortSignal;
}

/** One request to a registry. */
export interface RegistryRequest {
  registry: string;
  /** The repository, for scopes in messages and errors. */
  repository?: string;
  method?: string;
  /** Path after `/v2/`, e.g. `kcl-lang/k8s/manifests/1.28`; `""` for the API root. */
  path?: string;
  /**
   * An absolute or registry-relative URL (e.g. an upload Location) instead of `path`. An absolute URL on
   * another origin gets no credentials.
   */
  url?: string;
  headers?: HeadersInit;
  body?: BodyInit | Uint8Array | null;
  /** Token scopes the request needs, e.g. `repository:x:pull`. */
  scopes: string[];
  /** Statuses that are success; anything else throws a RegistryError. */
  expect: number[];
  /** What is attempted, for errors: `pull manifest "…" from "…"`. */
  what: string;
  /** Retry on 429/5xx/connection errors (default: true for GET/HEAD/PUT/DELETE with a replayable body). */
  retry?: boolean;
  /** Cancels this request alone (the client's own signal cancels every request): it fails with the reason. */
  signal?: AbortSignal;
}

type HostAuth = { scheme: "none" } | { scheme: "basic" } | {
  scheme: "bearer";
  realm: string;
  service?: string;
};

/** The Authorization a request carried, and the token it used (to forget it when refused). */
interface SentAuth {
  header?: string;
  token?: { request: TokenRequest; value: string };
}

/** The retry budget of one request: whether it may be retried, attempts so far, why https failed. */
interface Tries {
  retry: boolean;
  attempt: number;
  httpsFailure?: string;
}

const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);
const MAX_RETRY_AFTER_MS = 30_000;

/** Talks to OCI registries. One instance is shared by all operations of a command, so tokens are reused. */
export class RegistryClient {
  #fetch: typeof fetch;
  #credentials: CredentialLookup;
  #plainHttp: (registry: string) => boolean;
  #httpsOnly: boolean;
  #retries: number;
  #sleep: (ms: number) => Promise<void>;
  #userAgent: string;
  #timeoutMs: number;
  #log?: (line: string) => void;
  #signal?: AbortSignal;
  #tokens: TokenCache;
  #hostAuth = new Map<string, HostAuth>();
  #schemes = new Map<string, "http" | "https">();
  #credentialCache = new Map<string, Promise<Credential | undefined>>();

  /** @param options fetch, credentials, scheme, timeout and retry settings */
  constructor(options: RegistryClientOptions = {}) {
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#credentials = options.credentials ?? (() => Promise.resolve(undefined));
    const plain = options.plainHttp ?? false;
    this.#plainHttp = typeof plain === "function" ? plain : () => plain;
    this.#httpsOnly = options.httpsOnly ?? false;
    this.#retries = options.retries ?? 3;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#userAgent = options.userAgent ?? `kpm/${VERSION}`;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#log = options.log;
    this.#signal = options.signal;
    this.#tokens = new TokenCache({
      fetch: this.#fetch,
      now: options.now,
      userAgent: this.#userAgent,
      timeoutMs: this.#timeoutMs,
    });
  }

  /**
   * The base URL of a registry's API (`https://ghcr.io/v2/`, `http://localhost:5001/v2/`): http when asked,
   * or when a loopback registry answered only over http.
   */
  baseUrl(registry: string): string {
    const scheme = this.#schemes.get(registry) ?? (this.#plainHttp(registry) ? "http" : "https");
    return `${scheme}://${registryEndpoint(registry)}/v2/`;
  }

  /**
   * Sends a request, authenticating on 401, following redirects and retrying as allowed. Credentials go only
   * to the registry's own origin.
   *
   * @returns the response, whose status is one of `expect`
   * @throws {RegistryError} on any other status, when the registry cannot be reached, or when it stalls;
   *   the signal's reason when the client's signal is aborted
   */
  async send(request: RegistryRequest): Promise<Response> {
    const method = request.method ?? "GET";
    const replayable = request.body === undefined || request.body === null ||
      typeof request.body === "string" ||
      request.body instanceof Uint8Array || request.body instanceof URLSearchParams;
    if (!replayable && !this.#hostAuth.has(request.registry)) await this.#learnAuth(request);
    const retry = request.retry ?? (replayable && ["GET", "HEAD", "PUT", "DELETE"].includes(method));
    const tries: Tries = { retry, attempt: 0 };
    let challenged = false;
    while (true) {
      const base = this.baseUrl(request.registry);
      const url = registryUrl(request.url ?? request.path ?? "", base, {
        what: request.what,
        registry: request.registry,
        repository: request.repository,
        source: "refusing",
      });
      const own = url.origin === new URL(base).origin;
      let response: Response;
      let sent: SentAuth = {};
      try {
        sent = own ? await this.#authorization(request) : {};
        response = await this.#exchange(url, method, request, sent.header);
      } catch (error) {
        await this.#afterFetchError(error, request, url, tries);
        continue;
      }
      if (own && !this.#schemes.has(request.registry)) {
        this.#schemes.set(request.registry, url.protocol === "http:" ? "http" : "https");
      }
      if (response.status === 401 && own && !challenged && replayable) {
        challenged = true;
        if (sent.token) this.#tokens.forget(sent.token.request, sent.token.value);
        if (await this.#handleChallenge(request, response)) {
          await response.body?.cancel();
          continue;
        }
      }
      if (RETRY_STATUSES.has(response.status) && retry && tries.attempt < this.#retries) {
        const wait = retryAfter(response) ?? backoff(tries.attempt);
        tries.attempt++;
        await response.body?.cancel();
        this.#log?.(`retrying ${method} ${url.pathname} after ${response.status} in ${wait} ms`);
        await this.#sleep(wait);
        continue;
      }
      if (request.expect.includes(response.status)) return response;
      throw await errorFromResponse(response, request.what, {
        registry: request.registry,
        repository: request.repository,
      });
    }
  }

  /**
   * After a fetch that failed (no answer): falls back to http or waits for a retry, and then the caller tries
   * again; else throws.
   *
   * @throws the signal's reason when aborted; a RegistryError naming the registry when it cannot be reached
   */
  async #afterFetchError(error: unknown, request: RegistryRequest, url: URL, tries: Tries): Promise<void> {
    this.#signal?.throwIfAborted();
    request.signal?.throwIfAborted();
    if (error instanceof RegistryError) throw error;
    const reason = describeFetchError(error);
    if (this.#mayFallBack(request.registry, url)) {
      this.#schemes.set(request.registry, "http");
      this.#log?.(`${request.registry} does not answer over https (${reason}); trying http`);
      tries.httpsFailure = reason;
      return;
    }
    if (tries.retry && tries.attempt < this.#retries && !reason.startsWith("TLS:")) {
      await this.#sleep(backoff(tries.attempt++));
      return;
    }
    throw new RegistryError(
      `Cannot ${request.what}: cannot reach "${request.registry}": ${
        tries.httpsFailure ? `over https: ${tries.httpsFailure}; over http: ${reason}` : reason
      }`,
      { status: 0, registry: request.registry, repository: request.repository, cause: error },
    );
  }

  /**
   * A loopback registry not asked to be plain HTTP, not known to answer over https, failed over https: try
   * http (also when a concurrent request found that out first), unless https was chosen explicitly.
   */
  #mayFallBack(registry: string, url: URL): boolean {
    return url.protocol === "https:" && isLoopback(registry) && this.#schemes.get(registry) !== "https" &&
      !this.#plainHttp(registry) && !this.#httpsOnly;
  }

  /** Pings `/v2/` so that the host's auth scheme is known before a request whose body cannot be replayed. */
  async #learnAuth(request: RegistryRequest): Promise<void> {
    const response = await this.send({
      registry: request.registry,
      repository: request.repository,
      method: "GET",
      path: "",
      scopes: request.scopes,
      expect: [200, 401, 404],
      what: request.what,
    });
    await response.body?.cancel();
    // an open registry: remembered, so that the next streamed request does not ping again
    if (response.status === 200 && !this.#hostAuth.has(request.registry)) {
      this.#hostAuth.set(request.registry, { scheme: "none" });
    }
  }

  /** Records the host's auth scheme from a 401; returns true when a retry can succeed. */
  async #handleChallenge(request: RegistryRequest, response: Response): Promise<boolean> {
    const challenges = parseChallenges(response.headers.get("WWW-Authenticate") ?? "");
    const bearer = challenges.find((c) => c.scheme === "bearer" && c.params.realm);
    const basic = challenges.find((c) => c.scheme === "basic");
    if (bearer) {
      this.#checkRealm(request.registry, bearer);
      this.#hostAuth.set(request.registry, {
        scheme: "bearer",
        realm: bearer.params.realm!,
        service: bearer.params.service,
      });
      if (bearer.params.scope) request.scopes = [...request.scopes, ...bearer.params.scope.split(" ")];
      return true;
    }
    if (basic) {
      this.#hostAuth.set(request.registry, { scheme: "basic" });
      return (await this.#credential(request.registry)) !== undefined;
    }
    return false;
  }

  /** A token realm must be https (http only for a registry reached over plain HTTP); nothing else is read. */
  #checkRealm(registry: string, challenge: Challenge): void {
    const realm = challenge.params.realm!;
    const refuse = (why: string): never => {
      throw new RegistryError(`Registry "${registry}" sent the token realm "${realm}", ${why}; refusing`, {
        status: 401,
        registry,
      });
    };
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      return refuse("which is not a URL");
    }
    const plain = this.baseUrl(registry).startsWith("http:");
    if (url.protocol === "http:" && !plain) refuse("which downgrades https to http");
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      refuse(`whose scheme "${url.protocol}" is not https${plain ? " or http" : ""}`);
    }
  }

  async #authorization(request: RegistryRequest): Promise<SentAuth> {
    const auth = this.#hostAuth.get(request.registry);
    if (!auth || auth.scheme === "none") return {};
    const credential = await this.#credential(request.registry);
    if (auth.scheme === "basic") {
      return credential?.username !== undefined && credential.password !== undefined
        ? { header: basicAuthorization(credential.username, credential.password) }
        : {};
    }
    const tokenRequest: TokenRequest = {
      realm: auth.realm,
      service: auth.service,
      scopes: request.scopes,
      credential,
      registry: request.registry,
    };
    const value = await this.#tokens.token(tokenRequest);
    return { header: `Bearer ${value}`, token: { request: tokenRequest, value } };
  }

  #credential(registry: string): Promise<Credential | undefined> {
    let found = this.#credentialCache.get(registry);
    if (!found) {
      found = this.#credentials(registry);
      this.#credentialCache.set(registry, found);
    }
    return found;
  }

  /** One exchange under the idle timeout; the Authorization goes only to the registry's origin. */
  #exchange(url: URL, method: string, request: RegistryRequest, authorization?: string): Promise<Response> {
    const headers = new Headers(request.headers);
    headers.set("User-Agent", this.#userAgent);
    return exchange(url, { method, headers, body: request.body as BodyInit | null | undefined }, {
      fetch: this.#fetch,
      timeoutMs: this.#timeoutMs,
      what: request.what,
      registry: request.registry,
      authorization,
      authOrigin: new URL(this.baseUrl(request.registry)).origin,
      log: this.#log,
      signal: anySignal(this.#signal, request.signal),
    });
  }
}

function backoff(attempt: number): number {
  return Math.min(200 * 2 ** attempt, 5_000) + Math.floor(Math.random() * 100);
}

function retryAfter(response: Response): number | undefined {
  const header = response.headers.get("Retry-After");
  if (!header) return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
  return Number.isFinite(ms) ? Math.max(0, Math.min(ms, MAX_RETRY_AFTER_MS)) : undefined;
}
