/**
 * The settings, credential store and registry client of a registry command, from the global options and the
 * environment (lib/config/client_settings.ts: no kpm.json, no KPM_REG / KPM_REPO).
 *
 * @module
 */

import { RegistryClient } from "../oci/client.ts";
import { fetchWithTls } from "../oci/tls.ts";
import { type Credential, CredentialStore } from "../oci/credentials.ts";
import { type ClientFlags, type ClientSettings, resolveClientSettings } from "../config/client_settings.ts";
import { type PlainHttpSettings, usesPlainHttp } from "../config/plain_http.ts";
import type { CommandContext } from "./command.ts";
import { interruptSignal } from "./interrupt.ts";

/** The global flags that settle a setting. */
export function settingFlags(ctx: CommandContext): ClientFlags {
  return { plainHttp: ctx.global.plainHttp, registryConfig: ctx.global.registryConfig };
}

/**
 * Resolves the settings of a registry command (flags > env > defaults).
 *
 * @throws {SettingsError} for a bad OCI_REG_PLAIN_HTTP, or no home folder
 */
export function clientSettings(ctx: CommandContext): ClientSettings {
  return resolveClientSettings(ctx.env, settingFlags(ctx));
}

/**
 * The credential store: `--registry-config FILE`, else kpm's `$KCL_PKG_PATH/.kpm/config/config.json`, with
 * the docker config (and its helpers) read as a fallback.
 */
export function credentialStore(ctx: CommandContext, settings: ClientSettings): CredentialStore {
  const path = settings.credentialsFile.value;
  return new CredentialStore({
    path,
    fallbacks: settings.dockerConfigFiles.value.filter((p) => p !== path),
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
 * The registry client of a command, plain HTTP by the one rule of lib/config/plain_http.ts.
 *
 * @param options `credential` replaces the stored credentials (used by login to verify new ones)
 */
export function registryClient(
  ctx: CommandContext,
  settings: ClientSettings & PlainHttpSettings,
  options: { credential?: Credential } = {},
): RegistryClient {
  const store = options.credential ? undefined : credentialStore(ctx, settings);
  return new RegistryClient({
    fetch: registryFetch(ctx),
    plainHttp: (registry) => usesPlainHttp(settings, registry),
    credentials: store ? (registry) => store.get(registry) : () => Promise.resolve(options.credential),
    timeoutMs: ctx.global.timeoutMs,
    log: ctx.global.verbose ? (line) => ctx.writeError(`${line}\n`) : undefined,
    signal: interruptSignal(),
  });
}
