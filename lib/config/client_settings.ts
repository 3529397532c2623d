/**
 * The settings every registry command uses (artifact, registry, chart-repo), and the base of the package
 * commands': kpm's home, the credential files and plain HTTP, from the flags and the environment only. Nothing
 * here reads kpm.json or KPM_REG / KPM_REPO (lib/config/kpm_settings.ts adds those), and nothing writes.
 *
 * @module
 */

import { join } from "node:path";
import { dockerConfigPaths } from "../oci/credentials.ts";
import { firstSetting, type Setting, SettingsError } from "./setting.ts";

/** The environment, as the CLI passes it in. */
export type Env = Record<string, string | undefined>;

/** The global flags that settle a client setting. */
export interface ClientFlags {
  /** `--plain-http` (false: not given). */
  plainHttp?: boolean;
  /** `--registry-config FILE`. */
  registryConfig?: string;
}

/** The resolved settings of a registry command. */
export interface ClientSettings {
  /** `$KCL_PKG_PATH`, else `$HOME/.kcl/kpm`: the package cache and the home of kpm's own files. */
  home: Setting<string>;
  /** The credentials file logins are stored in: `--registry-config`, else `HOME/.kpm/config/config.json`. */
  credentialsFile: Setting<string>;
  /** The docker config files credentials are also read from: `$DOCKER_CONFIG`, else `~/.docker`. */
  dockerConfigFiles: Setting<string[]>;
  /** Plain HTTP for every registry: `--plain-http`, else `OCI_REG_PLAIN_HTTP` (`on`/`off`). */
  plainHttp: Setting<boolean>;
}

/**
 * kpm's home: `$KCL_PKG_PATH`, else `$HOME/.kcl/kpm` (`%USERPROFILE%` without HOME).
 *
 * @throws {SettingsError} when neither KCL_PKG_PATH nor a home folder is known
 */
export function kpmHome(env: Env): Setting<string> {
  if (env.KCL_PKG_PATH) return { value: env.KCL_PKG_PATH, source: "env", origin: "KCL_PKG_PATH" };
  const origin = env.HOME !== undefined ? "HOME" : "USERPROFILE";
  const home = env[origin];
  if (!home) throw new SettingsError("Cannot find the home folder: set HOME or KCL_PKG_PATH");
  return { value: join(home, ".kcl", "kpm"), source: "default", origin };
}

/**
 * Plain HTTP for every registry: `--plain-http`, else OCI_REG_PLAIN_HTTP (`on`/`off`, as the reference kpm
 * reads it; unset or empty: not set), else off. Needs no home folder.
 *
 * @throws {SettingsError} for any other OCI_REG_PLAIN_HTTP
 */
export function plainHttpSetting(env: Env, flags: ClientFlags = {}): Setting<boolean> {
  const value = env.OCI_REG_PLAIN_HTTP;
  if (value && value !== "on" && value !== "off") {
    throw new SettingsError(`Invalid OCI_REG_PLAIN_HTTP "${value}": expected "on" or "off"`);
  }
  return firstSetting([
    [flags.plainHttp || undefined, "flag", "--plain-http"],
    [value ? value === "on" : undefined, "env", "OCI_REG_PLAIN_HTTP"],
  ], false);
}

/**
 * Resolves the settings of a registry command: flags over the environment over the defaults. Reads no file.
 *
 * @param env the environment
 * @param flags the global flags given
 * @throws {SettingsError} for a bad OCI_REG_PLAIN_HTTP, or no home folder
 */
export function resolveClientSettings(env: Env, flags: ClientFlags = {}): ClientSettings {
  const home = kpmHome(env);
  return {
    home,
    credentialsFile: firstSetting(
      [[flags.registryConfig, "flag", "--registry-config"]],
      join(home.value, ".kpm", "config", "config.json"),
    ),
    dockerConfigFiles: env.DOCKER_CONFIG
      ? { value: dockerConfigPaths(env), source: "env", origin: "DOCKER_CONFIG" }
      : { value: dockerConfigPaths(env), source: "default", origin: "HOME" },
    plainHttp: plainHttpSetting(env, flags),
  };
}
