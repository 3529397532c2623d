/**
 * RegistryClient: one place for fetch, authentication (Basic and Bearer with the token cache), redirects
 * without leaking credentials, retries with backoff, and error mapping.
 *
 * @module
 */

import { type Challenge, parseChallenges } from "./auth/challenge.ts";
import { basicAuthorization, TokenCache } from "./auth/token.ts";
import type { Credential, CredentialLookup } from "./credentials.ts";
import { isLoopback, registryEndpoint } from "./reference.ts";
import { errorFromResponse, RegistryError } from "./registry_error.ts";
import { VERSION } from "../version.ts";

/** Options of a RegistryClient. Everything that touches the outside world can be injected. */
export interface RegistryClientOptions {
  fetch?: typeof fetch;
  /** Finds credentials for a registry host. */
  credentials?: CredentialLookup;
  /** Use plain HTTP for every registry, or for those the function picks (loopback registries always use it). */
  plainHttp?: boolean | ((registry: string) => boolean);
  /** Retries of idempotent requests on 429, 5xx and dropped connections (default 3). */
  retries?: number;
  /** Waits between retries; injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Clock for token expiry. */
  now?: () => number;
  userAgent?: string;
  /** Receives one line per request when set (verbose mode). */
  log?: (line: string) => void;
}

/** One request to a registry. */
export interface RegistryRequest {
  registry: string;
  /** The repository, for scopes in messages and errors. */
  repository?: string;
  method?: string;
  /** Path after `/v2/`, e.g. `kcl-lang/k8s/manifests/1.28`; `""` for the API root. */
  path?: string;
  /** An absolute or registry-relative URL (e.g. an upload Location) instead of `path`. */
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
}

type HostAuth = { scheme: "none" } | { scheme: "basic" } | {
  scheme: "bearer";
  realm: string;
  service?: string;
};

const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);
const MAX_REDIRECTS = 10;
const MAX_RETRY_AFTER_MS = 30_000;

/** Talks to OCI registries. One instance is shared by all operations of a command, so tokens are reused. */
export class RegistryClient {
  #fetch: typeof fetch;
  #credentials: CredentialLookup;
  #plainHttp: (registry: string) => boolean;
  #retries: number;
  #sleep: (ms: number) => Promise<void>;
  #userAgent: string;
  #log?: (line: string) => void;
  #tokens: TokenCache;
  #hostAuth = new Map<string, HostAuth>();
  #credentialCache = new Map<string, Promise<Credential | undefined>>();

  /** @param options fetch, credentials, scheme and retry settings */
  constructor(options: RegistryClientOptions = {}) {
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#credentials = options.credentials ?? (() => Promise.resolve(undefined));
    const plain = options.plainHttp ?? false;
    this.#plainHttp = typeof plain === "function" ? plain : () => plain;
    this.#retries = options.retries ?? 3;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#userAgent = options.userAgent ?? `kpm/${VERSION}`;
    this.#log = options.log;
    this.#tokens = new TokenCache({ fetch: this.#fetch, now: options.now, userAgent: this.#userAgent });
  }

  /** The base URL of a registry's API (`https://ghcr.io/v2/`, `http://localhost:5001/v2/`). */
  baseUrl(registry: string): string {
    const scheme = this.#plainHttp(registry) || isLoopback(registry) ? "http" : "https";
    return `${scheme}://${registryEndpoint(registry)}/v2/`;
  }

  /**
   * Sends a request, authenticating on 401, following redirects and retrying as allowed.
   *
   * @returns the response, whose status is one of `expect`
   * @throws {RegistryError} on any other status, or when the registry cannot be reached
   */
  async send(request: RegistryRequest): Promise<Response> {
    const method = request.method ?? "GET";
    const replayable = request.body === undefined || request.body === null ||
      typeof request.body === "string" ||
      request.body instanceof Uint8Array || request.body instanceof URLSearchParams;
    if (!replayable && !this.#hostAuth.has(request.registry)) await this.#learnAuth(request);
    const retry = request.retry ?? (replayable && ["GET", "HEAD", "PUT", "DELETE"].includes(method));
    const url = request.url ? new URL(request.url, this.baseUrl(request.registry)) : new URL(
      request.path ?? "",
      this.baseUrl(request.registry),
    );
    let attempt = 0;
    let authorized = false;
    while (true) {
      let response: Response;
      try {
        const authorization = await this.#authorization(request);
        response = await this.#fetchFollowing(url, method, request, authorization);
      } catch (error) {
        if (error instanceof RegistryError) throw error;
        if (retry && attempt < this.#retries) {
          await this.#sleep(backoff(attempt++));
          continue;
        }
        throw new RegistryError(
          `Cannot ${request.what}: cannot reach "${request.registry}": ${(error as Error).message}`,
          { status: 0, registry: request.registry, repository: request.repository, cause: error },
        );
      }
      if (response.status === 401 && !authorized && replayable) {
        authorized = true;
        if (await this.#handleChallenge(request, response)) {
          await response.body?.cancel();
          continue;
        }
      }
      if (RETRY_STATUSES.has(response.status) && retry && attempt < this.#retries) {
        const wait = retryAfter(response) ?? backoff(attempt);
        attempt++;
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

  #checkRealm(registry: string, challenge: Challenge): void {
    const realm = challenge.params.realm!;
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError(`Registry "${registry}" sent an invalid token realm "${realm}"`, {
        status: 401,
        registry,
      });
    }
    if (this.baseUrl(registry).startsWith("https:") && url.protocol !== "https:") {
      throw new RegistryError(
        `Registry "${registry}" asked for a token from "${realm}", which downgrades https to http; refusing`,
        { status: 401, registry },
      );
    }
  }

  async #authorization(request: RegistryRequest): Promise<string | undefined> {
    const auth = this.#hostAuth.get(request.registry);
    if (!auth || auth.scheme === "none") return undefined;
    const credential = await this.#credential(request.registry);
    if (auth.scheme === "basic") {
      return credential?.username !== undefined && credential.password !== undefined
        ? basicAuthorization(credential.username, credential.password)
        : undefined;
    }
    const token = await this.#tokens.token({
      realm: auth.realm,
      service: auth.service,
      scopes: request.scopes,
      credential,
      registry: request.registry,
    });
    return `Bearer ${token}`;
  }

  #credential(registry: string): Promise<Credential | undefined> {
    let found = this.#credentialCache.get(registry);
    if (!found) {
      found = this.#credentials(registry);
      this.#credentialCache.set(registry, found);
    }
    return found;
  }

  /** Fetches, following redirects by hand so credentials never go to another origin. */
  async #fetchFollowing(
    url: URL,
    method: string,
    request: RegistryRequest,
    authorization: string | undefined,
  ): Promise<Response> {
    const origin = url.origin;
    let current = url;
    let currentMethod = method;
    let body = request.body as BodyInit | null | undefined;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const headers = new Headers(request.headers);
      headers.set("User-Agent", this.#userAgent);
      if (authorization && current.origin === origin) headers.set("Authorization", authorization);
      this.#log?.(`${currentMethod} ${current.href}`);
      const response = await this.#fetch(current, {
        method: currentMethod,
        headers,
        body,
        redirect: "manual",
      });
      const location = response.headers.get("Location");
      if (![301, 302, 303, 307, 308].includes(response.status) || !location) return response;
      await response.body?.cancel();
      current = new URL(location, current);
      if (response.status === 303 || ([301, 302].includes(response.status) && currentMethod === "POST")) {
        currentMethod = currentMethod === "HEAD" ? "HEAD" : "GET";
        body = undefined;
      }
    }
    throw new RegistryError(`Cannot ${request.what}: too many redirects from "${url.href}"`, {
      status: 0,
      registry: request.registry,
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
