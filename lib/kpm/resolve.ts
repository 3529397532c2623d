/**
 * Dependency resolution: walk the graph from kcl.mod, loading each dependency with the resolver of its source
 * kind (source_resolvers.ts: OCI, git or folder; downloads in parallel through one limiter), select versions
 * by MVS, and build the lock.
 *
 * @module
 */

import type { RegistryClient } from "../oci/client.ts";
import { type ConcurrencyOptions, operationLimiter } from "../oci/concurrency.ts";
import type { GitOptions } from "./git_command.ts";
import { concreteDependencies, type ConcreteDependency, type RegistryDefaults } from "./dependency.ts";
import { lockEntry, type ResolvedPackage } from "./locked.ts";
import type { LockedDependency } from "./lockfile.ts";
import { type ModFile, readModFile } from "./modfile.ts";
import { type Requirement, selectVersions } from "./mvs.ts";
import { type LoadContext, resolvable } from "./source_resolvers.ts";
import type { PackageVerifier } from "./trust_policy.ts";

export type { ResolvedPackage } from "./locked.ts";

/** How many packages are downloaded at once unless told otherwise. */
export const DEFAULT_CONCURRENCY = 8;

/** The result of resolving a package's dependencies. */
export interface Resolution {
  /** Every package of the graph, one version each. */
  packages: Map<string, ResolvedPackage>;
  /** Edges `from@version → to@version`, root first. */
  edges: [string, string][];
  /** The lock to write. */
  lock: Map<string, LockedDependency>;
}

/** Options of resolveDependencies. */
export interface ResolveOptions extends ConcurrencyOptions {
  defaults: RegistryDefaults;
  /** The package cache. */
  home: string;
  /** The current lock: its checksums are enforced. */
  lock?: Map<string, LockedDependency>;
  log?: (line: string) => void;
  /** The root kcl.mod when it is not (yet) the one on disk. */
  root?: ModFile;
  /** The trust policy's checks (a package it covers is refused unless signed by one of its keys). */
  verify?: PackageVerifier;
  /** How git sources are cloned (the idle timeout; `signal` stops a clone too). */
  git?: GitOptions;
}

/**
 * Resolves the dependency graph of the package in `dir`.
 *
 * @param options defaults, cache home, the current lock (its sums are enforced), a log; `concurrency`: how
 *   many packages download at once (default DEFAULT_CONCURRENCY; 1 = one after another), `signal` cancels
 * @throws {PackageError} / {ResolutionError} when a package cannot be fetched, verified or names clash
 */
export async function resolveDependencies(
  client: RegistryClient,
  dir: string,
  options: ResolveOptions,
): Promise<Resolution> {
  const root = options.root ?? await readModFile(dir);
  const limiter = operationLimiter(options, DEFAULT_CONCURRENCY);
  const walk = new GraphWalk({ ...options, client, limiter }, options.defaults);
  const roots = await Promise.all(
    walk.dependencies(root, dir).map((dep) => walk.requirement(dep)),
  );
  const { selected, edges } = await selectVersions(roots, (req) => walk.requirementsOf(req));
  const packages = new Map<string, ResolvedPackage>();
  const lock = new Map<string, LockedDependency>();
  for (const [name, version] of selected) {
    const pkg = walk.package({ name, version });
    packages.set(name, pkg);
    lock.set(name, lockEntry(pkg));
  }
  const rootId = key({ name: root.package.name, version: root.package.version ?? "0.0.0" });
  return {
    packages,
    edges: [
      ...roots.map((r) => [rootId, key(r)] as [string, string]),
      ...edges.map(([a, b]) => [key(a), key(b)] as [string, string]),
    ],
    lock,
  };
}

/** `name@version`. */
function key(req: Requirement): string {
  return `${req.name}@${req.version}`;
}

/**
 * The graph as it is walked: each dependency source loaded once (with its kcl.mod's dependencies), and for
 * every `name@version` met, the package and the dependency that named it.
 */
class GraphWalk {
  #context: LoadContext;
  #defaults: RegistryDefaults;
  #loaded = new Map<string, Promise<{ pkg: ResolvedPackage; deps: ConcreteDependency[] }>>();
  #sources = new Map<string, ConcreteDependency>();
  #packages = new Map<string, ResolvedPackage>();

  constructor(context: LoadContext, defaults: RegistryDefaults) {
    this.#context = context;
    this.#defaults = defaults;
  }

  /** The dependencies kcl.mod `mod` (in folder `baseDir`) declares, made concrete. */
  dependencies(mod: ModFile, baseDir: string): ConcreteDependency[] {
    return concreteDependencies(mod, { defaults: this.#defaults, baseDir, lock: this.#context.lock });
  }

  /** Loads a dependency and returns what it requires: its name and the version it resolved to. */
  async requirement(dep: ConcreteDependency): Promise<Requirement> {
    const { pkg } = await this.#load(dep);
    const id = key({ name: dep.name, version: pkg.version });
    this.#sources.set(id, dep);
    this.#packages.set(id, pkg);
    return { name: dep.name, version: pkg.version };
  }

  /** The requirements of a package met earlier (its dependencies, loaded). */
  async requirementsOf(req: Requirement): Promise<Requirement[]> {
    const { deps } = await this.#load(this.#sources.get(key(req))!);
    return await Promise.all(deps.map((dep) => this.requirement(dep)));
  }

  /** The package met as `name@version`. */
  package(req: Requirement): ResolvedPackage {
    return this.#packages.get(key(req))!;
  }

  #load(dep: ConcreteDependency): Promise<{ pkg: ResolvedPackage; deps: ConcreteDependency[] }> {
    const source = resolvable(dep);
    let loaded = this.#loaded.get(source.key);
    if (!loaded) {
      loaded = source.load(this.#context).then(async (pkg) => ({
        pkg,
        deps: this.dependencies(await readModFile(pkg.dir), pkg.dir),
      }));
      this.#loaded.set(source.key, loaded);
    }
    return loaded;
  }
}
