/**
 * A resolved setting: its value and where the value came from (a flag, an environment variable, kpm.json or
 * kpm's default), and the error a bad setting raises.
 *
 * @module
 */

/** The kind of place a setting's value came from. */
export type SettingSource = "flag" | "env" | "kpm.json" | "default";

/** A resolved setting and its origin. */
export interface Setting<T> {
  /** The value in effect. */
  value: T;
  /** The kind of place it came from. */
  source: SettingSource;
  /**
   * Exactly where: the flag (`--plain-http`), the environment variable (`KPM_REG`), the settings file's path,
   * or `default` (for a default derived from another variable, that variable: `HOME`).
   */
  origin: string;
}

/** Thrown for a bad settings file, environment variable or setting value. */
export class SettingsError extends Error {
  /** The error's class name. */
  override name = "SettingsError";
}

/** One place a setting may come from: its value there (undefined: not set there), its kind and its name. */
export type Candidate<T> = readonly [value: T | undefined, source: SettingSource, origin: string];

/**
 * The first candidate that is set, else the default.
 *
 * @param candidates the places in order of precedence (flag, env, kpm.json)
 * @param fallback kpm's default
 * @example firstSetting([[undefined, "flag", "--plain-http"], [true, "env", "OCI_REG_PLAIN_HTTP"]], false)
 *   // { value: true, source: "env", origin: "OCI_REG_PLAIN_HTTP" }
 */
export function firstSetting<T>(candidates: readonly Candidate<T>[], fallback: T): Setting<T> {
  for (const [value, source, origin] of candidates) {
    if (value !== undefined) return { value, source, origin };
  }
  return { value: fallback, source: "default", origin: "default" };
}
