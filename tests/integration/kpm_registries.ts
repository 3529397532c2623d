/**
 * The registries the package-manager tests run against, each with the user test/1234: the CNCF distribution
 * with htpasswd (Basic) auth and with token auth (through tests/integration/support/distribution.ts once it
 * exists; until then htpasswd only, started by the chart-repo helper), and kpm's embedded registry once
 * lib/server/registry.ts exists. Also the peer check: a missing `docker-registry` or `htpasswd` skips the
 * distribution cases with a message outside CI and fails them when CI=true.
 *
 * @module
 */

import { startDockerRegistry } from "./chart_fixture.ts";

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

async function exists(url: URL): Promise<boolean> {
  return await Deno.stat(url).then(() => true, () => false);
}

async function onPath(command: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(command, { args: ["--help"], stdout: "null", stderr: "null" })
      .output();
    return out.code !== 127;
  } catch {
    return false;
  }
}

async function htpasswdLine(username: string, password: string): Promise<string> {
  const out = await new Deno.Command("htpasswd", { args: ["-Bbn", username, password], stdout: "piped" })
    .output();
  return new TextDecoder().decode(out.stdout).trim() + "\n";
}

/** The matrix of registries for the package-manager tests. */
export async function registryCases(): Promise<RegistryCase[]> {
  const cases: RegistryCase[] = [];
  const peers = [
    await onPath("docker-registry") ? "" : "docker-registry",
    await onPath("htpasswd") ? "" : "htpasswd",
  ]
    .filter(Boolean);
  const missing = peers.length
    ? `${peers.join(" and ")} not installed (apt-get install docker-registry apache2-utils)`
    : undefined;
  const support = new URL("./support/distribution.ts", import.meta.url);
  if (missing) {
    cases.push({ label: "distribution (htpasswd)", missing }, { label: "distribution (token)", missing });
  } else if (await exists(support)) {
    const { startDistribution } = await import(support.href);
    for (const auth of ["htpasswd", "token"]) {
      cases.push({
        label: `distribution (${auth})`,
        start: () => startDistribution({ auth, users: [USER] }) as Promise<KpmTestRegistry>,
      });
    }
  } else {
    cases.push({
      label: "distribution (htpasswd)",
      start: async () => startDockerRegistry({ htpasswd: await htpasswdLine(USER.username, USER.password) }),
    });
  }
  const embedded = new URL("../../lib/server/registry.ts", import.meta.url);
  if (await exists(embedded)) {
    const { startRegistry } = await import(embedded.href);
    cases.push({
      label: "embedded registry",
      start: async () => {
        const root = await Deno.makeTempDir({ prefix: "kpm-pm-reg-" });
        const server = await startRegistry({ root, port: 0, hostname: "127.0.0.1", users: [USER] });
        return {
          host: server.host,
          close: async () => {
            await server.close();
            await Deno.remove(root, { recursive: true });
          },
        };
      },
    });
  }
  return cases;
}

/**
 * Registers `body` as one Deno test per registry of the matrix; a case whose peer is missing is ignored with a
 * message, or fails when CI=true.
 */
export async function forEachRegistry(
  name: string,
  body: (t: Deno.TestContext, registry: KpmTestRegistry) => Promise<void>,
  options: { only?: (label: string) => boolean } = {},
): Promise<void> {
  for (const entry of await registryCases()) {
    if (options.only && !options.only(entry.label)) continue;
    const title = `${name} (${entry.label})`;
    if (entry.missing) {
      const ci = Deno.env.get("CI") === "true";
      if (!ci) console.warn(`skipping "${title}": ${entry.missing}`);
      Deno.test({
        name: title,
        ignore: !ci,
        fn: () => {
          throw new Error(`Cannot run "${title}" under CI: ${entry.missing}`);
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
