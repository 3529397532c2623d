/**
 * KCL packages in OCI registries: push a package folder, pull a package into the cache, and resolve a
 * package's dependency graph (minimal version selection, checksums enforced against kcl.mod.lock), as
 * `kpm mod push`, `kpm mod pull` and `kpm mod update` do.
 *
 * @module
 */

import process from "node:process";
import { tempRoot } from "../kpm/cache.ts";
import type { GitSource } from "../kpm/git_package.ts";
import { readLockFile, writeLockFile } from "../kpm/lockfile.ts";
import {
  type CachedPackage,
  fetchPackage,
  type PackageLocation,
  type PushedPackage,
  pushPackage as pushInternal,
} from "../kpm/oci_package.ts";
import { type Resolution, resolveDependencies, type ResolvedPackage } from "../kpm/resolve.ts";
import { DEFAULT_REGISTRY, DEFAULT_REPOSITORY } from "../config/kpm_json.ts";
import { kpmHome } from "../config/client_settings.ts";
import { type PackageVerifier, readTrustPolicy, trustPolicyVerifier } from "../kpm/trust_policy.ts";
import type { RegistryClient } from "../oci/client.ts";
import { Repository } from "../oci/repository.ts";
import { type OciSource, parseSource, SourceError } from "../kpm/source.ts";
import { Client, registryClientOf } from "./client.ts";

export type { CachedPackage, GitSource, PackageLocation, PushedPackage, Resolution, ResolvedPackage };

/** Where packages come from and go to. */
export interface PackageOptions {
  /** The client (default: an anonymous Client). */
  client?: Client;
  /** The package cache (default `$KCL_PKG_PATH`, else `~/.kcl/kpm`, as kpm uses). */
  home?: string;
  /** The registry of `name = "version"` dependencies and `NAME[:VERSION]` sources (default `ghcr.io`). */
  registry?: string;
  /** Its repository (default `kcl-lang`). */
  repository?: string;
  /**
   * A JSON file with a `TrustPolicy` list, as kpm.json holds it (`[{"Scope": "REGISTRY/REPO glob", "Keys":
   * [PEM file or text]}]`): packages it covers must carry a cosign signature by one of the keys. No check
   * when absent.
   */
  trustPolicyFile?: string;
}

function defaults(options: PackageOptions) {
  return {
    registry: options.registry ?? DEFAULT_REGISTRY,
    repository: options.repository ?? DEFAULT_REPOSITORY,
  };
}

function settings(options: PackageOptions) {
  return {
    client: registryClientOf(options.client ?? new Client()),
    home: options.home ?? kpmHome(process.env).value,
    defaults: defaults(options),
  };
}

/** The trust policy's checks, when `trustPolicyFile` names one. */
async function verifier(
  client: RegistryClient,
  options: PackageOptions,
): Promise<PackageVerifier | undefined> {
  const policy = options.trustPolicyFile ? await readTrustPolicy(options.trustPolicyFile) : undefined;
  return policy && trustPolicyVerifier(client, policy);
}

/** Parses an OCI package source; capitals in the repository path are lowercased, as OCI requires. */
function ociSource(source: string, tag: string | undefined, options: PackageOptions): OciSource {
  const parsed = parseSource(source, { defaults: defaults(options), tag, cwd: ".", stat: () => undefined });
  if (parsed.kind !== "oci") throw new SourceError(`Invalid package source "${source}": not an OCI package`);
  return parsed;
}

/**
 * Pushes the package in `dir` (kcl.mod's name and version) as one tar+gzip layer with the KCL annotations.
 *
 * @param to `oci://HOST/REPO[:TAG]`, `HOST/REPO[:TAG]` or `NAME[:TAG]` in the default registry; the tag
 *   defaults to kcl.mod's version
 * @param options `force` overwrites an existing tag
 * @throws {PackageError} when kcl.mod lacks a version, has a path dependency, or the tag exists without force
 * @example
 * ```ts
 * import { pushPackage, serveRegistry, writeModFile } from "@kcl/kpm";
 *
 * const registry = await serveRegistry({ root: await Deno.makeTempDir() });
 * try {
 *   const dir = await Deno.makeTempDir();
 *   await writeModFile(dir, { package: { name: "helper", edition: "v0.11.0", version: "0.1.0" } });
 *   await Deno.writeTextFile(`${dir}/main.k`, "greeting = 'hi'\n");
 *   const pushed = await pushPackage(dir, `oci://${registry.host}/test/helper`);
 *   console.log(pushed.tag, pushed.sum); // 0.1.0 …=
 * } finally {
 *   await registry.close();
 * }
 * ```
 */
export async function pushPackage(
  dir: string,
  to: string,
  options: PackageOptions & { tag?: string; force?: boolean } = {},
): Promise<PushedPackage> {
  const { client, home } = settings(options);
  const source = ociSource(to, options.tag, options);
  return await pushInternal(new Repository(client, source), dir, {
    tag: source.tag,
    force: options.force,
    tempDir: tempRoot(home),
  });
}

/**
 * Pulls a package into the cache (`HOME/NAME_VERSION`), verified against its checksum; without a tag, the
 * highest semantic-version tag.
 *
 * @param source `oci://HOST/REPO[:TAG]`, `HOST/REPO[:TAG]`, or `NAME[:VERSION]` in the default registry
 * @returns the cached package and its folder
 * @throws {PackageError} when the artifact is not a KCL package or does not match its checksum
 * @throws {TrustError} when the trust policy covers the package and its signature does not verify
 * @example
 * ```ts
 * import { pullPackage, pushPackage, serveRegistry, writeModFile } from "@kcl/kpm";
 *
 * const registry = await serveRegistry({ root: await Deno.makeTempDir() });
 * try {
 *   const dir = await Deno.makeTempDir();
 *   await writeModFile(dir, { package: { name: "helper", edition: "v0.11.0", version: "0.1.0" } });
 *   await pushPackage(dir, `oci://${registry.host}/test/helper`);
 *   const pulled = await pullPackage(`oci://${registry.host}/test/helper`, { home: await Deno.makeTempDir() });
 *   console.log(pulled.name, pulled.version, pulled.dir); // helper 0.1.0 /tmp/…/helper_0.1.0
 * } finally {
 *   await registry.close();
 * }
 * ```
 */
export async function pullPackage(
  source: string,
  options: PackageOptions & { tag?: string } = {},
): Promise<CachedPackage> {
  const { client, home } = settings(options);
  const verify = await verifier(client, options);
  return await fetchPackage(client, ociSource(source, options.tag, options), { home, verify });
}

/**
 * Resolves the dependency graph of the package in `dir`: every dependency fetched into the cache, one version
 * each by minimal version selection, checksums checked against `dir/kcl.mod.lock`.
 *
 * @param options `writeLock` writes the resulting kcl.mod.lock; `concurrency` downloads at once (default 8)
 * @returns the packages by name, the graph's edges (`name@version` pairs, root first) and the lock
 * @throws {PackageError} / {ResolutionError} when a package cannot be fetched or verified, or names clash
 * @throws {TrustError} when the trust policy covers a package whose signature does not verify
 * @example
 * ```ts
 * import { pushPackage, resolvePackage, serveRegistry, writeModFile } from "@kcl/kpm";
 *
 * const registry = await serveRegistry({ root: await Deno.makeTempDir() });
 * try {
 *   const helper = await Deno.makeTempDir();
 *   await writeModFile(helper, { package: { name: "helper", edition: "v0.11.0", version: "0.1.0" } });
 *   await pushPackage(helper, `oci://${registry.host}/test/helper`);
 *   const app = await Deno.makeTempDir();
 *   await writeModFile(app, {
 *     package: { name: "app", edition: "v0.11.0", version: "0.0.1" },
 *     dependencies: new Map([["helper", { kind: "oci", oci: `oci://${registry.host}/test/helper`, tag: "0.1.0" }]]),
 *   });
 *   const resolution = await resolvePackage(app, { home: await Deno.makeTempDir(), writeLock: true });
 *   console.log(resolution.edges); // [ [ "app@0.0.1", "helper@0.1.0" ] ]
 * } finally {
 *   await registry.close();
 * }
 * ```
 */
export async function resolvePackage(
  dir: string,
  options: PackageOptions & { writeLock?: boolean; concurrency?: number } = {},
): Promise<Resolution> {
  const { client, home, defaults } = settings(options);
  const resolution = await resolveDependencies(client, dir, {
    defaults,
    home,
    lock: await readLockFile(dir),
    concurrency: options.concurrency,
    verify: await verifier(client, options),
  });
  if (options.writeLock) await writeLockFile(dir, resolution.lock);
  return resolution;
}
