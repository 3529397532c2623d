/**
 * The settings of the package commands, resolved like the reference kpm's: flags, then KPM_REG / KPM_REPO /
 * OCI_REG_PLAIN_HTTP, then kpm.json (or the old `.kpm/config.json`), then the defaults; and the compiler
 * (KPM_KCL_BIN); each with where it came from. Reads, never writes: a missing kpm.json stays missing.
 *
 * @module
 */

import { type ClientFlags, type ClientSettings, type Env, resolveClientSettings } from "./client_settings.ts";
import { DEFAULT_REGISTRY, DEFAULT_REPOSITORY, readKpmJson } from "./kpm_json.ts";
import { type Candidate, firstSetting, type Setting } from "./setting.ts";

/** The resolved settings of a package command. */
export interface KpmSettings extends ClientSettings {
  /** The settings file read: kpm.json, else the old config.json; kpm.json's path when neither exists. */
  settingsFile: string;
  /** The default registry of `NAME[:VERSION]` sources. */
  registry: Setting<string>;
  /** The default repository of `NAME[:VERSION]` sources. */
  repository: Setting<string>;
  /** Plain HTTP: the flag or env for every registry, else kpm.json's DefaultOciPlainHttp for `registry`. */
  plainHttp: Setting<boolean>;
  /** The KCL compiler `kpm run` hands packages to: `KPM_KCL_BIN`, else `kcl` on PATH. */
  compiler: Setting<string>;
}

/**
 * How many packages to download at once, as typed: `--concurrency N`, else KPM_CONCURRENCY (unset or empty:
 * not set), else undefined (the resolver's default). The caller checks the number.
 *
 * @param env the environment
 * @param flag the value of `--concurrency`, if given
 */
export function concurrencySetting(env: Env, flag?: string): Setting<string | undefined> {
  return firstSetting<string | undefined>(
    [[flag, "flag", "--concurrency"], [env.KPM_CONCURRENCY || undefined, "env", "KPM_CONCURRENCY"]],
    undefined,
  );
}

/**
 * Resolves the settings of a package command.
 *
 * @param env the environment
 * @param flags the global flags given
 * @throws {SettingsError} for an unreadable settings file, a bad OCI_REG_PLAIN_HTTP, or no home folder
 */
export async function resolveKpmSettings(env: Env, flags: ClientFlags = {}): Promise<KpmSettings> {
  const client = resolveClientSettings(env, flags);
  const { path, file } = await readKpmJson(client.home.value);
  const fromFile = <T>(value: T | undefined): Candidate<T> => [value, "kpm.json", path];
  const plainHttp = typeof file.DefaultOciPlainHttp === "boolean" ? file.DefaultOciPlainHttp : undefined;
  return {
    ...client,
    settingsFile: path,
    registry: firstSetting(
      [[env.KPM_REG || undefined, "env", "KPM_REG"], fromFile(file.DefaultOciRegistry || undefined)],
      DEFAULT_REGISTRY,
    ),
    repository: firstSetting(
      [[env.KPM_REPO || undefined, "env", "KPM_REPO"], fromFile(file.DefaultOciRepo || undefined)],
      DEFAULT_REPOSITORY,
    ),
    plainHttp: client.plainHttp.source === "default"
      ? firstSetting([fromFile(plainHttp)], false)
      : client.plainHttp,
    compiler: firstSetting([[env.KPM_KCL_BIN || undefined, "env", "KPM_KCL_BIN"]], "kcl"),
  };
}
