/**
 * Dependency resolution: turn kcl.mod's dependencies into registry locations, walk the graph fetching each
 * package into the cache (in parallel per level), select versions by MVS, and build the lock.
 *
 * @module
 */

import { isAbsolute, resolve as resolvePath } from "node:path";
import type { RegistryClient } from "../oci/client.ts";
import { parseReference } from "../oci/reference.ts";
import { PackageError } from "./errors.ts";
import type { LockedDependency } from "./lockfile.ts";
import { type DependencySpec, type ModFile, readModFile } from "./modfile.ts";
import { selectVersions } from "./mvs.ts";
import { fetchGitPackage, gitRef, type GitSource } from "./git_package.ts";
import {
  cachedFromLock,
  findPackage,
  lockedGit,
  lockedOci,
  lockEntry,
  type ResolvedPackage,
} from "./locked.ts";
import { fetchPackage, type PackageLocation } from "./oci_package.ts";
import { packageSum } from "./package.ts";
import type { PackageVerifier } from "./trust_policy.ts";

export type { ResolvedPackage } from "./locked.ts";

/** How many packages are downloaded at once unless told otherwise. */
export const DEFAULT_CONCURRENCY = 8;

/** Runs at most `limit` calls of `fn` at a time (a counting semaphore). */
function limiter(limit: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/** The default registry and repository for `name = "version"` dependencies. */
export interface RegistryDefaults {
  registry: string;
  repository: string;
}

/** A dependency made concrete: where it comes from and what it is called. */
export type ConcreteDependency =
  | {
    kind: "oci";
    name: string;
    location: PackageLocation;
    /** The package inside the artifact, when kcl.mod names one (`package = "…"` with `oci` or `repo`). */
    package?: string;
  }
  | { kind: "git"; name: string; git: GitSource; package?: string }
  | { kind: "path"; name: string; path: string };

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

/** Options of resolveDependencies that loading one OCI package uses, and the download limiter. */
interface LoadOptions {
  home: string;
  lock?: Map<string, LockedDependency>;
  log?: (line: string) => void;
  verify?: PackageVerifier;
  limit: <T>(fn: () => Promise<T>) => Promise<T>;
}

/**
 * Loads one OCI dependency: its locked, cached copy offline when the lock pins it (and the trust policy
 * accepts what the lock recorded), else a verified download.
 */
async function loadOciPackage(
  client: RegistryClient,
  dep: Extract<ConcreteDependency, { kind: "oci" }>,
  options: LoadOptions,
): Promise<ResolvedPackage> {
  const location = dep.location;
  const locked = lockedOci(options.lock?.get(dep.name), location);
  const trust = await options.verify?.lockedTrust(location, locked?.signed_by) ?? "uncovered";
  const offline = locked && trust !== "unverified" ? await cachedFromLock(options.home, locked) : undefined;
  const cached = offline
    ? { ...offline, tag: location.tag!, signedBy: trust === "verified" ? locked?.signed_by : undefined }
    : await options.limit(() =>
      fetchPackage(client, location, {
        home: options.home,
        expectedSum: locked?.sum,
        log: options.log,
        verify: options.verify,
      })
    );
  const tag = cached.tag;
  const pkg: ResolvedPackage = {
    name: dep.name,
    packageName: cached.name,
    version: cached.version,
    dir: cached.dir,
    sum: cached.sum,
    location: { registry: location.registry, repository: location.repository, tag },
    ...(cached.signedBy && { signedBy: cached.signedBy }),
  };
  return await pickPackage(pkg, dep.package, `${location.registry}/${location.repository}:${tag}`);
}

/** The result of resolving a package's dependencies. */
export interface Resolution {
  /** Every package of the graph, one version each. */
  packages: Map<string, ResolvedPackage>;
  /** Edges `from@version → to@version`, root first. */
  edges: [string, string][];
  /** The lock to write. */
  lock: Map<string, LockedDependency>;
}

/**
 * Makes a kcl.mod dependency concrete.
 *
 * @param options `baseDir`: the folder of the kcl.mod declaring it, for relative paths; `locked`: its lock entry
 * @throws {PackageError} for git dependencies (not supported) and malformed URLs
 */
export function concreteDependency(
  name: string,
  spec: DependencySpec,
  options: { defaults: RegistryDefaults; baseDir: string; locked?: LockedDependency },
): ConcreteDependency {
  const pkg = spec.package ?? name;
  switch (spec.kind) {
    case "registry": {
      // `name = "version"` was locked where it was added from (KPM_REG/KPM_REPO of that moment): keep using it
      const locked = options.locked;
      const pinned = locked?.reg && locked.repo && locked.oci_tag === spec.version ? locked : undefined;
      return {
        kind: "oci",
        name,
        location: {
          registry: pinned?.reg ?? options.defaults.registry,
          repository: pinned?.repo ?? `${options.defaults.repository}/${pkg}`.toLowerCase(),
          tag: spec.version,
        },
      };
    }
    case "oci": {
      const ref = parseReference(spec.oci.toLowerCase());
      return {
        kind: "oci",
        name,
        location: { registry: ref.registry, repository: ref.repository, tag: spec.tag ?? ref.tag },
        ...(spec.package !== undefined && { package: spec.package }),
      };
    }
    case "repo":
      return {
        kind: "oci",
        name,
        location: {
          registry: spec.reg ?? options.defaults.registry,
          repository: spec.repo.toLowerCase(),
          tag: spec.tag,
        },
        ...(spec.package !== undefined && { package: spec.package }),
      };
    case "path":
      return {
        kind: "path",
        name,
        path: isAbsolute(spec.path) ? spec.path : resolvePath(options.baseDir, spec.path),
      };
    case "git":
      return {
        kind: "git",
        name,
        git: {
          url: spec.git,
          ...(spec.tag !== undefined && { tag: spec.tag }),
          ...(spec.commit !== undefined && { commit: spec.commit }),
          ...(spec.branch !== undefined && { branch: spec.branch }),
        },
        ...(spec.package !== undefined && { package: spec.package }),
      };
  }
}

/**
 * Resolves the dependency graph of the package in `dir`.
 *
 * @param options client, defaults, cache home, the current lock (its sums are enforced), a log
 * @throws {PackageError} / {ResolutionError} when a package cannot be fetched, verified or names clash
 */
export async function resolveDependencies(
  client: RegistryClient,
  dir: string,
  options: {
    defaults: RegistryDefaults;
    home: string;
    lock?: Map<string, LockedDependency>;
    log?: (line: string) => void;
    /** The root kcl.mod when it is not (yet) the one on disk. */
    root?: ModFile;
    /** How many packages to download at once (default DEFAULT_CONCURRENCY; 1 = one after another). */
    concurrency?: number;
    /** The trust policy's checks (a package it covers is refused unless signed by one of its keys). */
    verify?: PackageVerifier;
  },
): Promise<Resolution> {
  const root = options.root ?? await readModFile(dir);
  const fetched = new Map<string, Promise<{ pkg: ResolvedPackage; deps: ConcreteDependency[] }>>();
  const sources = new Map<string, ConcreteDependency>();
  const key = (name: string, version: string) => `${name}@${version}`;
  const limit = limiter(Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY));

  const load = (dep: ConcreteDependency) => {
    const id = dep.kind === "oci"
      ? `${dep.name}|${dep.location.registry}/${dep.location.repository}:${dep.location.tag ?? ""}`
      : dep.kind === "git"
      ? `${dep.name}|${dep.git.url}#${gitRef(dep.git)}`
      : `${dep.name}|${dep.path}`;
    let promise = fetched.get(id);
    if (!promise) {
      promise = (async () => {
        let pkg: ResolvedPackage;
        if (dep.kind === "oci") {
          pkg = await loadOciPackage(client, dep, { ...options, limit });
        } else if (dep.kind === "git") {
          const locked = lockedGit(options.lock?.get(dep.name), dep.git);
          const offline = locked ? await cachedFromLock(options.home, locked) : undefined;
          const git = dep.git;
          const cached = offline ??
            await limit(() => fetchGitPackage(git, { home: options.home, expectedSum: locked?.sum }));
          pkg = {
            name: dep.name,
            packageName: cached.name,
            version: cached.version,
            dir: cached.dir,
            sum: cached.sum,
            git,
          };
          pkg = await pickPackage(pkg, dep.package, `${git.url}@${gitRef(git)}`);
        } else {
          const mod = await readModFile(dep.path);
          pkg = {
            name: dep.name,
            packageName: mod.package.name,
            version: mod.package.version ?? "0.0.0",
            dir: dep.path,
            sum: await packageSum(dep.path),
          };
        }
        const mod = await readModFile(pkg.dir);
        const deps = [...mod.dependencies].map(([n, s]) =>
          concreteDependency(n, s, {
            defaults: options.defaults,
            baseDir: pkg.dir,
            locked: options.lock?.get(n),
          })
        );
        return { pkg, deps };
      })();
      fetched.set(id, promise);
    }
    return promise;
  };

  const rootDeps = [...root.dependencies].map(([n, s]) =>
    concreteDependency(n, s, { defaults: options.defaults, baseDir: dir, locked: options.lock?.get(n) })
  );
  const resolved = new Map<string, ResolvedPackage>();
  const requirement = async (dep: ConcreteDependency) => {
    const { pkg } = await load(dep);
    sources.set(key(dep.name, pkg.version), dep);
    resolved.set(key(dep.name, pkg.version), pkg);
    return { name: dep.name, version: pkg.version };
  };
  const roots = await Promise.all(rootDeps.map(requirement));
  const { selected, edges } = await selectVersions(roots, async (req) => {
    const dep = sources.get(key(req.name, req.version))!;
    const { deps } = await load(dep);
    return Promise.all(deps.map(requirement));
  });
  const packages = new Map<string, ResolvedPackage>();
  const lock = new Map<string, LockedDependency>();
  for (const [name, version] of selected) {
    const pkg = resolved.get(key(name, version))!;
    packages.set(name, pkg);
    lock.set(name, lockEntry(pkg));
  }
  const rootId = key(root.package.name, root.package.version ?? "0.0.0");
  return {
    packages,
    edges: [
      ...roots.map((r) => [rootId, key(r.name, r.version)] as [string, string]),
      ...edges.map(([a, b]) => [key(a.name, a.version), key(b.name, b.version)] as [string, string]),
    ],
    lock,
  };
}
