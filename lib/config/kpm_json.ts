/**
 * kpm.json, the KCL package settings file the reference kpm keeps in `$KCL_PKG_PATH/.kpm/config/kpm.json`
 * (the older `$KCL_PKG_PATH/.kpm/config.json` is read when it is absent): reading it, and changing one key for
 * `kpm config set|unset`, the only command that writes it.
 *
 * @module
 */

import { join } from "node:path";
import { writeFileAtomic } from "../oci/atomic_file.ts";
import { readJsonObject } from "../oci/json_file.ts";
import { SettingsError } from "./setting.ts";

/** The reference kpm's default registry. */
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

/** The keys of kpm.json that `kpm config set|unset` changes. */
export const SETTING_KEYS = ["DefaultOciRegistry", "DefaultOciRepo", "DefaultOciPlainHttp"] as const;

/** `HOME/.kpm/config/kpm.json`, where kpm.json lives under kpm's home folder. */
export function kpmJsonPath(home: string): string {
  return join(home, ".kpm", "config", "kpm.json");
}

/**
 * Reads a settings file; undefined when it does not exist.
 *
 * @throws {SettingsError} when it cannot be read or is not a JSON object
 */
export function readSettingsFile(path: string): Promise<SettingsFile | undefined> {
  return readJsonObject<SettingsFile>(path, {
    label: "settings file",
    error: (message) => new SettingsError(message),
  });
}

/**
 * Reads the settings under kpm's home: kpm.json, else the old `.kpm/config.json`. Creates nothing.
 *
 * @param home kpm's home folder (`$KCL_PKG_PATH`)
 * @returns the file read (kpm.json's path when neither exists) and its content (empty when neither exists)
 * @throws {SettingsError} when the file cannot be read or is not a JSON object
 */
export async function readKpmJson(home: string): Promise<{ path: string; file: SettingsFile }> {
  for (const path of [kpmJsonPath(home), join(home, ".kpm", "config.json")]) {
    const file = await readSettingsFile(path);
    if (file) return { path, file };
  }
  return { path: kpmJsonPath(home), file: {} };
}

/**
 * Sets (or with `undefined` removes) one key of a kpm.json, keeping the others; written atomically, its folder
 * created when missing. DefaultOciPlainHttp takes `true`/`false`.
 *
 * @param path the kpm.json to change
 * @throws {SettingsError} for an unknown key, a bad value or an unreadable settings file
 */
export async function writeSetting(path: string, key: string, value: string | undefined): Promise<void> {
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
  const file: Record<string, unknown> = { ...await readSettingsFile(path) };
  if (parsed === undefined) delete file[known];
  else file[known] = parsed;
  await Deno.mkdir(join(path, ".."), { recursive: true });
  await writeFileAtomic(path, JSON.stringify(file));
}
