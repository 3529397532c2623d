/**
 * The registries the package-manager tests run against, each with the user test/1234: the CNCF distribution
 * with htpasswd (Basic) auth and with token auth, and kpm's embedded registry. Also the peer check: a missing
 * `docker-registry`, `htpasswd` or `openssl` skips the distribution cases with a message outside CI and fails
 * them when CI=true.
 *
 * @module
 */

import { startDistribution } from "./support/distribution.ts";
import { missingPeers } from "./support/peers.ts";
import { startEmbeddedRegistry } from "./support/embedded.ts";

/** A running registry. */
export interface KpmTestRegistry {
  /** `127.0.0.1:PORT`. */
  host: string;
  close(): Promise<void>;
}

/** One entry of the matrix: a label, how to start it, or why it cannot run here. */
export interface RegistryCase {
  label: string;
  start?: () => Promise<KpmTestRegistry>;
  /** Set when a peer is missing: the case is skipped (or fails under CI=true) with this message. */
  missing?: string;
}

/** The user every registry of the matrix knows. */
export const USER = { username: "test", password: "1234" };

/** The matrix of registries for the package-manager tests. */
async function registryCases(): Promise<RegistryCase[]> {
  const cases: RegistryCase[] = [];
  const absent = await missingPeers(["docker-registry", "htpasswd", "openssl"]);
  const missing = absent.length
    ? `${absent.join(", ")} not installed (apt-get install docker-registry apache2-utils openssl)`
    : undefined;
  if (missing) {
    cases.push({ label: "distribution (htpasswd)", missing }, { label: "distribution (token)", missing });
  } else {
    for (const auth of ["htpasswd", "token"] as const) {
      cases.push({
        label: `distribution (${auth})`,
        start: () => startDistribution({ auth, users: [USER] }),
      });
    }
  }
  cases.push({ label: "embedded registry", start: () => startEmbeddedRegistry({ users: [USER] }) });
  return cases;
}

/**
 * Registers `body` as one Deno test per registry of the matrix; a case whose peer (a registry's, or one of
 * `options.peers`, the clients the test runs) is missing is ignored with a message, or fails when CI=true.
 */
export async function forEachRegistry(
  name: string,
  body: (t: Deno.TestContext, registry: KpmTestRegistry) => Promise<void>,
  options: { only?: (label: string) => boolean; peers?: string[] } = {},
): Promise<void> {
  const absent = await missingPeers(options.peers ?? []);
  const clientsMissing = absent.length ? `${absent.join(", ")} not found (run scripts/peers.sh)` : undefined;
  for (const entry of await registryCases()) {
    if (options.only && !options.only(entry.label)) continue;
    const title = `${name} (${entry.label})`;
    const missing = entry.missing ?? clientsMissing;
    if (missing) {
      const ci = Deno.env.get("CI") === "true";
      if (!ci) console.warn(`skipping "${title}": ${missing}`);
      Deno.test({
        name: title,
        ignore: !ci,
        fn: () => {
          throw new Error(`Cannot run "${title}" under CI: ${missing}`);
        },
      });
      continue;
    }
    const start = entry.start!;
    Deno.test(title, async (t) => {
      const registry = await start();
      try {
        await body(t, registry);
      } finally {
        await registry.close();
      }
    });
  }
}
