/**
 * Authentication of the embedded registry: accounts from `--user USER:PASS` and from an htpasswd file (bcrypt
 * entries, as `htpasswd -B` writes them), Basic credentials on any request, and a token endpoint with a Bearer
 * challenge so that clients exercise the token exchange. Tokens are opaque random strings, scoped to what was
 * asked and valid for five minutes; refresh tokens (asked with `offline_token=true` or `access_type=offline`)
 * last a day.
 *
 * Every account may pull, push and delete everywhere: the registry is meant for one user or one team.
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";
import { loadBcrypt } from "../deps.ts";
import { decodeBase64Utf8 } from "../oci/base64.ts";
import { cleanScopes } from "../oci/auth/scope.ts";
import { DistributionError } from "./registry_errors.ts";
import { readBodyCapped } from "./registry_http.ts";

/** An account given on the command line or in code. */
export interface RegistryUser {
  username: string;
  password: string;
}

/** What a request needs: `repository:<name>:<action>` or `registry:catalog:*`. */
export interface Access {
  type: string;
  name: string;
  actions: string[];
}

/** Options of `RegistryAuth.create`. */
export interface RegistryAuthOptions {
  users?: RegistryUser[];
  /** Path of an htpasswd file with bcrypt entries. */
  htpasswd?: string;
  /** The `service` of the Bearer challenge (default `kpm-registry`). */
  service?: string;
  /** Lifetime of access tokens in seconds (default 300). */
  tokenSeconds?: number;
  now?: () => number;
}

interface Grant {
  username: string;
  /** `type:name` → actions. */
  access: Map<string, Set<string>>;
  expires: number;
}

const REFRESH_SECONDS = 24 * 60 * 60;
const MAX_FORM_BYTES = 64 * 1024;

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * Reads an htpasswd file: `user:hash` lines with bcrypt hashes (`$2y$`, `$2a$`, `$2b$`).
 *
 * @throws {Error} naming the file and line when an entry is not bcrypt
 */
export async function readHtpasswd(path: string): Promise<Map<string, string>> {
  const entries = new Map<string, string>();
  const text = await Deno.readTextFile(path).catch((error) => {
    throw new Error(`Cannot read htpasswd file "${path}": ${(error as Error).message}`);
  });
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const colon = trimmed.indexOf(":");
    const hash = trimmed.slice(colon + 1);
    if (colon <= 0 || !/^\$2[aby]\$\d\d\$/.test(hash)) {
      throw new Error(
        `Cannot read htpasswd file "${path}" line ${
          index + 1
        }: not a bcrypt entry (write it with htpasswd -B)`,
      );
    }
    entries.set(trimmed.slice(0, colon), hash);
  });
  return entries;
}

/** Parses `type:name:actions` scopes (several per string, space separated) into accesses. */
export function parseScopes(scopes: readonly string[]): Access[] {
  return cleanScopes(scopes).flatMap((scope) => {
    const first = scope.indexOf(":");
    const last = scope.lastIndexOf(":");
    if (first < 0 || first === last) return [];
    return [{
      type: scope.slice(0, first),
      name: scope.slice(first + 1, last),
      actions: scope.slice(last + 1).split(","),
    }];
  });
}

/** Checks credentials and tokens for one registry. */
export class RegistryAuth {
  #plain = new Map<string, Buffer>();
  #hashed = new Map<string, string>();
  #verified = new Set<string>();
  #tokens = new Map<string, Grant>();
  #refresh = new Map<string, { username: string; expires: number }>();
  #service: string;
  #tokenSeconds: number;
  #now: () => number;

  private constructor(options: RegistryAuthOptions, hashed: Map<string, string>) {
    for (const user of options.users ?? []) this.#plain.set(user.username, sha256(user.password));
    this.#hashed = hashed;
    this.#service = options.service ?? "kpm-registry";
    this.#tokenSeconds = options.tokenSeconds ?? 300;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Builds the authenticator, or returns undefined when no account is configured (anonymous access).
   *
   * @throws {Error} when the htpasswd file cannot be read or has an entry that is not bcrypt
   */
  static async create(options: RegistryAuthOptions): Promise<RegistryAuth | undefined> {
    const hashed = options.htpasswd ? await readHtpasswd(options.htpasswd) : new Map<string, string>();
    if ((options.users ?? []).length === 0 && hashed.size === 0) return undefined;
    return new RegistryAuth(options, hashed);
  }

  /** The `service` named in challenges and expected at the token endpoint. */
  get service(): string {
    return this.#service;
  }

  /** True when `username` / `password` is an account (bcrypt results are cached per credential pair). */
  async verify(username: string, password: string): Promise<boolean> {
    const key = sha256(`${username}\0${password}`).toString("hex");
    if (this.#verified.has(key)) return true;
    let ok = false;
    const plain = this.#plain.get(username);
    if (plain) ok = timingSafeEqual(plain, sha256(password));
    const hash = this.#hashed.get(username);
    if (!ok && hash) ok = await (await loadBcrypt()).compare(password, hash);
    if (ok) {
      if (this.#verified.size > 10_000) this.#verified.clear();
      this.#verified.add(key);
    }
    return ok;
  }

  /**
   * Lets a request through when its Basic credentials are an account or its Bearer token grants `needed`.
   *
   * @param authorization the request's Authorization header
   * @param request `needed` accesses, and the token endpoint's URL (`realm`) for the challenge
   * @throws {DistributionError} UNAUTHORIZED (401) with a Bearer challenge otherwise
   */
  async authorize(
    authorization: string | null,
    request: { needed: Access[]; realm: string },
  ): Promise<void> {
    const { needed, realm } = request;
    const [scheme, value = ""] = (authorization ?? "").trim().split(/\s+/, 2);
    let insufficient = false;
    if (scheme?.toLowerCase() === "basic") {
      const credentials = this.#basic(value);
      if (credentials && await this.verify(credentials.username, credentials.password)) return;
    } else if (scheme?.toLowerCase() === "bearer") {
      const grant = this.#tokens.get(value);
      if (grant && grant.expires > this.#now()) {
        if (needed.every((n) => this.#grants(grant, n))) return;
        insufficient = true;
      } else if (grant) this.#tokens.delete(value);
    }
    const scope = needed.map((n) => `${n.type}:${n.name}:${n.actions.join(",")}`).join(" ");
    let challenge = `Bearer realm="${realm}",service="${this.#service}"`;
    if (scope) challenge += `,scope="${scope}"`;
    if (insufficient) challenge += `,error="insufficient_scope"`;
    throw new DistributionError(
      "UNAUTHORIZED",
      insufficient ? `Access to "${scope}" is not granted by this token` : "Authentication required",
      { headers: { "WWW-Authenticate": challenge }, detail: needed.length ? needed : null },
    );
  }

  /**
   * Answers a token request: GET with Basic credentials and `scope` parameters, or the OAuth2 POST form with
   * `grant_type=password` or `grant_type=refresh_token`.
   *
   * @returns `{token, access_token, expires_in, issued_at}` (and `refresh_token` when asked for)
   * @throws {DistributionError} UNAUTHORIZED on missing or wrong credentials, UNSUPPORTED on another method
   */
  async token(request: Request): Promise<Response> {
    const url = new URL(request.url);
    let username: string | undefined;
    let scopes: string[];
    let offline = url.searchParams.get("offline_token") === "true";
    if (request.method === "GET") {
      const [scheme, value = ""] = (request.headers.get("Authorization") ?? "").trim().split(/\s+/, 2);
      const credentials = scheme?.toLowerCase() === "basic" ? this.#basic(value) : undefined;
      if (credentials && await this.verify(credentials.username, credentials.password)) {
        username = credentials.username;
      }
      scopes = url.searchParams.getAll("scope");
    } else if (request.method === "POST") {
      const form = new URLSearchParams(
        new TextDecoder().decode(
          await readBodyCapped(request, {
            limit: MAX_FORM_BYTES,
            what: "the token request form",
            code: "SIZE_INVALID",
          }),
        ),
      );
      scopes = (form.get("scope") ?? "").split(" ");
      offline ||= form.get("access_type") === "offline";
      const grantType = form.get("grant_type");
      if (grantType === "password") {
        const user = form.get("username") ?? "";
        if (await this.verify(user, form.get("password") ?? "")) username = user;
      } else if (grantType === "refresh_token") {
        const refresh = this.#refresh.get(form.get("refresh_token") ?? "");
        if (refresh && refresh.expires > this.#now()) username = refresh.username;
      } else {
        throw new DistributionError("UNSUPPORTED", `Unsupported grant_type "${grantType ?? ""}"`, {
          status: 400,
        });
      }
    } else {
      throw new DistributionError("UNSUPPORTED", `Cannot ${request.method} the token endpoint`);
    }
    if (username === undefined) {
      throw new DistributionError("UNAUTHORIZED", "Cannot issue a token: wrong or missing credentials", {
        headers: { "WWW-Authenticate": `Basic realm="${this.#service}"` },
      });
    }
    return Response.json(this.#issue(username, scopes, offline));
  }

  #issue(username: string, scopes: string[], offline: boolean): Record<string, unknown> {
    const now = this.#now();
    for (const [token, grant] of this.#tokens) if (grant.expires <= now) this.#tokens.delete(token);
    const access = new Map<string, Set<string>>();
    for (const a of parseScopes(scopes)) {
      const key = `${a.type}:${a.name}`;
      const set = access.get(key) ?? new Set<string>();
      a.actions.forEach((action) => set.add(action));
      access.set(key, set);
    }
    const token = randomToken();
    this.#tokens.set(token, { username, access, expires: now + this.#tokenSeconds * 1000 });
    const answer: Record<string, unknown> = {
      token,
      access_token: token,
      expires_in: this.#tokenSeconds,
      issued_at: new Date(now).toISOString(),
    };
    if (offline) {
      const refresh = randomToken();
      this.#refresh.set(refresh, { username, expires: now + REFRESH_SECONDS * 1000 });
      answer.refresh_token = refresh;
    }
    return answer;
  }

  #grants(grant: Grant, needed: Access): boolean {
    const actions = grant.access.get(`${needed.type}:${needed.name}`);
    return !!actions && (actions.has("*") || needed.actions.every((a) => actions.has(a)));
  }

  #basic(value: string): RegistryUser | undefined {
    try {
      const decoded = decodeBase64Utf8(value);
      const colon = decoded.indexOf(":");
      return colon < 0
        ? undefined
        : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    } catch {
      return undefined;
    }
  }
}
