/**
 * What every package command needs: settings, the registry client, the cache home, the trust policy's checks
 * (off, loudly, with --no-verify), and source parsing with the one-time lowercase note.
 *
 * @module
 */

import type { RegistryClient } from "../oci/client.ts";
import { concurrencySetting, type KpmSettings, resolveKpmSettings } from "../config/kpm_settings.ts";
import { tempRoot } from "../kpm/cache.ts";
import type { GitOptions } from "../kpm/git_command.ts";
import { type PackageSource, parseSource, SourceError } from "../kpm/source.ts";
import { type PackageVerifier, readTrustPolicy, trustPolicyVerifier } from "../kpm/trust_policy.ts";
import { ReferenceFormatError } from "../oci/reference.ts";
import { asUsageError, type CommandContext, UsageError } from "./command.ts";
import { registryClient, settingFlags } from "./registry_context.ts";
import { interruptSignal } from "./interrupt.ts";

/** The options a package command may have that its context reads. */
type PackageCommandContext = CommandContext & { options: { concurrency?: string; "no-verify"?: boolean } };

/** Settings, client and helpers of a package command. */
export interface KpmContext {
  settings: KpmSettings;
  client: RegistryClient;
  /** The package cache (`$KCL_PKG_PATH`). */
  home: string;
  /** Temporary files (same filesystem as the cache, so renames are atomic). */
  tempDir: string;
  /** How many packages to download at once: `--concurrency N`, else $KPM_CONCURRENCY, else undefined. */
  concurrency?: number;
  /** The trust policy's checks; undefined without a policy or with --no-verify. */
  verify?: PackageVerifier;
  /** How git sources are cloned: `--timeout` as git's idle timeout, and Ctrl-C stops git. */
  git: GitOptions;
  /** Parses a SOURCE argument with the default registry/repository. */
  source(input: string, tag?: string): PackageSource;
}

/**
 * Resolves the settings of a package command (flags > env > kpm.json > defaults); creates nothing.
 *
 * @throws {SettingsError} for an unreadable settings file, a bad OCI_REG_PLAIN_HTTP, or no home folder
 */
export function kpmSettings(ctx: CommandContext): Promise<KpmSettings> {
  return resolveKpmSettings(ctx.env, settingFlags(ctx));
}

/** Builds the KpmContext of a command. */
export async function kpmContext(ctx: PackageCommandContext): Promise<KpmContext> {
  const settings = await kpmSettings(ctx);
  let warned = false;
  const limit = concurrencySetting(ctx.env, ctx.options.concurrency).value;
  if (limit !== undefined && !/^[1-9]\d*$/.test(limit)) {
    throw new UsageError(`Invalid concurrency "${limit}": expected a whole number of 1 or more`);
  }
  const client = registryClient(ctx, settings);
  const verify = await policyVerifier(ctx, settings, client);
  return {
    ...(limit !== undefined && { concurrency: Number(limit) }),
    ...(verify && { verify }),
    settings,
    client,
    home: settings.home.value,
    tempDir: tempRoot(settings.home.value),
    git: { timeoutMs: ctx.global.timeoutMs, signal: interruptSignal() },
    source: (input, tag) =>
      asUsageError(() =>
        parseSource(input, {
          defaults: { registry: settings.registry.value, repository: settings.repository.value },
          tag,
          cwd: ctx.cwd,
          stat: (path) => {
            try {
              const info = Deno.statSync(path);
              return info.isDirectory ? "dir" : "file";
            } catch {
              return undefined;
            }
          },
          onLowercase: (from, to) => {
            if (warned) return;
            warned = true;
            ctx.log(`note: OCI repository names are lowercase; using "${to}" for "${from}"`);
          },
        }), [SourceError, ReferenceFormatError]),
  };
}

/** The trust policy of kpm.json as checks, unless --no-verify (which says so on stderr, even with --quiet). */
async function policyVerifier(
  ctx: PackageCommandContext,
  settings: KpmSettings,
  client: RegistryClient,
): Promise<PackageVerifier | undefined> {
  const policy = await readTrustPolicy(settings.settingsFile);
  if (ctx.options["no-verify"] === true) {
    const ignored = policy ? `; the trust policy in "${policy.file}" is IGNORED` : "";
    ctx.writeError(`warning: --no-verify: package signatures are NOT checked${ignored}\n`);
    return undefined;
  }
  return policy && trustPolicyVerifier(client, policy);
}
