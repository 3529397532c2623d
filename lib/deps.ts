/**
 * The only module that names third-party packages. Every specifier is fully qualified and pinned so that
 * `deno run <url-of-main.ts>` works with no deno.json and no import map.
 *
 * JSR is not reachable where kpm is built, so npm packages of the same role stand in for `@std/toml`,
 * `@std/semver` and `@std/tar`; switching back is a change to this file only.
 *
 * @module
 */

export { parse as parseToml, stringify as stringifyToml } from "npm:smol-toml@1.9.1";
export { default as semver } from "npm:semver@7.8.6";
export { createTarDecoder, createTarPacker } from "npm:modern-tar@0.8.6";
export type { ParsedTarEntry, TarEntryData, TarHeader } from "npm:modern-tar@0.8.6";
export { default as bcrypt } from "npm:bcryptjs@3.0.3";
export { parse as parseYaml, stringify as stringifyYaml } from "npm:yaml@2.9.1";
