/**
 * The only module that names third-party packages. Every specifier is fully qualified and pinned so that
 * `deno run <url-of-main.ts>` works with no deno.json and no import map.
 *
 * JSR is not reachable where kpm is built, so npm packages of the same role stand in for `@std/toml`,
 * `@std/semver` and `@std/tar`; switching back is a change to this file only.
 *
 * The ES-module packages (smol-toml, modern-tar) load in ~1 ms and are re-exported directly. semver and yaml
 * (CommonJS) and bcryptjs (node:crypto) bring up parts of Deno's Node compatibility layer (~5-15 ms each), so
 * they load on first use through the `load…` functions: only version ordering, the chart-repo server and
 * htpasswd accounts pay for them; `kpm --version` and `kpm artifact pull` do not. @noble/ciphers (audited,
 * ES module) gives the XSalsa20-Poly1305 "secretbox" of cosign's encrypted private keys, which neither
 * WebCrypto nor node:crypto has; only signing and key generation load it.
 *
 * @module
 */

export { parse as parseToml, stringify as stringifyToml } from "npm:smol-toml@1.9.1";
export { createTarDecoder, createTarPacker } from "npm:modern-tar@0.8.6";
export type { ParsedTarEntry, TarEntryData, TarHeader } from "npm:modern-tar@0.8.6";

/** The `semver` package's API (valid, coerce, compare, rcompare…). */
export type Semver = typeof import("npm:semver@7.8.6").default;

/** The `yaml` package's parse and stringify. */
export interface Yaml {
  parseYaml: typeof import("npm:yaml@2.9.1").parse;
  stringifyYaml: typeof import("npm:yaml@2.9.1").stringify;
}

/** The `bcryptjs` package's API (hash, compare…). */
export type Bcrypt = typeof import("npm:bcryptjs@3.0.3").default;

/** nacl secretbox (XSalsa20-Poly1305) from `@noble/ciphers`: `xsalsa20poly1305(key, nonce).encrypt|decrypt`. */
export type SecretBox = typeof import("npm:@noble/ciphers@2.4.0/salsa.js").xsalsa20poly1305;

/** Loads `semver` (once; later calls resolve at once). */
export async function loadSemver(): Promise<Semver> {
  // deno-lint-ignore no-import-prefix -- pinned npm: specifiers are this file's purpose (see the module doc)
  return (await import("npm:semver@7.8.6")).default;
}

/** Loads `yaml` (once; later calls resolve at once). */
export async function loadYaml(): Promise<Yaml> {
  // deno-lint-ignore no-import-prefix -- pinned npm: specifiers are this file's purpose (see the module doc)
  const yaml = await import("npm:yaml@2.9.1");
  return { parseYaml: yaml.parse, stringifyYaml: yaml.stringify };
}

/** Loads `bcryptjs` (once; later calls resolve at once). */
export async function loadBcrypt(): Promise<Bcrypt> {
  // deno-lint-ignore no-import-prefix -- pinned npm: specifiers are this file's purpose (see the module doc)
  return (await import("npm:bcryptjs@3.0.3")).default;
}

/** Loads the nacl secretbox of `@noble/ciphers` (once; later calls resolve at once). */
export async function loadSecretBox(): Promise<SecretBox> {
  // deno-lint-ignore no-import-prefix -- pinned npm: specifiers are this file's purpose (see the module doc)
  return (await import("npm:@noble/ciphers@2.4.0/salsa.js")).xsalsa20poly1305;
}
