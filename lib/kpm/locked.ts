/**
 * What kcl.mod.lock pins, and how resolution uses it: whether a lock entry pins a given OCI location or git
 * reference, the cached copy it names (used offline when its checksum matches and, for a package a trust
 * policy covers, kpm's own origin record vouches for it), the entry written for a resolved package, and
 * finding one package inside an artifact that holds several.
 *
 * @module
 */

import { basename, join } from "node:path";
import { entryDir } from "./cache.ts";
import { readOrigin } from "./cache_origin.ts";
import type { GitSource } from "./git_package.ts";
import type { LockedDependency } from "./lockfile.ts";
import { readModFile } from "./modfile.ts";
import { checkFullName } from "./names.ts";
import type { PackageLocation } from "./oci_package.ts";
import { packageSum } from "./package.ts";
import type { PackageVerifier } from "./trust_policy.ts";

/** A resolved package of the graph. */
export interface ResolvedPackage {
  /** Name as imported (the kcl.mod key). */
  name: string;
  /** The package's own name (differs from `name` for aliases). */
  packageName: string;
  /** The selected version. */
  version: string;
  /** Its folder in the cache (or on disk, for a path dependency). */
  dir: string;
  /** Its checksum (base64 SHA-256 over its files, as kpm computes it). */
  sum: string;
  /** Where an OCI package came from. */
  location?: Required<PackageLocation>;
  /** Where a git package came from. */
  git?: GitSource;
  /** The fingerprint of the key a trust policy verified its signature with. */
  signedBy?: string;
}

/** The lock entry when it pins this very OCI location (same registry, repository and tag), else undefined. */
export function lockedOci(
  entry: LockedDependency | undefined,
  location: PackageLocation,
): LockedDependency | undefined {
  if (!entry?.sum || !entry.oci_tag || entry.oci_tag !== location.tag) return undefined;
  if (entry.reg && entry.reg !== location.registry) return undefined;
  if (entry.repo && entry.repo !== location.repository) return undefined;
  return entry;
}

/** The lock entry when it pins this very git source (same URL and tag, commit or branch), else undefined. */
export function lockedGit(entry: LockedDependency | undefined, git: GitSource): LockedDependency | undefined {
  if (!entry?.sum || entry.url !== git.url) return undefined;
  if ((entry.git_tag ?? "") !== (git.tag ?? "")) return undefined;
  if ((entry.commit ?? "") !== (git.commit ?? "")) return undefined;
  if ((entry.branch ?? "") !== (git.branch ?? "")) return undefined;
  return entry;
}

/**
 * The cached package a lock entry names (`HOME/FULL_NAME`), when it is there and its checksum matches the lock:
 * then no registry is asked at all, so a locked, cached package resolves offline.
 *
 * @throws {PackageError} when the entry's full_name is not NAME_VERSION (it would name a folder elsewhere)
 */
export async function cachedFromLock(
  home: string,
  locked: LockedDependency,
): Promise<{ name: string; version: string; dir: string; sum: string } | undefined> {
  if (!locked.full_name || !locked.version || !locked.sum) return undefined;
  const dir = entryDir(home, checkFullName(locked.full_name, locked.name));
  try {
    if (!(await Deno.stat(dir)).isDirectory || await packageSum(dir) !== locked.sum) return undefined;
  } catch {
    return undefined;
  }
  const suffix = `_${locked.version}`;
  return {
    name: locked.full_name.endsWith(suffix) ? locked.full_name.slice(0, -suffix.length) : locked.name,
    version: locked.version,
    dir,
    sum: locked.sum,
  };
}

/**
 * The cached copy a lock entry pins for OCI `location`, when it may be used without asking the registry: its
 * checksum matches the lock (cachedFromLock) and, when the trust policy covers the location, the cache
 * entry's origin record says kpm verified this very content from this registry, repository and tag with a key
 * the policy holds now. The lock's own `signed_by` is never taken as evidence: the lock may come from anyone.
 *
 * @returns the copy, with the key that vouches for it; undefined when it must be fetched (and verified) again
 * @throws {PackageError} when the entry's full_name is not NAME_VERSION
 */
export async function offlineCopy(
  home: string,
  locked: LockedDependency,
  location: PackageLocation,
  verify?: PackageVerifier,
): Promise<{ name: string; version: string; dir: string; sum: string; signedBy?: string } | undefined> {
  const cached = await cachedFromLock(home, locked);
  if (!cached || !verify) return cached;
  const origin = await readOrigin(home, basename(cached.dir));
  const vouched = origin?.registry === location.registry && origin.repository === location.repository &&
      origin.tag === location.tag && origin.sum === cached.sum
    ? origin.signedBy
    : undefined;
  const trust = await verify.cachedTrust(location, vouched);
  if (trust === "unverified") return undefined;
  return trust === "verified" ? { ...cached, signedBy: vouched } : cached;
}

/** Finds the sub-folder of `root` whose kcl.mod names package `name` (the shallowest, then the first by name). */
export async function findPackage(
  root: string,
  name: string,
): Promise<{ dir: string; version?: string } | undefined> {
  let level = [root];
  while (level.length > 0) {
    const next: string[] = [];
    for (const dir of level) {
      const entries: Deno.DirEntry[] = [];
      for await (const entry of Deno.readDir(dir)) entries.push(entry);
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        if (!entry.isDirectory || entry.name === ".git") continue;
        const sub = join(dir, entry.name);
        const mod = await readModFile(sub).catch(() => undefined);
        if (mod?.package.name === name) return { dir: sub, version: mod.package.version };
        next.push(sub);
      }
    }
    level = next;
  }
  return undefined;
}

/**
 * The kcl.mod.lock entry of a resolved package: `name` is the name in kcl.mod (an alias when `package` is
 * set, as the reference writes it), `full_name` the package's own NAME_VERSION.
 */
export function lockEntry(pkg: ResolvedPackage): LockedDependency {
  const entry: LockedDependency = {
    name: pkg.name,
    full_name: `${pkg.packageName}_${pkg.version}`,
    version: pkg.version,
    sum: pkg.sum,
  };
  if (pkg.git) {
    entry.url = pkg.git.url;
    if (pkg.git.branch) entry.branch = pkg.git.branch;
    if (pkg.git.commit) entry.commit = pkg.git.commit;
    if (pkg.git.tag) entry.git_tag = pkg.git.tag;
    if (pkg.packageName !== pkg.name) entry.package = pkg.packageName;
  }
  if (pkg.location) {
    entry.reg = pkg.location.registry;
    entry.repo = pkg.location.repository;
    entry.oci_tag = pkg.location.tag;
  }
  if (pkg.signedBy) entry.signed_by = pkg.signedBy;
  return entry;
}
