/**
 * kpm settings resolved like the reference kpm: flags, then KPM_REG / KPM_REPO / OCI_REG_PLAIN_HTTP, then
 * `$KCL_PKG_PATH/.kpm/config/kpm.json` (or the old `$KCL_PKG_PATH/.kpm/config.json`), then the defaults.
 *
 * @module
 */

import { join } from "node:path";
import { writeFileAtomic } from "../oci/atomic_file.ts";

/** Where a setting's value came from. */
export type SettingSource = "flag" | "env" | "kpm.json" | "default";

/** A resolved setting and its origin. */
export interface Setting<T> {
  value: T;
  source: SettingSource;
}

/** The resolved settings. */
export interface KpmSettings {
  /** `$KCL_PKG_PATH`, else `$HOME/.kcl/kpm`: the package cache and config home. */
  home: string;
  /** The settings file actually read (or created). */
  settingsFile: string;
  /** The credentials file kpm writes logins to. */
  credentialsFile: string;
  registry: Setting<string>;
  repository: Setting<string>;
  plainHttp: Setting<boolean>;
}

/** Thrown for a bad settings file or environment variable. */
export class SettingsError extends Error {
  override name = "SettingsError";
}

/** The reference kpm's defaults. */
export const DEFAULT_REGISTRY = "ghcr.io";
/** The reference kpm's default repository. */
export const DEFAULT_REPOSITORY = "kcl-lang";

/** kpm.json as read (every field unchecked: the caller validates what it uses). */
export interface SettingsFile {
  DefaultOciRegistry?: string;
  DefaultOciRepo?: string;
  DefaultOciPlainHttp?: boolean;
  /** The trust policy (lib/kpm/trust_policy.ts). */
  TrustPolicy?: unknown;
}

/**
 * `$KCL_PKG_PATH`, else `$HOME/.kcl/kpm`.
 *
 * @throws {SettingsError} when neither KCL_PKG_PATH nor a home folder is known
 */
export function kpmHome(env: Record<string, string | undefined>): string {
  if (env.KCL_PKG_PATH) return env.KCL_PKG_PATH;
  const home = env.HOME ?? env.USERPROFILE;
  if (!home) throw new SettingsError("Cannot find the home folder: set HOME or KCL_PKG_PATH");
  return join(home, ".kcl", "kpm");
}

/** Parses OCI_REG_PLAIN_HTTP (`on`/`off`); undefined when unset or empty. */
export function plainHttpFromEnv(env: Record<string, string | undefined>): boolean | undefined {
  const value = env.OCI_REG_PLAIN_HTTP;
  if (value === undefined || value === "") return undefined;
  if (value === "on") return true;
  if (value === "off") return false;
  throw new SettingsError(`Invalid OCI_REG_PLAIN_HTTP "${value}": expected "on" or "off"`);
}

/**
 * Reads a settings file; undefined when it does not exist.
 *
 * @throws {SettingsError} when it cannot be read or is not a JSON object
 */
export async function readSettingsFile(path: string): Promise<SettingsFile | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new SettingsError(`Cannot read settings file "${path}": ${(error as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text);
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not a JSON object");
    return parsed as SettingsFile;
  } catch (error) {
    throw new SettingsError(`Settings file "${path}" is not valid: ${(error as Error).message}`);
  }
}

/**
 * Resolves the settings, creating kpm.json with the defaults when neither it nor the old file exists (as the
 * reference does).
 *
 * @param options the environment and the flags that override it
 * @throws {SettingsError} for an unreadable settings file or a bad OCI_REG_PLAIN_HTTP
 */
export async function loadSettings(
  options: {
    env: Record<string, string | undefined>;
    flags?: { registry?: string; repository?: string; plainHttp?: boolean };
  },
): Promise<KpmSettings> {
  const { env, flags = {} } = options;
  const home = kpmHome(env);
  const settingsFile = join(home, ".kpm", "config", "kpm.json");
  const oldFile = join(home, ".kpm", "config.json");
  let file = await readSettingsFile(settingsFile);
  let readFrom = settingsFile;
  if (!file) {
    file = await readSettingsFile(oldFile);
    if (file) readFrom = oldFile;
  }
  if (!file) {
    file = {};
    const defaults = { DefaultOciRegistry: DEFAULT_REGISTRY, DefaultOciRepo: DEFAULT_REPOSITORY };
    try {
      await Deno.mkdir(join(home, ".kpm", "config"), { recursive: true });
      await writeFileAtomic(settingsFile, JSON.stringify({ ...defaults, DefaultOciPlainHttp: false }));
    } catch {
      // a read-only home still works with the defaults
    }
  }
  const pick = <T>(
    flag: T | undefined,
    fromEnv: T | undefined,
    fromFile: T | undefined,
    fallback: T,
  ): Setting<T> =>
    flag !== undefined
      ? { value: flag, source: "flag" }
      : fromEnv !== undefined
      ? { value: fromEnv, source: "env" }
      : fromFile !== undefined
      ? { value: fromFile, source: "kpm.json" }
      : { value: fallback, source: "default" };
  return {
    home,
    settingsFile: readFrom,
    credentialsFile: join(home, ".kpm", "config", "config.json"),
    registry: pick(
      flags.registry,
      env.KPM_REG || undefined,
      file.DefaultOciRegistry || undefined,
      DEFAULT_REGISTRY,
    ),
    repository: pick(
      flags.repository,
      env.KPM_REPO || undefined,
      file.DefaultOciRepo || undefined,
      DEFAULT_REPOSITORY,
    ),
    plainHttp: pick(
      flags.plainHttp || undefined,
      plainHttpFromEnv(env),
      typeof file.DefaultOciPlainHttp === "boolean" ? file.DefaultOciPlainHttp : undefined,
      false,
    ),
  };
}

/** The keys of kpm.json that `kpm config set|unset` changes. */
export const SETTING_KEYS = ["DefaultOciRegistry", "DefaultOciRepo", "DefaultOciPlainHttp"] as const;

/**
 * Sets (or with `undefined` removes) one key of `$KCL_PKG_PATH/.kpm/config/kpm.json`, keeping the others;
 * written atomically. DefaultOciPlainHttp takes `true`/`false`.
 *
 * @returns the settings file written
 * @throws {SettingsError} for an unknown key, a bad value or an unreadable settings file
 */
export async function writeSetting(
  env: Record<string, string | undefined>,
  key: string,
  value: string | undefined,
): Promise<string> {
  const known = SETTING_KEYS.find((k) => k.toLowerCase() === key.toLowerCase());
  if (!known) throw new SettingsError(`Unknown setting "${key}": expected one of ${SETTING_KEYS.join(", ")}`);
  let parsed: string | boolean | undefined = value;
  if (known === "DefaultOciPlainHttp" && value !== undefined) {
    if (value !== "true" && value !== "false") {
      throw new SettingsError(`Invalid ${known} "${value}": expected true or false`);
    }
    parsed = value === "true";
  } else if (value !== undefined && (value.trim() === "" || /[\s"]/.test(value))) {
    throw new SettingsError(`Invalid ${known} "${value}": expected a value without spaces or quotes`);
  }
  const path = join(kpmHome(env), ".kpm", "config", "kpm.json");
  const file: Record<string, unknown> = { ...await readSettingsFile(path) };
  if (parsed === undefined) delete file[known];
  else file[known] = parsed;
  await Deno.mkdir(join(path, ".."), { recursive: true });
  await writeFileAtomic(path, JSON.stringify(file));
  return path;
}
