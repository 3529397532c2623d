/**
 * Registry credentials in docker config.json format: kpm's own file, the docker config, and the
 * `docker-credential-<name>` helpers they name (credsStore, credHelpers).
 *
 * @module
 */

import { dirname, join } from "node:path";
import { writeFileAtomic } from "./atomic_file.ts";
import { decodeBase64Utf8, encodeBase64Utf8 } from "./base64.ts";
import { DOCKER_HUB } from "./reference.ts";
import { DEFAULT_TIMEOUT_MS } from "./http.ts";
import { HintedError, type RegistryHint } from "./hint.ts";
import { readJsonObject } from "./json_file.ts";

/** What a registry accepts: a username and password, or a refresh (identity) token. */
export interface Credential {
  /** The user name. */
  username?: string;
  /** The password (or a token used as one). */
  password?: string;
  /** Docker's `identitytoken`: an OAuth2 refresh token. */
  identityToken?: string;
}

/** Looks up credentials for a registry host (`ghcr.io`, `localhost:5001`, `docker.io`). */
export type CredentialLookup = (registry: string) => Promise<Credential | undefined>;

/** Thrown when a credentials file or helper cannot be read or written. */
export class CredentialError extends HintedError<RegistryHint> {
  /** The error's class name. */
  override name = "CredentialError";
}

/**
 * Runs a credential helper: `docker-credential-<helper> <action>` with `input` on stdin, killed when it has
 * not finished within `timeoutMs` (0: no limit).
 */
export type HelperRunner = (
  helper: string,
  action: "get" | "store" | "erase",
  input: string,
  timeoutMs: number,
) => Promise<{ code: number; stdout: string; stderr: string }>;

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  [key: string]: unknown;
}

interface DockerConfig {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [key: string]: unknown;
}

const DOCKER_HUB_KEY = "https://index.docker.io/v1/";

/** The key docker uses in config.json for a registry (docker.io → `https://index.docker.io/v1/`). */
function configKey(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_KEY : registry;
}

/** Reduces a config key (`https://host/`, `http://host/v1/`, `host`) to the registry it names. */
export function normalizeRegistryKey(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "");
  return host === "index.docker.io" || host === "registry-1.docker.io" ? DOCKER_HUB : host;
}

/**
 * Runs a real `docker-credential-*` program.
 *
 * @throws {CredentialError} when it does not finish within the time limit (it is killed)
 */
export const runHelper: HelperRunner = async (helper, action, input, timeoutMs) => {
  const child = new Deno.Command(`docker-credential-${helper}`, {
    args: [action],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = timeoutMs > 0
    ? setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs)
    : undefined;
  try {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(input)).catch(() => {});
    await writer.close().catch(() => {});
    const output = await child.output();
    if (timedOut) {
      throw new CredentialError(
        `Credential helper "docker-credential-${helper}" did not finish "${action}" within ${
          timeoutMs / 1000
        } s; it was stopped`,
        { hint: { kind: "timeout" } },
      );
    }
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
};

/** Options of a CredentialStore. */
export interface CredentialStoreOptions {
  /** The file logins are written to (docker config.json format), e.g. kpm's `…/.kpm/config/config.json`. */
  path: string;
  /** Further files read, in order, when `path` has nothing for a host (e.g. `~/.docker/config.json`). */
  fallbacks?: string[];
  /** Runs credential helpers; defaults to the real programs. */
  runner?: HelperRunner;
  /** How long a credential helper may run, in ms (default 30 s; 0: no limit). */
  timeoutMs?: number;
}

/**
 * Reads and writes registry credentials in docker config.json files.
 *
 * Lookup order for a host: the primary file (its credHelpers, then credsStore, then auths), then each fallback
 * file the same way. Writes go to the primary file (or to the helper it names), atomically, with mode 0600,
 * keeping every key kpm does not know.
 */
export class CredentialStore {
  #path: string;
  #fallbacks: string[];
  #runner: HelperRunner;
  #timeoutMs: number;

  /** @param options the primary file, fallbacks, helper runner and its time limit */
  constructor(options: CredentialStoreOptions) {
    this.#path = options.path;
    this.#fallbacks = options.fallbacks ?? [];
    this.#runner = options.runner ?? runHelper;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** The primary file's path. */
  get path(): string {
    return this.#path;
  }

  /**
   * Finds the credentials for a registry.
   *
   * @throws {CredentialError} when a file is not valid JSON or a helper fails other than "not found"
   */
  async get(registry: string): Promise<Credential | undefined> {
    for (const file of [this.#path, ...this.#fallbacks]) {
      const config = await readConfig(file);
      if (!config) continue;
      const helper = this.#helperFor(config, registry);
      if (helper) {
        const found = await this.#helperGet(helper, registry);
        if (found) return found;
        continue;
      }
      const entry = findEntry(config, registry);
      if (entry) return decodeEntry(entry, file, registry);
    }
    return undefined;
  }

  /** Saves credentials for a registry in the primary file (or its helper). */
  async store(registry: string, credential: Credential): Promise<void> {
    const config = await readConfig(this.#path) ?? {};
    const helper = this.#helperFor(config, registry);
    if (helper) {
      const secret = credential.identityToken ?? credential.password ?? "";
      const username = credential.identityToken ? "<token>" : credential.username ?? "";
      const input = JSON.stringify({ ServerURL: configKey(registry), Username: username, Secret: secret });
      const result = await this.#runner(helper, "store", input, this.#timeoutMs);
      if (result.code !== 0) {
        throw new CredentialError(
          `Cannot store credentials for "${registry}" with "docker-credential-${helper}": ${result.stderr.trim()}`,
        );
      }
      return;
    }
    const auths = config.auths ?? {};
    for (const key of Object.keys(auths)) {
      if (normalizeRegistryKey(key) === registry) delete auths[key];
    }
    const entry: AuthEntry = {};
    if (credential.username !== undefined && credential.password !== undefined) {
      entry.auth = encodeBase64Utf8(`${credential.username}:${credential.password}`);
    }
    if (credential.identityToken) entry.identitytoken = credential.identityToken;
    auths[configKey(registry)] = entry;
    config.auths = auths;
    await this.#write(config);
  }

  /**
   * Removes the credentials of a registry from the primary file (or its helper).
   *
   * @returns false when there were none
   */
  async erase(registry: string): Promise<boolean> {
    const config = await readConfig(this.#path);
    if (!config) return false;
    const helper = this.#helperFor(config, registry);
    if (helper) {
      if (!await this.#helperGet(helper, registry)) return false;
      const result = await this.#runner(helper, "erase", configKey(registry), this.#timeoutMs);
      if (result.code !== 0) {
        throw new CredentialError(
          `Cannot erase credentials for "${registry}" with "docker-credential-${helper}": ${result.stderr.trim()}`,
        );
      }
      return true;
    }
    const keys = Object.keys(config.auths ?? {}).filter((key) => normalizeRegistryKey(key) === registry);
    if (keys.length === 0) return false;
    for (const key of keys) delete config.auths![key];
    await this.#write(config);
    return true;
  }

  #helperFor(config: DockerConfig, registry: string): string | undefined {
    const helpers = config.credHelpers ?? {};
    const key = Object.keys(helpers).find((k) => normalizeRegistryKey(k) === registry);
    return (key ? helpers[key] : undefined) ?? (config.credsStore || undefined);
  }

  async #helperGet(helper: string, registry: string): Promise<Credential | undefined> {
    let result;
    try {
      result = await this.#runner(helper, "get", configKey(registry), this.#timeoutMs);
    } catch (error) {
      if (error instanceof CredentialError) throw error;
      throw new CredentialError(
        `Cannot run credential helper "docker-credential-${helper}" for "${registry}": ${
          (error as Error).message
        }`,
      );
    }
    if (result.code !== 0) {
      if (/credentials not found/i.test(result.stdout + result.stderr)) return undefined;
      throw new CredentialError(
        `Credential helper "docker-credential-${helper}" failed for "${registry}": ${
          (result.stdout + result.stderr).trim()
        }`,
      );
    }
    let parsed: { Username?: string; Secret?: string };
    try {
      parsed = JSON.parse(result.stdout);
    } catch {
      throw new CredentialError(
        `Credential helper "docker-credential-${helper}" answered something that is not JSON for "${registry}"`,
      );
    }
    if (parsed.Username === "<token>") return { identityToken: parsed.Secret };
    return { username: parsed.Username, password: parsed.Secret };
  }

  async #write(config: DockerConfig): Promise<void> {
    await Deno.mkdir(dirname(this.#path), { recursive: true });
    await writeFileAtomic(this.#path, new TextEncoder().encode(`${JSON.stringify(config, null, "\t")}\n`), {
      mode: 0o600,
    });
  }
}

function readConfig(path: string): Promise<DockerConfig | undefined> {
  return readJsonObject<DockerConfig>(path, {
    label: "credentials file",
    error: (message) => new CredentialError(message),
    emptyIsObject: true,
  });
}

function findEntry(config: DockerConfig, registry: string): AuthEntry | undefined {
  const auths = config.auths ?? {};
  const exact = auths[configKey(registry)];
  if (exact) return exact;
  const key = Object.keys(auths).find((k) => normalizeRegistryKey(k) === registry);
  return key ? auths[key] : undefined;
}

function decodeEntry(entry: AuthEntry, file: string, registry: string): Credential | undefined {
  const credential: Credential = {};
  if (entry.auth) {
    let decoded: string;
    try {
      decoded = decodeBase64Utf8(entry.auth);
    } catch {
      throw new CredentialError(`Credentials file "${file}" has an invalid "auth" for "${registry}"`);
    }
    const colon = decoded.indexOf(":");
    if (colon < 0) {
      throw new CredentialError(`Credentials file "${file}" has an invalid "auth" for "${registry}"`);
    }
    credential.username = decoded.slice(0, colon);
    credential.password = decoded.slice(colon + 1);
  } else if (entry.username !== undefined) {
    credential.username = entry.username;
    credential.password = entry.password;
  }
  if (entry.identitytoken) credential.identityToken = entry.identitytoken;
  return credential.username !== undefined || credential.identityToken ? credential : undefined;
}

/**
 * The docker config files to read, in order: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
 *
 * @param env the environment (DOCKER_CONFIG, HOME, USERPROFILE)
 */
export function dockerConfigPaths(env: Record<string, string | undefined>): string[] {
  if (env.DOCKER_CONFIG) return [join(env.DOCKER_CONFIG, "config.json")];
  const home = env.HOME ?? env.USERPROFILE;
  return home ? [join(home, ".docker", "config.json")] : [];
}
