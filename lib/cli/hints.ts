/**
 * The CLI's words for the hints errors carry as data (lib/oci/hint.ts, lib/kpm/errors.ts): the `hint: …` line
 * under the error line, and the `"hint"` of the `--json` error document.
 *
 * @module
 */

import type { PackageHint } from "../kpm/errors.ts";
import { HintedError, type RegistryHint } from "../oci/hint.ts";

/** Every hint lib/ gives. */
export type Hint = RegistryHint | PackageHint;

/** A hint and its words. */
export type WordedHint = Hint & { text: string };

const WORDS: { [K in Hint["kind"]]: (hint: Extract<Hint, { kind: K }>) => string } = {
  login: (hint) =>
    hint.registry ? `run \`kpm registry login ${hint.registry}\`` : "log in to the registry first",
  access: () => "the credentials have no access to this repository",
  reference: () => "check the repository name and the tag",
  timeout: () => "raise the limit with --timeout or KPM_TIMEOUT",
  force: () => "use --force to overwrite it",
  version: () => "name the version (NAME:VERSION or --tag)",
  compiler: () =>
    "install kcl (https://kcl-lang.io/docs/user_docs/getting-started/install) or set KPM_KCL_BIN",
  signature: () =>
    "ask the publisher to sign it (kpm artifact sign, cosign sign), or pass --no-verify to skip the check",
};

/**
 * Words a hint.
 *
 * @example hintText({ kind: "login", registry: "ghcr.io" }) // "run `kpm registry login ghcr.io`"
 */
export function hintText(hint: Hint): string {
  return (WORDS[hint.kind] as (hint: Hint) => string)(hint);
}

/**
 * The hint an error carries, with its words; undefined when it carries none.
 *
 * @param error whatever was thrown
 */
export function errorHint(error: unknown): WordedHint | undefined {
  if (!(error instanceof HintedError) || !error.hint || !Object.hasOwn(WORDS, error.hint.kind)) {
    return undefined;
  }
  const hint = error.hint as Hint;
  return { ...hint, text: hintText(hint) };
}
