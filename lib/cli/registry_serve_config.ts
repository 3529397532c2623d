/**
 * `kpm registry serve --config FILE`: the options of the command in a YAML file, keyed by their long names
 * (`addr`, `root`, `user`, `access`, `tls-cert`, `delete`, `upload-ttl`…). Flags on the command line win.
 * Relative paths in the file are relative to the file's folder.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { loadYaml } from "../deps.ts";
import { type OptionSpec, type OptionSpecs, type OptionValues, UsageError } from "./command.ts";

/** The options whose values are paths. */
const PATH_OPTIONS = new Set(["root", "htpasswd", "access", "tls-cert", "tls-key"]);
/** Largest configuration file read. */
const MAX_CONFIG_BYTES = 1024 * 1024;

function optionValue(
  file: string,
  key: string,
  spec: OptionSpec,
  value: unknown,
): string | boolean | string[] {
  const wrong = (expected: string) => new UsageError(`Invalid "${key}" in "${file}": expected ${expected}`);
  if (spec.type === "boolean") {
    if (typeof value !== "boolean") throw wrong("true or false");
    return value;
  }
  const scalar = (v: unknown) => {
    if (typeof v === "string" || typeof v === "number") return String(v);
    throw wrong(spec.multiple ? "a list of strings" : "a string");
  };
  if (spec.multiple) return (Array.isArray(value) ? value : [value]).map(scalar);
  const text = scalar(value);
  return PATH_OPTIONS.has(key) ? resolve(dirname(file), text) : text;
}

/**
 * Reads a configuration file and merges the command line over it.
 *
 * @param file the YAML file (absolute)
 * @param command the command's option specs and the values given on the command line (a false flag or an
 *   empty list counts as not given)
 * @returns the merged values
 * @throws {UsageError} naming the file and key when the file is not valid
 */
export async function mergeConfigFile<O extends OptionSpecs>(
  file: string,
  command: { options: O; values: Partial<OptionValues<O>> },
): Promise<Partial<OptionValues<O>>> {
  const { options, values } = command;
  let document: unknown;
  try {
    if ((await Deno.stat(file)).size > MAX_CONFIG_BYTES) {
      throw new Error(`it is over ${MAX_CONFIG_BYTES} bytes`);
    }
    document = (await loadYaml()).parseYaml(await Deno.readTextFile(file));
  } catch (error) {
    throw new UsageError(`Cannot read config file "${file}": ${(error as Error).message.split("\n")[0]}`);
  }
  if (document === null || document === undefined) document = {};
  if (typeof document !== "object" || Array.isArray(document)) {
    throw new UsageError(`Invalid config file "${file}": expected a map of option names`);
  }
  const merged: Record<string, unknown> = { ...values };
  for (const [key, value] of Object.entries(document as Record<string, unknown>)) {
    const spec = options[key];
    if (!spec || key === "config") {
      throw new UsageError(`Invalid config file "${file}": unknown option "${key}"`);
    }
    const given: unknown = values[key];
    if (Array.isArray(given) ? given.length === 0 : given === undefined || given === false) {
      merged[key] = optionValue(file, key, spec, value);
    }
  }
  return merged as Partial<OptionValues<O>>;
}
