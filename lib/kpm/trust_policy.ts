/**
 * The trust policy: kpm.json's `TrustPolicy`, a list of `{"Scope": "REGISTRY/REPOSITORY glob", "Keys": [...]}`
 * entries. A package whose `registry/repository` matches an entry's scope (the first matching entry applies)
 * must carry a cosign signature, by one of that entry's public keys, of the very manifest kpm downloads; any
 * other package (and git or path dependencies) is not checked. Keys are PEM files (relative to kpm.json) or
 * inline PEM text.
 *
 * In a scope, `*` matches within one path segment and `**` across segments: `ghcr.io/kcl-lang/*`,
 * `127.0.0.1:5000/**`.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import type { RegistryClient } from "../oci/client.ts";
import type { Descriptor } from "../oci/manifest.ts";
import { formatReference, type Reference } from "../oci/reference.ts";
import { globSource } from "../oci/glob.ts";
import { Repository } from "../oci/repository.ts";
import { verifyManifest } from "../oci/sign/cosign.ts";
import { type PublicKey, readPublicKey } from "../oci/sign/keys.ts";
import { SignatureError } from "../oci/sign/signature_error.ts";
import { readSettingsFile } from "../config/kpm_json.ts";
import { SettingsError } from "../config/setting.ts";
import { HintedError } from "../oci/hint.ts";
import type { PackageHint } from "./errors.ts";

/** One entry of the policy. */
export interface TrustPolicyEntry {
  /** `registry/repository` glob. */
  scope: string;
  /** Public keys: PEM file paths (relative to kpm.json) or inline PEM. */
  keys: string[];
}

/** The policy and the file it came from. */
export interface TrustPolicy {
  file: string;
  entries: TrustPolicyEntry[];
}

/** Thrown when a package the policy covers is unsigned or signed by another key. */
export class TrustError extends HintedError<PackageHint> {
  /** The error's class name. */
  override name = "TrustError";
}

/** Checks packages against a policy (see trustPolicyVerifier). */
export interface PackageVerifier {
  /**
   * How the policy sees a cached copy of a package from `location` that kpm verified with key `signedBy` (as
   * the cache entry's origin record says; undefined when none vouches for it): "uncovered" (no entry applies),
   * "verified" (one of the keys that cover it now: the copy may be used offline) or "unverified" (it must be
   * fetched and verified).
   */
  cachedTrust(
    location: Pick<Reference, "registry" | "repository">,
    signedBy?: string,
  ): Promise<"uncovered" | "verified" | "unverified">;
  /**
   * Verifies the manifest a package was fetched as.
   *
   * @returns the fingerprint of the key that signed it, or undefined when the policy does not cover it
   * @throws {TrustError} naming the package, the repository and the policy entry
   */
  verify(pkg: { name: string; ref: Reference; manifest: Descriptor }): Promise<string | undefined>;
}

/**
 * Reads the `TrustPolicy` of a kpm.json; undefined when the file or the key is absent or the list is empty.
 *
 * @throws {SettingsError} for a malformed policy, naming the file and the entry
 */
export async function readTrustPolicy(settingsFile: string): Promise<TrustPolicy | undefined> {
  const list = (await readSettingsFile(settingsFile))?.TrustPolicy;
  if (list === undefined || list === null) return undefined;
  if (!Array.isArray(list)) throw new SettingsError(`Invalid TrustPolicy in "${settingsFile}": not a list`);
  const entries = list.map((item: { Scope?: unknown; Keys?: unknown }, i): TrustPolicyEntry => {
    const bad = (why: string) => new SettingsError(`Invalid TrustPolicy[${i}] in "${settingsFile}": ${why}`);
    if (typeof item?.Scope !== "string" || !item.Scope) {
      throw bad('"Scope" must be a registry/repository glob');
    }
    const keys = item.Keys;
    if (!Array.isArray(keys) || keys.length === 0 || keys.some((k) => typeof k !== "string" || !k)) {
      throw bad('"Keys" must be a non-empty list of public key files or PEM texts');
    }
    return { scope: item.Scope, keys };
  });
  return entries.length ? { file: settingsFile, entries } : undefined;
}

/** Whether `repository` (`registry/repository`) matches a scope glob. */
export function scopeMatches(scope: string, repository: string): boolean {
  const pattern = globSource(scope.toLowerCase(), { literalQuestionMark: true });
  return new RegExp(`^${pattern}$`).test(repository.toLowerCase());
}

/** The first entry whose scope matches `registry/repository`. */
export function policyEntry(policy: TrustPolicy, repository: string): TrustPolicyEntry | undefined {
  return policy.entries.find((entry) => scopeMatches(entry.scope, repository));
}

/**
 * A PackageVerifier for `policy`: signatures are looked up in the package's own repository (the `.sig` tag
 * and cosign referrers) through `client`.
 */
export function trustPolicyVerifier(client: RegistryClient, policy: TrustPolicy): PackageVerifier {
  const loaded = new Map<TrustPolicyEntry, Promise<PublicKey[]>>();
  const keysOf = (entry: TrustPolicyEntry) => {
    let keys = loaded.get(entry);
    if (!keys) {
      keys = Promise.all(entry.keys.map((key) => readPolicyKey(policy.file, key)));
      loaded.set(entry, keys);
    }
    return keys;
  };
  return {
    async cachedTrust(location, signedBy) {
      const entry = policyEntry(policy, `${location.registry}/${location.repository}`);
      if (!entry) return "uncovered";
      const known = (await keysOf(entry)).some((key) => key.fingerprint === signedBy);
      return known ? "verified" : "unverified";
    },
    async verify({ name, ref, manifest }) {
      const entry = policyEntry(policy, `${ref.registry}/${ref.repository}`);
      if (!entry) return undefined;
      try {
        return (await verifyManifest(new Repository(client, ref), manifest, await keysOf(entry)))
          .fingerprint;
      } catch (error) {
        if (!(error instanceof SignatureError)) throw error;
        throw new TrustError(
          `Cannot use package "${name}" from "${
            formatReference(ref)
          }": trust policy entry "${entry.scope}" ` +
            `in "${policy.file}" requires a signature by its keys: ${error.message}`,
          { hint: { kind: "signature" } },
        );
      }
    },
  };
}

/** Reads one key of the policy: inline PEM, or a file relative to kpm.json. */
async function readPolicyKey(settingsFile: string, key: string): Promise<PublicKey> {
  if (key.includes("-----BEGIN")) return await readPublicKey(key, `TrustPolicy key in "${settingsFile}"`);
  const path = resolve(dirname(settingsFile), key);
  let pem: string;
  try {
    pem = await Deno.readTextFile(path);
  } catch (error) {
    throw new SettingsError(
      `Cannot read trust policy key "${path}" (${settingsFile}): ${(error as Error).message}`,
    );
  }
  return await readPublicKey(pem, path);
}
