/**
 * Bearer token exchange (Docker token auth and OAuth2), with a cache per realm, service, identity and cleaned
 * scope set that also dedupes concurrent requests for the same token.
 *
 * @module
 */

import type { Credential } from "../credentials.ts";
import { readCapped } from "../read_capped.ts";
import { RegistryError } from "../registry_error.ts";
import { cleanScopes } from "./scope.ts";
import { encodeBase64Utf8 } from "../base64.ts";
import { DEFAULT_TIMEOUT_MS, describeFetchError, exchange } from "../http.ts";

/** The most bytes read from a token response. */
const MAX_TOKEN_BODY = 1024 * 1024;
/** Lifetime assumed when the server gives no `expires_in` (the Docker spec's default). */
const DEFAULT_EXPIRES_SECONDS = 60;
/** Tokens are dropped this long before they expire. */
const EXPIRY_MARGIN_MS = 10_000;

/** Where and for what to ask a token. */
export interface TokenRequest {
  realm: string;
  service?: string;
  scopes: string[];
  credential?: Credential;
  /** The registry the token is for, for messages. */
  registry: string;
}

/** Options of a TokenCache. */
export interface TokenCacheOptions {
  fetch?: typeof fetch;
  /** Milliseconds since epoch; injectable for tests. */
  now?: () => number;
  /** OAuth2 client_id sent with refresh-token grants. */
  clientId?: string;
  userAgent?: string;
  /** Idle timeout of a token request in ms (default 30 s; 0: none). */
  timeoutMs?: number;
}

interface Entry {
  promise: Promise<{ token: string; expiresAt: number }>;
  /** The token, once fetched. */
  token?: string;
}

/** Fetches bearer tokens and caches them until they expire. */
export class TokenCache {
  #fetch: typeof fetch;
  #now: () => number;
  #clientId: string;
  #userAgent?: string;
  #timeoutMs: number;
  #entries = new Map<string, Entry>();

  /** @param options fetch, clock and client id */
  constructor(options: TokenCacheOptions = {}) {
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#now = options.now ?? Date.now;
    this.#clientId = options.clientId ?? "kpm";
    this.#userAgent = options.userAgent;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /**
   * Returns a token for the request, from the cache when a live one exists.
   *
   * @throws {RegistryError} when the token endpoint refuses or answers something unusable
   */
  async token(request: TokenRequest): Promise<string> {
    const scopes = cleanScopes(request.scopes);
    const key = cacheKey(request, scopes);
    const cached = this.#entries.get(key);
    if (cached) {
      try {
        const entry = await cached.promise;
        if (entry.expiresAt > this.#now()) return entry.token;
      } catch {
        // a failed fetch is not cached: fall through and ask again
      }
      if (this.#entries.get(key) === cached) this.#entries.delete(key);
      const again = this.#entries.get(key);
      if (again) return (await again.promise).token;
    }
    const promise = this.#fetchToken({ ...request, scopes });
    const entry: Entry = { promise };
    this.#entries.set(key, entry);
    try {
      entry.token = (await promise).token;
      return entry.token;
    } catch (error) {
      this.#entries.delete(key);
      throw error;
    }
  }

  /**
   * Drops a token the registry refused (e.g. after a restart with a new signing key), so that the next request
   * fetches a new one. A newer token fetched meanwhile for the same key is kept.
   */
  forget(request: TokenRequest, token: string): void {
    const key = cacheKey(request, cleanScopes(request.scopes));
    if (this.#entries.get(key)?.token === token) this.#entries.delete(key);
  }

  async #fetchToken(request: TokenRequest): Promise<{ token: string; expiresAt: number }> {
    const { credential } = request;
    let response: Response;
    if (credential?.identityToken) {
      response = await this.#post(request, credential.identityToken);
      if (response.status === 404) {
        await response.body?.cancel();
        response = await this.#get(request);
      }
    } else {
      response = await this.#get(request);
    }
    const body = new TextDecoder().decode(
      await readCapped(response, { limit: MAX_TOKEN_BODY, truncate: true }),
    );
    if (!response.ok) {
      const reason = tokenErrorReason(body);
      throw new RegistryError(
        `Cannot get a token for "${request.registry}" from "${request.realm}": answered ${response.status}${
          reason ? `: ${reason}` : ""
        }`,
        {
          status: response.status,
          code: response.status === 401 ? "UNAUTHORIZED" : undefined,
          registry: request.registry,
          hint: response.status === 401 ? { kind: "login", registry: request.registry } : undefined,
        },
      );
    }
    let parsed: { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new RegistryError(`Token endpoint "${request.realm}" answered something that is not JSON`, {
        status: response.status,
        registry: request.registry,
      });
    }
    const token = parsed.access_token || parsed.token;
    if (!token) {
      throw new RegistryError(`Token endpoint "${request.realm}" answered no token`, {
        status: response.status,
        registry: request.registry,
      });
    }
    const seconds = typeof parsed.expires_in === "number" && parsed.expires_in > 0
      ? parsed.expires_in
      : DEFAULT_EXPIRES_SECONDS;
    return { token, expiresAt: this.#now() + seconds * 1000 - EXPIRY_MARGIN_MS };
  }

  #get(request: TokenRequest): Promise<Response> {
    const url = new URL(request.realm);
    if (request.service) url.searchParams.set("service", request.service);
    for (const scope of request.scopes) url.searchParams.append("scope", scope);
    const { credential } = request;
    const authorization = credential?.username !== undefined && credential.password !== undefined
      ? basicAuthorization(credential.username, credential.password)
      : undefined;
    return this.#send(request, url, { method: "GET", headers: new Headers() }, authorization);
  }

  #post(request: TokenRequest, refreshToken: string): Promise<Response> {
    const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken });
    form.set("client_id", this.#clientId);
    if (request.service) form.set("service", request.service);
    if (request.scopes.length) form.set("scope", request.scopes.join(" "));
    const headers = new Headers({ "Content-Type": "application/x-www-form-urlencoded" });
    return this.#send(request, new URL(request.realm), { method: "POST", headers, body: form.toString() });
  }

  /** One request to the token endpoint: idle timeout, credentials only to the realm's origin. */
  async #send(
    request: TokenRequest,
    url: URL,
    init: { method: string; headers: Headers; body?: string },
    authorization?: string,
  ): Promise<Response> {
    if (this.#userAgent) init.headers.set("User-Agent", this.#userAgent);
    const what = `get a token for "${request.registry}" from "${request.realm}"`;
    try {
      return await exchange(url, init, {
        fetch: this.#fetch,
        timeoutMs: this.#timeoutMs,
        what,
        registry: request.registry,
        authorization,
        authOrigin: url.origin,
      });
    } catch (error) {
      if (error instanceof RegistryError) throw error;
      throw new RegistryError(`Cannot ${what}: ${describeFetchError(error)}`, {
        status: 0,
        registry: request.registry,
        cause: error,
      });
    }
  }
}

/** `Basic base64(user:pass)` with UTF-8 credentials. */
export function basicAuthorization(username: string, password: string): string {
  return `Basic ${encodeBase64Utf8(`${username}:${password}`)}`;
}

function cacheKey(request: TokenRequest, scopes: string[]): string {
  const who = request.credential?.identityToken ? "refresh" : request.credential?.username ?? "";
  return [request.realm, request.service ?? "", who, scopes.join(" ")].join("|");
}

function tokenErrorReason(body: string): string {
  try {
    const parsed = JSON.parse(body) as { details?: string; error?: string; errors?: { message?: string }[] };
    return parsed.errors?.[0]?.message ?? parsed.details ?? parsed.error ?? "";
  } catch {
    return body.split("\n")[0]?.slice(0, 200) ?? "";
  }
}
