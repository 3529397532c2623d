/**
 * Builds the settings, credential store and registry client a command uses, from the global options and the
 * environment.
 *
 * @module
 */

import { RegistryClient } from "../oci/client.ts";
import { fetchWithTls } from "../oci/tls.ts";
import { type Credential, CredentialStore, dockerConfigPaths } from "../oci/credentials.ts";
import { type KpmSettings, loadSettings } from "../kpm/settings.ts";
import type { CommandContext } from "./command.ts";

/** Resolves kpm's settings for this command (flags > env > kpm.json > defaults). */
export function commandSettings(ctx: CommandContext): Promise<KpmSettings> {
  return loadSettings({ env: ctx.env, flags: { plainHttp: ctx.global.plainHttp || undefined } });
}

/**
 * The credential store: `--registry-config FILE`, else kpm's `$KCL_PKG_PATH/.kpm/config/config.json`, with
 * the docker config (and its helpers) read as a fallback.
 */
export function credentialStore(ctx: CommandContext, settings: KpmSettings): CredentialStore {
  const path = ctx.global.registryConfig ?? settings.credentialsFile;
  return new CredentialStore({
    path,
    fallbacks: dockerConfigPaths(ctx.env).filter((p) => p !== path),
    timeoutMs: ctx.global.timeoutMs,
  });
}

/**
 * The fetch registry requests go through: `ctx.fetch` with the CA and client certificate of `--ca-file`,
 * `--cert-file` and `--key-file`.
 *
 * @throws {TlsConfigError} when a file is missing or not PEM
 */
export function registryFetch(ctx: CommandContext): typeof fetch {
  return fetchWithTls(ctx.fetch, ctx.global.tls);
}

/**
 * The registry client of a command. Plain HTTP is used with `--plain-http` or `OCI_REG_PLAIN_HTTP=on`, and for
 * the default registry when kpm.json's DefaultOciPlainHttp says so; loopback registries try https, then http.
 *
 * @param options `credential` replaces the stored credentials (used by login to verify new ones)
 */
export function registryClient(
  ctx: CommandContext,
  settings: KpmSettings,
  options: { credential?: Credential } = {},
): RegistryClient {
  const store = options.credential ? undefined : credentialStore(ctx, settings);
  const plain = settings.plainHttp;
  return new RegistryClient({
    fetch: registryFetch(ctx),
    plainHttp: (registry) =>
      plain.value && (plain.source !== "kpm.json" || registry === settings.registry.value),
    credentials: store ? (registry) => store.get(registry) : () => Promise.resolve(options.credential),
    timeoutMs: ctx.global.timeoutMs,
    log: ctx.global.verbose ? (line) => ctx.writeError(`${line}\n`) : undefined,
  });
}
