/**
 * Dependency resolution: turn kcl.mod's dependencies into registry locations, walk the graph fetching each
 * package into the cache (in parallel per level), select versions by MVS, and build the lock.
 *
 * @module
 */

import { isAbsolute, join, resolve as resolvePath } from "node:path";
import type { RegistryClient } from "../oci/client.ts";
import { parseReference } from "../oci/reference.ts";
import { PackageError } from "./errors.ts";
import type { LockedDependency } from "./lockfile.ts";
import { type DependencySpec, type ModFile, readModFile } from "./modfile.ts";
import { selectVersions } from "./mvs.ts";
import { fetchPackage, type PackageLocation } from "./oci_package.ts";
import { packageSum } from "./package.ts";

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
  | { kind: "path"; name: string; path: string };

/** A resolved package of the graph. */
export interface ResolvedPackage {
  /** Name as imported (the kcl.mod key). */
  name: string;
  /** The package's own name (differs from `name` for aliases). */
  packageName: string;
  version: string;
  dir: string;
  sum: string;
  location?: Required<PackageLocation>;
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
 * @param baseDir the folder of the kcl.mod declaring it, for relative paths
 * @throws {PackageError} for git dependencies (not supported) and malformed URLs
 */
export function concreteDependency(
  name: string,
  spec: DependencySpec,
  options: { defaults: RegistryDefaults; baseDir: string },
): ConcreteDependency {
  const pkg = spec.package ?? name;
  switch (spec.kind) {
    case "registry":
      return {
        kind: "oci",
        name,
        location: {
          registry: options.defaults.registry,
          repository: `${options.defaults.repository}/${pkg}`.toLowerCase(),
          tag: spec.version,
        },
      };
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
      throw new PackageError(
        `Dependency "${name}" comes from git ("${spec.git}"), which kpm does not fetch; use an OCI source`,
      );
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
      : `${dep.name}|${dep.path}`;
    let promise = fetched.get(id);
    if (!promise) {
      promise = (async () => {
        let pkg: ResolvedPackage;
        if (dep.kind === "oci") {
          const location = dep.location;
          const locked = lockedFor(options.lock?.get(dep.name), location);
          const offline = locked && !dep.package
            ? await cachedFromLock(options.home, locked, location)
            : undefined;
          const cached = offline ?? await limit(() =>
            fetchPackage(client, location, {
              home: options.home,
              expectedSum: locked?.sum,
              log: options.log,
            })
          );
          pkg = {
            name: dep.name,
            packageName: cached.name,
            version: cached.version,
            dir: cached.dir,
            sum: cached.sum,
            location: cached.location,
          };
          if (dep.package && dep.package !== cached.name) {
            // one artifact holding several packages: the one named, in a sub-folder; the sum stays the
            // artifact's, which is what a later download is verified against
            const inner = await findPackage(cached.dir, dep.package);
            if (!inner) {
              throw new PackageError(
                `Cannot find package "${dep.package}" in "${location.registry}/${location.repository}:${cached.location.tag}"`,
              );
            }
            pkg = {
              ...pkg,
              packageName: dep.package,
              version: inner.version ?? cached.version,
              dir: inner.dir,
            };
          }
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
          concreteDependency(n, s, { defaults: options.defaults, baseDir: pkg.dir })
        );
        return { pkg, deps };
      })();
      fetched.set(id, promise);
    }
    return promise;
  };

  const rootDeps = [...root.dependencies].map(([n, s]) =>
    concreteDependency(n, s, { defaults: options.defaults, baseDir: dir })
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

/** The lock entry when it pins this very location (same registry, repository and tag), else undefined. */
function lockedFor(
  entry: LockedDependency | undefined,
  location: PackageLocation,
): LockedDependency | undefined {
  if (!entry?.sum || !entry.oci_tag || entry.oci_tag !== location.tag) return undefined;
  if (entry.reg && entry.reg !== location.registry) return undefined;
  if (entry.repo && entry.repo !== location.repository) return undefined;
  return entry;
}

/**
 * The cached package a lock entry names (`HOME/FULL_NAME`), when it is there and its checksum matches the lock:
 * then no registry is asked at all, so a locked, cached package resolves offline.
 */
async function cachedFromLock(home: string, locked: LockedDependency, location: PackageLocation) {
  if (!locked.full_name || !locked.version || !location.tag) return undefined;
  const dir = join(home, locked.full_name);
  try {
    if (!(await Deno.stat(dir)).isDirectory || await packageSum(dir) !== locked.sum) return undefined;
  } catch {
    return undefined;
  }
  return {
    name: locked.full_name.endsWith(`_${locked.version}`)
      ? locked.full_name.slice(0, -locked.version.length - 1)
      : locked.name,
    version: locked.version,
    dir,
    sum: locked.sum!,
    location: { registry: location.registry, repository: location.repository, tag: location.tag },
  };
}

/** Finds the sub-folder of `root` whose kcl.mod names package `name` (the shallowest, then the first by name). */
async function findPackage(
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
  if (pkg.location) {
    entry.reg = pkg.location.registry;
    entry.repo = pkg.location.repository;
    entry.oci_tag = pkg.location.tag;
  }
  return entry;
}
