/**
 * Builds the credential store and registry client a command uses, from the global options and environment.
 *
 * @module
 */

import { join } from "node:path";
import { RegistryClient } from "../oci/client.ts";
import { type Credential, CredentialStore, dockerConfigPaths } from "../oci/credentials.ts";
import { UsageError } from "./command.ts";
import type { CommandContext } from "./command.ts";

/** `$KCL_PKG_PATH`, else `$HOME/.kcl/kpm`. */
export function kpmHome(env: Record<string, string | undefined>): string {
  if (env.KCL_PKG_PATH) return env.KCL_PKG_PATH;
  const home = env.HOME ?? env.USERPROFILE;
  if (!home) throw new UsageError("Cannot find the home folder: set HOME or KCL_PKG_PATH");
  return join(home, ".kcl", "kpm");
}

/**
 * The credential store: `--registry-config FILE`, else kpm's `$KCL_PKG_PATH/.kpm/config/config.json`, with
 * the docker config (and its helpers) read as a fallback.
 */
export function credentialStore(ctx: CommandContext): CredentialStore {
  const path = ctx.global.registryConfig ?? join(kpmHome(ctx.env), ".kpm", "config", "config.json");
  return new CredentialStore({ path, fallbacks: dockerConfigPaths(ctx.env).filter((p) => p !== path) });
}

/** Whether plain HTTP is on: `--plain-http`, or `OCI_REG_PLAIN_HTTP=on` as the reference kpm reads it. */
export function plainHttpWanted(ctx: CommandContext): boolean {
  const value = ctx.env.OCI_REG_PLAIN_HTTP;
  if (value !== undefined && value !== "" && value !== "on" && value !== "off") {
    throw new UsageError(`Invalid OCI_REG_PLAIN_HTTP "${value}": expected "on" or "off"`);
  }
  return ctx.global.plainHttp || value === "on";
}

/**
 * The registry client of a command.
 *
 * @param options `credential` replaces the stored credentials (used by login to verify new ones)
 */
export function registryClient(
  ctx: CommandContext,
  options: { credential?: Credential; plainHttp?: boolean } = {},
): RegistryClient {
  const store = options.credential ? undefined : credentialStore(ctx);
  return new RegistryClient({
    fetch: ctx.fetch,
    plainHttp: options.plainHttp ?? plainHttpWanted(ctx),
    credentials: store ? (registry) => store.get(registry) : () => Promise.resolve(options.credential),
    log: ctx.global.verbose ? (line) => ctx.writeError(`${line}\n`) : undefined,
  });
}
