/**
 * Loading one dependency during resolution, by the kind of its source: a resolver per kind (OCI, git, local
 * folder) behind one small interface. OCI and git packages come from the cache when the lock pins them and the
 * cached copy matches, else they are downloaded (each download in a slot of the resolution's limiter); a
 * folder is read where it is.
 *
 * @module
 */

import type { RegistryClient } from "../oci/client.ts";
import { anySignal, type Limiter } from "../oci/concurrency.ts";
import type { ConcreteDependency, GitDependency, OciDependency, PathDependency } from "./dependency.ts";
import { PackageError } from "./errors.ts";
import type { GitOptions } from "./git_command.ts";
import { fetchGitPackage, gitRef } from "./git_package.ts";
import {
  cachedFromLock,
  findPackage,
  lockedGit,
  lockedOci,
  offlineCopy,
  type ResolvedPackage,
} from "./locked.ts";
import type { LockedDependency } from "./lockfile.ts";
import { readModFile } from "./modfile.ts";
import { fetchPackage } from "./oci_package.ts";
import { packageSum } from "./package.ts";
import type { PackageVerifier } from "./trust_policy.ts";

/** What loading a dependency needs from the resolution it is part of. */
export interface LoadContext {
  client: RegistryClient;
  /** The package cache. */
  home: string;
  /** The current lock, by name: its checksums are enforced and its cached copies used offline. */
  lock?: Map<string, LockedDependency>;
  log?: (line: string) => void;
  /** The trust policy's checks. */
  verify?: PackageVerifier;
  /** The resolution's limiter: each download takes one slot. */
  limiter: Limiter;
  /** How git sources are cloned (the limiter's signal stops a clone too). */
  git?: GitOptions;
}

/** How dependencies of one source kind are loaded. */
export interface SourceResolver<D extends ConcreteDependency> {
  /** Names the dependency and its source: dependencies with the same key are loaded once. */
  key(dep: D): string;
  /** The package the dependency names, in the cache (or on disk). */
  load(dep: D, context: LoadContext): Promise<ResolvedPackage>;
}

/** A dependency with the resolver of its kind. */
export interface ResolvableDependency {
  key: string;
  load(context: LoadContext): Promise<ResolvedPackage>;
}

/** The dependency bound to the resolver of its source kind. */
export function resolvable(dep: ConcreteDependency): ResolvableDependency {
  switch (dep.kind) {
    case "oci":
      return bind(OCI_RESOLVER, dep);
    case "git":
      return bind(GIT_RESOLVER, dep);
    case "path":
      return bind(PATH_RESOLVER, dep);
  }
}

function bind<D extends ConcreteDependency>(resolver: SourceResolver<D>, dep: D): ResolvableDependency {
  return { key: resolver.key(dep), load: (context) => resolver.load(dep, context) };
}

/**
 * OCI packages: the locked, cached copy offline when the lock pins this location (and, for a package the trust
 * policy covers, kpm's origin record vouches for the copy: see offlineCopy), else a verified download.
 */
const OCI_RESOLVER: SourceResolver<OciDependency> = {
  key: ({ name, location }) => `${name}|${location.registry}/${location.repository}:${location.tag ?? ""}`,
  async load(dep, context) {
    const location = dep.location;
    const locked = lockedOci(context.lock?.get(dep.name), location);
    const { home, log, verify } = context;
    const offline = locked && await offlineCopy(home, locked, location, verify);
    const cached = offline
      ? { ...offline, tag: location.tag! }
      : await context.limiter.run(() =>
        fetchPackage(context.client, location, { home, expectedSum: locked?.sum, log, verify })
      );
    const tag = cached.tag;
    const pkg: ResolvedPackage = {
      ...resolved(dep.name, cached),
      location: { registry: location.registry, repository: location.repository, tag },
      ...(cached.signedBy && { signedBy: cached.signedBy }),
    };
    return await pickPackage(pkg, dep.package, `${location.registry}/${location.repository}:${tag}`);
  },
};

/** git packages: the locked, cached copy offline when the lock pins this reference, else a verified clone. */
const GIT_RESOLVER: SourceResolver<GitDependency> = {
  key: ({ name, git }) => `${name}|${git.url}#${gitRef(git)}`,
  async load(dep, context) {
    const git = dep.git;
    const locked = lockedGit(context.lock?.get(dep.name), git);
    const offline = locked ? await cachedFromLock(context.home, locked) : undefined;
    const { home, limiter } = context;
    const cached = offline ??
      await limiter.run(() =>
        fetchGitPackage(git, {
          home,
          expectedSum: locked?.sum,
          ...context.git,
          signal: anySignal(limiter.signal, context.git?.signal),
        })
      );
    const pkg: ResolvedPackage = { ...resolved(dep.name, cached), git };
    return await pickPackage(pkg, dep.package, `${git.url}@${gitRef(git)}`);
  },
};

/** Local folders: used where they are, versioned by their kcl.mod (0.0.0 when it names none). */
const PATH_RESOLVER: SourceResolver<PathDependency> = {
  key: ({ name, path }) => `${name}|${path}`,
  async load(dep) {
    const mod = await readModFile(dep.path);
    const version = mod.package.version ?? "0.0.0";
    return resolved(dep.name, {
      name: mod.package.name,
      version,
      dir: dep.path,
      sum: await packageSum(dep.path),
    });
  },
};

/** The package imported as `name`: `found` in the cache (or on disk), with its own name, version and sum. */
function resolved(
  name: string,
  found: { name: string; version: string; dir: string; sum: string },
): ResolvedPackage {
  return { name, packageName: found.name, version: found.version, dir: found.dir, sum: found.sum };
}

/**
 * One artifact (or repository) holding several packages: the one kcl.mod names with `package`, in a
 * sub-folder. The sum stays the artifact's, which is what a later download is verified against.
 *
 * @throws {PackageError} when no sub-folder holds that package
 */
async function pickPackage(pkg: ResolvedPackage, wanted: string | undefined, where: string) {
  if (!wanted || wanted === pkg.packageName) return pkg;
  const inner = await findPackage(pkg.dir, wanted);
  if (!inner) throw new PackageError(`Cannot find package "${wanted}" in "${where}"`);
  return { ...pkg, packageName: wanted, version: inner.version ?? pkg.version, dir: inner.dir };
}
