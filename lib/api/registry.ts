/**
 * `serveRegistry`: kpm's embedded OCI registry (distribution API v1.1, referrers included), for scripts and
 * tests that need a registry on this machine with no Docker: the same server as `kpm registry serve`.
 *
 * @module
 */

import { type RegistryOptions, type RunningRegistry, startRegistry } from "../server/registry.ts";

/** Options of serveRegistry: `root` (the storage folder), `hostname`, `port` (0: a free one), `users`, `htpasswd`. */
export type ServeRegistryOptions = RegistryOptions;

/** A running registry: its `host` (`127.0.0.1:PORT`), `url`, `port`, and `close()`. */
export type RunningRegistryServer = RunningRegistry;

/**
 * Starts kpm's embedded registry on 127.0.0.1 (a free port unless `port` is given). Data lives in `root` and
 * survives restarts; with `users` or `htpasswd` it takes Basic auth and Bearer tokens from its `/token`.
 * Deno only (it listens with `Deno.serve`).
 *
 * @throws {Error} when the folder cannot be created, the htpasswd file is invalid, or the port is taken
 * @example
 * ```ts
 * import { serveRegistry } from "@kcl/kpm";
 *
 * const registry = await serveRegistry({ root: await Deno.makeTempDir() });
 * console.log(registry.host); // 127.0.0.1:40123
 * await registry.close();
 * ```
 */
export async function serveRegistry(options: ServeRegistryOptions): Promise<RunningRegistryServer> {
  return await startRegistry(options);
}
