/**
 * Authentication of the embedded registry: accounts from `--user USER:PASS` and from an htpasswd file (bcrypt
 * entries, as `htpasswd -B` writes them), Basic credentials on any request, and a token endpoint with a Bearer
 * challenge so that clients exercise the token exchange. Tokens are opaque random strings, scoped to what was
 * asked and valid for five minutes; refresh tokens (asked with `offline_token=true` or `access_type=offline`)
 * last a day.
 *
 * Without access rules every account may pull, push and delete everywhere and anonymous callers nothing. With
 * access rules (`--access FILE`, see access_rules.ts) each account, and anonymous callers, get what the rules
 * grant, for Basic credentials and token scopes alike: a token carries only the asked actions the rules grant.
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";
import { loadBcrypt } from "../deps.ts";
import { decodeBase64Utf8 } from "../oci/base64.ts";
import { cleanScopes } from "../oci/auth/scope.ts";
import { type AccessRules, grantedActions } from "./access_rules.ts";
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
  /** What each account and anonymous callers may do; without, accounts may do everything. */
  rules?: AccessRules;
  /** The `service` of the Bearer challenge (default `kpm-registry`). */
  service?: string;
  /** Lifetime of access tokens in seconds (default 300). */
  tokenSeconds?: number;
  now?: () => number;
}

/** Who made a request: an account name, or undefined for an anonymous caller. */
export type Caller = string | undefined;

interface Grant {
  username: Caller;
  /** `type:name` → actions. */
  access: Map<string, Set<string>>;
  expires: number;
}

/** A token request: whether the caller is known (or may be anonymous), who, the scopes, and offline access. */
interface TokenAsk {
  known: boolean;
  caller: Caller;
  scopes: string[];
  offline: boolean;
}

const REFRESH_SECONDS = 24 * 60 * 60;
/**
 * Most access tokens (and most refresh tokens) held at once: beyond, issuing one forgets the oldest, whose
 * client is challenged again and asks anew. Anonymous callers may ask for tokens when access rules are set, and
 * each answer would otherwise be kept for its lifetime, however many are asked for.
 */
export const MAX_TOKENS = 100_000;
const MAX_FORM_BYTES = 64 * 1024;

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * Forgets the expired tokens, and the oldest one when MAX_TOKENS are held. Tokens of one kind share a lifetime,
 * so they expire in the order they were issued, which is the order a Map iterates in: the walk stops at the
 * first one that stays (each issue costs a few steps, not one per token held).
 */
function forgetOldest(tokens: Map<string, { expires: number }>, now: number): void {
  for (const [token, { expires }] of tokens) {
    if (expires > now && tokens.size < MAX_TOKENS) return;
    tokens.delete(token);
  }
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
  #rules: AccessRules | undefined;
  #tokenSeconds: number;
  #now: () => number;

  private constructor(options: RegistryAuthOptions, hashed: Map<string, string>) {
    for (const user of options.users ?? []) this.#plain.set(user.username, sha256(user.password));
    this.#hashed = hashed;
    this.#service = options.service ?? "kpm-registry";
    this.#rules = options.rules;
    this.#tokenSeconds = options.tokenSeconds ?? 300;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Builds the authenticator, or returns undefined when neither accounts nor rules are configured (anyone may
   * do anything).
   *
   * @throws {Error} when the htpasswd file cannot be read or has an entry that is not bcrypt
   */
  static async create(options: RegistryAuthOptions): Promise<RegistryAuth | undefined> {
    const hashed = options.htpasswd ? await readHtpasswd(options.htpasswd) : new Map<string, string>();
    if ((options.users ?? []).length === 0 && hashed.size === 0 && !options.rules) return undefined;
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
   * True when `caller` may do `access`: what the rules grant, or without rules everything for an account and
   * nothing for an anonymous caller. The catalog is open to every caller let in (it lists what they may pull).
   */
  permits(caller: Caller, access: Access): boolean {
    if (!this.#rules) return caller !== undefined;
    if (access.type === "registry") return access.name === "catalog";
    if (access.type !== "repository") return false;
    const granted = grantedActions(this.#rules, caller, access.name);
    return access.actions.every((action) => granted.has(action));
  }

  /**
   * Lets a request through when its Basic credentials are an account, its Bearer token grants `needed`, or it
   * has no credentials and anonymous callers may do `needed`; and in the first case when the account may.
   *
   * @param authorization the request's Authorization header
   * @param request `needed` accesses, the token endpoint's URL (`realm`) for the challenge, and `seen`, which
   *   receives the account the credentials name once verified (also when it is then denied), for the log
   * @returns who is calling
   * @throws {DistributionError} UNAUTHORIZED (401) with a Bearer challenge when the caller is not known or the
   *   token does not grant `needed`; DENIED (403) when an account with valid Basic credentials may not
   */
  async authorize(
    authorization: string | null,
    request: { needed: Access[]; realm: string; seen?: { caller?: string } },
  ): Promise<Caller> {
    const { needed, realm, seen = {} } = request;
    const [scheme, value = ""] = (authorization ?? "").trim().split(/\s+/, 2);
    const scope = needed.map((n) => `${n.type}:${n.name}:${n.actions.join(",")}`).join(" ");
    let insufficient = false;
    if (scheme?.toLowerCase() === "basic") {
      const credentials = this.#basic(value);
      if (credentials && await this.verify(credentials.username, credentials.password)) {
        seen.caller = credentials.username;
        if (needed.every((n) => this.permits(credentials.username, n))) return credentials.username;
        throw new DistributionError("DENIED", `"${credentials.username}" may not "${scope}"`, {
          detail: needed,
        });
      }
    } else if (scheme?.toLowerCase() === "bearer") {
      const grant = this.#tokens.get(value);
      if (grant && grant.expires > this.#now()) {
        seen.caller = grant.username;
        if (needed.every((n) => this.#grants(grant, n))) return grant.username;
        insufficient = true;
      } else if (grant) this.#tokens.delete(value);
    } else if (authorization === null && this.#mayAnonymously(needed)) {
      return undefined;
    }
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
   * Answers a token request: GET with Basic credentials (or none, for an anonymous token when access rules are
   * set) and `scope` parameters, or the OAuth2 POST form with `grant_type=password` or `refresh_token`. The
   * token grants the asked actions the caller may do, and no others.
   *
   * @returns `{token, access_token, expires_in, issued_at}` (and `refresh_token` when asked for)
   * @throws {DistributionError} UNAUTHORIZED on missing or wrong credentials, UNSUPPORTED on another method
   */
  async token(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const asked = request.method === "GET"
      ? await this.#tokenGet(request, url)
      : request.method === "POST"
      ? await this.#tokenPost(request)
      : undefined;
    if (!asked) throw new DistributionError("UNSUPPORTED", `Cannot ${request.method} the token endpoint`);
    if (!asked.known) {
      throw new DistributionError("UNAUTHORIZED", "Cannot issue a token: wrong or missing credentials", {
        headers: { "WWW-Authenticate": `Basic realm="${this.#service}"` },
      });
    }
    const offline = asked.offline || url.searchParams.get("offline_token") === "true";
    return Response.json(this.#issue(asked.caller, asked.scopes, offline));
  }

  async #tokenGet(request: Request, url: URL): Promise<TokenAsk> {
    const scopes = url.searchParams.getAll("scope");
    const authorization = request.headers.get("Authorization");
    if (authorization === null) return { known: !!this.#rules, caller: undefined, scopes, offline: false };
    const [scheme, value = ""] = authorization.trim().split(/\s+/, 2);
    const credentials = scheme?.toLowerCase() === "basic" ? this.#basic(value) : undefined;
    const known = !!credentials && await this.verify(credentials.username, credentials.password);
    return { known, caller: credentials?.username, scopes, offline: false };
  }

  async #tokenPost(request: Request): Promise<TokenAsk> {
    const form = new URLSearchParams(
      new TextDecoder().decode(
        await readBodyCapped(request, {
          limit: MAX_FORM_BYTES,
          what: "the token request form",
          code: "SIZE_INVALID",
        }),
      ),
    );
    const scopes = (form.get("scope") ?? "").split(" ");
    const offline = form.get("access_type") === "offline";
    const grantType = form.get("grant_type");
    if (grantType === "password") {
      const user = form.get("username") ?? "";
      return { known: await this.verify(user, form.get("password") ?? ""), caller: user, scopes, offline };
    }
    if (grantType === "refresh_token") {
      const refresh = this.#refresh.get(form.get("refresh_token") ?? "");
      const known = !!refresh && refresh.expires > this.#now();
      return { known, caller: refresh?.username, scopes, offline };
    }
    throw new DistributionError("UNSUPPORTED", `Unsupported grant_type "${grantType ?? ""}"`, {
      status: 400,
    });
  }

  #issue(caller: Caller, scopes: string[], offline: boolean): Record<string, unknown> {
    const now = this.#now();
    forgetOldest(this.#tokens, now);
    forgetOldest(this.#refresh, now);
    const access = new Map<string, Set<string>>();
    for (const a of parseScopes(scopes)) {
      const key = `${a.type}:${a.name}`;
      const set = access.get(key) ?? new Set<string>();
      for (const action of a.actions) {
        if (this.permits(caller, { type: a.type, name: a.name, actions: [action] })) set.add(action);
      }
      access.set(key, set);
    }
    const token = randomToken();
    this.#tokens.set(token, { username: caller, access, expires: now + this.#tokenSeconds * 1000 });
    const answer: Record<string, unknown> = {
      token,
      access_token: token,
      expires_in: this.#tokenSeconds,
      issued_at: new Date(now).toISOString(),
    };
    if (offline && caller !== undefined) {
      const refresh = randomToken();
      this.#refresh.set(refresh, { username: caller, expires: now + REFRESH_SECONDS * 1000 });
      answer.refresh_token = refresh;
    }
    return answer;
  }

  /**
   * Whether a request without credentials may do `needed`: repository actions the rules grant anonymous
   * callers. The API root and the catalog always challenge, so that clients log in (and `docker login` checks
   * the password) and the catalog lists what the caller's token may pull.
   */
  #mayAnonymously(needed: Access[]): boolean {
    return !!this.#rules && needed.length > 0 &&
      needed.every((n) => n.type === "repository" && this.permits(undefined, n));
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
