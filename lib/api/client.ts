/**
 * The public registry client: credentials and transport settings, shared by every repository opened from it
 * (so tokens are reused).
 *
 * @module
 */

import { RegistryClient } from "../oci/client.ts";
import type { CredentialLookup } from "../oci/credentials.ts";
import { parseReference, type Reference } from "../oci/reference.ts";
import { Repository } from "../oci/repository.ts";
import { type Target, targetOf } from "./target.ts";

/** Options of a Client. */
export interface ClientOptions {
  /** Finds credentials for a registry host (see staticCredentials, dockerCredentials); anonymous when absent. */
  credentials?: CredentialLookup;
  /**
   * Plain HTTP for every registry, or for those the function picks. Otherwise https; a loopback registry that
   * cannot be reached over https is tried over http once, as docker does.
   */
  plainHttp?: boolean | ((registry: string) => boolean);
  /** The fetch every request goes through (default `globalThis.fetch`). */
  fetch?: typeof fetch;
  /** The User-Agent header (default `kpm/VERSION`). */
  userAgent?: string;
  /** Retries of idempotent requests on 429, 5xx and dropped connections (default 3). */
  retries?: number;
  /** Idle timeout of every request in milliseconds (default 30 s; 0: none). */
  timeoutMs?: number;
}

let internal: (client: Client) => RegistryClient;

/**
 * Talks to OCI registries: Basic and Bearer token authentication (tokens cached per scope), redirects that
 * never carry credentials to another origin, retries, and readable errors (`RegistryError`).
 *
 * @example Push and read back through a client, against kpm's embedded registry
 * ```ts
 * import { Client, serveRegistry, staticCredentials } from "@kcl/kpm";
 *
 * const registry = await serveRegistry({
 *   root: await Deno.makeTempDir(),
 *   users: [{ username: "test", password: "1234" }],
 * });
 * try {
 *   const client = new Client({
 *     credentials: staticCredentials({ [registry.host]: { username: "test", password: "1234" } }),
 *   });
 *   const repo = client.repository(`${registry.host}/demo`);
 *   const blob = await repo.pushBlob("hello");
 *   console.log(await repo.exists(blob)); // true
 * } finally {
 *   await registry.close();
 * }
 * ```
 */
export class Client {
  static {
    internal = (client) => client.#client;
  }

  #client: RegistryClient;

  /**
   * Makes a client; nothing is read or sent until a repository is used.
   *
   * @param options credentials, plain HTTP, fetch, User-Agent and retries
   */
  constructor(options: ClientOptions = {}) {
    this.#client = new RegistryClient({
      credentials: options.credentials,
      plainHttp: options.plainHttp,
      fetch: options.fetch,
      userAgent: options.userAgent,
      retries: options.retries,
      timeoutMs: options.timeoutMs,
    });
  }

  /**
   * Opens a registry repository (`host[:port]/path`; a tag or digest in the reference is ignored).
   *
   * @throws {ReferenceFormatError} for a malformed reference
   * @example
   * ```ts
   * import { Client } from "@kcl/kpm";
   *
   * const repo = new Client().repository("ghcr.io/kcl-lang/k8s:1.28");
   * console.log(repo.name); // ghcr.io/kcl-lang/k8s
   * ```
   */
  repository(reference: string | Reference): Target {
    const ref = typeof reference === "string" ? parseReference(reference) : reference;
    return targetOf(new Repository(this.#client, ref));
  }
}

/** The internal client (for lib/api only; not exported from mod.ts). */
export function registryClientOf(client: Client): RegistryClient {
  return internal(client);
}
