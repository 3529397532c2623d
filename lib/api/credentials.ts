/**
 * Where a Client finds registry credentials: given ones, or docker's config.json with its credential helpers.
 *
 * @module
 */

import process from "node:process";
import {
  type Credential,
  type CredentialLookup,
  CredentialStore,
  dockerConfigPaths,
} from "../oci/credentials.ts";

export type { Credential, CredentialLookup };

/**
 * Credentials given in code, per registry host (`ghcr.io`, `localhost:5000`, `docker.io`); other hosts get none.
 *
 * @example
 * ```ts
 * import { Client, staticCredentials } from "@kcl/kpm";
 *
 * const client = new Client({
 *   credentials: staticCredentials({ "localhost:5000": { username: "test", password: "1234" } }),
 * });
 * console.log(client.repository("localhost:5000/demo").name); // localhost:5000/demo
 * ```
 */
export function staticCredentials(byRegistry: Record<string, Credential>): CredentialLookup {
  const table = new Map(Object.entries(byRegistry));
  return (registry) => Promise.resolve(table.get(registry));
}

/**
 * Credentials from a docker config.json (`auths`, and the `docker-credential-*` helpers its `credsStore` and
 * `credHelpers` name), as `docker login` and `kpm registry login` write them. The file is read when a registry
 * first asks for credentials; a missing file means none.
 *
 * @param options `configFile` (default `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`); `env` the
 *   environment those come from (default the process's)
 * @throws {CredentialError} (from the lookup) when the file is not valid JSON or a helper fails
 * @example
 * ```ts
 * import { Client, dockerCredentials } from "@kcl/kpm";
 *
 * const dir = await Deno.makeTempDir();
 * const auth = btoa("test:1234");
 * await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ auths: { "localhost:5000": { auth } } }));
 * const credentials = dockerCredentials({ configFile: `${dir}/config.json` });
 * console.log((await credentials("localhost:5000"))?.username); // test
 * const client = new Client({ credentials });
 * ```
 */
export function dockerCredentials(
  options: { configFile?: string; env?: Record<string, string | undefined> } = {},
): CredentialLookup {
  let store: CredentialStore | undefined | null;
  return async (registry) => {
    if (store === undefined) {
      const [path, ...fallbacks] = options.configFile
        ? [options.configFile]
        : dockerConfigPaths(options.env ?? process.env);
      store = path ? new CredentialStore({ path, fallbacks }) : null;
    }
    return await store?.get(registry);
  };
}
