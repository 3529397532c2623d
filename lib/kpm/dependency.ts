/**
 * A kcl.mod dependency made concrete: the name it is imported as and where it comes from, one of three source
 * kinds (an OCI location, a git repository or a local folder), with the default registry filled in and the
 * location a lock recorded for a `name = "version"` dependency kept.
 *
 * @module
 */

import { isAbsolute, resolve as resolvePath } from "node:path";
import { parseReference } from "../oci/reference.ts";
import type { GitSource } from "./git_package.ts";
import type { LockedDependency } from "./lockfile.ts";
import type { DependencySpec, ModFile } from "./modfile.ts";
import type { PackageLocation } from "./oci_package.ts";

/** The default registry and repository for `name = "version"` dependencies. */
export interface RegistryDefaults {
  registry: string;
  repository: string;
}

/** A dependency on a package in an OCI registry. */
export interface OciDependency {
  kind: "oci";
  name: string;
  location: PackageLocation;
  /** The package inside the artifact, when kcl.mod names one (`package = "…"` with `oci` or `repo`). */
  package?: string;
}

/** A dependency on a package in a git repository. */
export interface GitDependency {
  kind: "git";
  name: string;
  git: GitSource;
  /** The package inside the repository, when kcl.mod names one. */
  package?: string;
}

/** A dependency on a package folder on disk. */
export interface PathDependency {
  kind: "path";
  name: string;
  /** The folder, absolute. */
  path: string;
}

/** A dependency made concrete: where it comes from and what it is called. */
export type ConcreteDependency = OciDependency | GitDependency | PathDependency;

/** Where concreteDependency reads defaults, relative paths and lock entries from. */
export interface ConcreteOptions {
  defaults: RegistryDefaults;
  /** The folder of the kcl.mod declaring the dependency, for relative paths. */
  baseDir: string;
}

/**
 * Makes a kcl.mod dependency concrete.
 *
 * @param options defaults and base folder; `locked`: the dependency's lock entry
 * @throws {ReferenceFormatError} for a malformed `oci` URL
 */
export function concreteDependency(
  name: string,
  spec: DependencySpec,
  options: ConcreteOptions & { locked?: LockedDependency },
): ConcreteDependency {
  const inner = spec.package !== undefined ? { package: spec.package } : {};
  switch (spec.kind) {
    case "registry":
      return { kind: "oci", name, location: registryLocation(name, spec, options) };
    case "oci": {
      const ref = parseReference(spec.oci.toLowerCase());
      const tag = spec.tag ?? ref.tag;
      return {
        kind: "oci",
        name,
        location: { registry: ref.registry, repository: ref.repository, tag },
        ...inner,
      };
    }
    case "repo": {
      const registry = spec.reg ?? options.defaults.registry;
      const location = { registry, repository: spec.repo.toLowerCase(), tag: spec.tag };
      return { kind: "oci", name, location, ...inner };
    }
    case "path":
      return {
        kind: "path",
        name,
        path: isAbsolute(spec.path) ? spec.path : resolvePath(options.baseDir, spec.path),
      };
    case "git": {
      const git: GitSource = {
        url: spec.git,
        ...(spec.tag !== undefined && { tag: spec.tag }),
        ...(spec.commit !== undefined && { commit: spec.commit }),
        ...(spec.branch !== undefined && { branch: spec.branch }),
      };
      return { kind: "git", name, git, ...inner };
    }
  }
}

/**
 * Where a `name = "version"` dependency lives: where the lock says it was added from (KPM_REG/KPM_REPO of that
 * moment) when the lock pins this version, else the default registry and repository.
 */
function registryLocation(
  name: string,
  spec: Extract<DependencySpec, { kind: "registry" }>,
  options: ConcreteOptions & { locked?: LockedDependency },
): PackageLocation {
  const locked = options.locked;
  const pinned = locked?.reg && locked.repo && locked.oci_tag === spec.version ? locked : undefined;
  return {
    registry: pinned?.reg ?? options.defaults.registry,
    repository: pinned?.repo ?? `${options.defaults.repository}/${spec.package ?? name}`.toLowerCase(),
    tag: spec.version,
  };
}

/**
 * Every dependency of a kcl.mod made concrete, in kcl.mod's order.
 *
 * @param options defaults and the kcl.mod's folder; `lock`: the lock entries by name
 * @throws {ReferenceFormatError} for a malformed `oci` URL
 */
export function concreteDependencies(
  mod: ModFile,
  options: ConcreteOptions & { lock?: Map<string, LockedDependency> },
): ConcreteDependency[] {
  return [...mod.dependencies].map(([name, spec]) =>
    concreteDependency(name, spec, { ...options, locked: options.lock?.get(name) })
  );
}
