/**
 * The idle timeout setting of every command that talks to a registry or a credential helper (`--timeout`,
 * KPM_TIMEOUT). Its own file: the router reads it for every command, before any registry code is loaded.
 *
 * @module
 */

import { firstSetting, type Setting } from "./setting.ts";

/**
 * The idle timeout as typed: `--timeout D`, else KPM_TIMEOUT (unset or empty: not set), else undefined (the
 * client's default). The caller parses the duration and names `origin` when it is not one.
 *
 * @param env the environment
 * @param flag the value of `--timeout`, if given
 */
export function timeoutSetting(
  env: Record<string, string | undefined>,
  flag?: string,
): Setting<string | undefined> {
  return firstSetting<string | undefined>(
    [[flag, "flag", "--timeout"], [env.KPM_TIMEOUT || undefined, "env", "KPM_TIMEOUT"]],
    undefined,
  );
}
