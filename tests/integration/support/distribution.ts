/**
 * Starts the CNCF `distribution` registry (Debian's `docker-registry` 2.8) for interop tests: on a free
 * loopback port, in a temp folder, with delete enabled, and no auth, htpasswd Basic auth (`htpasswd -Bbn`) or
 * token auth backed by the test issuer in ./token_issuer.ts.
 *
 * @example
 * ```ts
 * const registry = await startDistribution({ auth: "token", publicRepositories: ["library/public"] });
 * try {
 *   // push to `${registry.host}/library/app:1.0` as registry.users[0]
 * } finally {
 *   await registry.close();
 * }
 * ```
 *
 * @module
 */

import { join } from "node:path";
import { startTokenIssuer, type TokenIssuer } from "./token_issuer.ts";
import { freePort } from "./ports.ts";

/** A registry user. */
export interface DistributionUser {
  username: string;
  password: string;
}

/** Options of startDistribution. */
export interface DistributionOptions {
  auth: "none" | "htpasswd" | "token";
  /** Users for htpasswd and token mode; default one user `test` / `1234`. */
  users?: DistributionUser[];
  /** Token mode: repositories anonymous callers may pull. */
  publicRepositories?: string[];
}

/** A running distribution registry. */
export interface Distribution {
  /** `127.0.0.1:PORT`. */
  host: string;
  /** The `docker-registry` process (benchmarks read its memory from /proc). */
  pid: number;
  users: DistributionUser[];
  /** Token mode: how many token requests the issuer answered (0 otherwise). */
  tokenRequests(): number;
  /** Token mode: the issuer (its realm, service and request log). */
  issuer?: TokenIssuer;
  close(): Promise<void>;
}

async function htpasswdLines(users: DistributionUser[]): Promise<string> {
  let text = "";
  for (const { username, password } of users) {
    const out = await new Deno.Command("htpasswd", {
      args: ["-Bbn", username, password],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `Cannot run "htpasswd" for "${username}": ${new TextDecoder().decode(out.stderr).trim()}`,
      );
    }
    text += new TextDecoder().decode(out.stdout).trim() + "\n";
  }
  return text;
}

/**
 * Starts `docker-registry serve config.yml` and waits until `/v2/` answers.
 *
 * @param options auth mode, users, public repositories (token mode)
 * @returns the host, the users, a token-request counter and close()
 * @throws {Error} when the registry or a helper (htpasswd, openssl) cannot start
 */
export async function startDistribution(options: DistributionOptions): Promise<Distribution> {
  const users = options.users ?? [{ username: "test", password: "1234" }];
  const dir = await Deno.makeTempDir({ prefix: "kpm-distribution-" });
  let issuer: TokenIssuer | undefined;
  try {
    let auth = "";
    if (options.auth === "htpasswd") {
      await Deno.writeTextFile(join(dir, "htpasswd"), await htpasswdLines(users));
      auth = `auth:\n  htpasswd:\n    realm: kpm-test\n    path: ${join(dir, "htpasswd")}\n`;
    } else if (options.auth === "token") {
      issuer = await startTokenIssuer({ dir, users, publicRepositories: options.publicRepositories });
      auth = `auth:\n  token:\n    realm: ${issuer.realm}\n    service: ${issuer.service}\n` +
        `    issuer: ${issuer.issuer}\n    rootcertbundle: ${issuer.certFile}\n`;
    }
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = freePort();
      const config = join(dir, "config.yml");
      await Deno.writeTextFile(
        config,
        `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n` +
          `storage:\n  filesystem:\n    rootdirectory: ${join(dir, "data")}\n  delete:\n    enabled: true\n` +
          `  cache:\n    blobdescriptor: inmemory\n` +
          `http:\n  addr: 127.0.0.1:${port}\n${auth}`,
      );
      const child = new Deno.Command("docker-registry", {
        args: ["serve", config],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      let exited = false;
      child.status.then(() => exited = true);
      const host = `127.0.0.1:${port}`;
      let ready = false;
      for (let i = 0; i < 200 && !exited && !ready; i++) {
        ready = await fetch(`http://${host}/v2/`).then(
          async (r) => {
            await r.body?.cancel();
            return r.status === 200 || r.status === 401;
          },
          () => false,
        );
        if (!ready) await new Promise((r) => setTimeout(r, 50));
      }
      if (!ready) {
        if (!exited) child.kill("SIGTERM");
        await child.status;
        continue;
      }
      const started = issuer;
      return {
        host,
        pid: child.pid,
        users,
        issuer: started,
        tokenRequests: () => started?.requests.length ?? 0,
        close: async () => {
          child.kill("SIGTERM");
          await child.status;
          await started?.close();
          await Deno.remove(dir, { recursive: true });
        },
      };
    }
    throw new Error(`Cannot start "docker-registry" in "${dir}": it did not answer on /v2/`);
  } catch (error) {
    await issuer?.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
}
