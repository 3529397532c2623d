/**
 * Minimal version selection, as the reference kpm (and Go modules) use it: walk the requirement graph and keep,
 * for each package name, the highest version anyone requires.
 *
 * @module
 */

import { loadSemver, type Semver } from "../deps.ts";

/** A requirement: a package name and the version required. */
export interface Requirement {
  name: string;
  version: string;
}

/** Thrown when two different packages map to the same KCL import name. */
export class ResolutionError extends Error {
  /** The error's class name. */
  override name = "ResolutionError";
}

/** Parses a version as semver, accepting a leading `v` and short forms such as `1.28` (as KCL tags use). */
function toSemver(semver: Semver, version: string): string | undefined {
  const bare = version.replace(/^v/, "");
  const valid = semver.valid(bare, { loose: true });
  if (valid) return valid;
  return /^\d+(\.\d+)?$/.test(bare) ? semver.coerce(bare)?.version : undefined;
}

/** Compares two versions: semver when both parse (see toSemver), else plain string order. */
function compareWith(semver: Semver, a: string, b: string): number {
  const va = toSemver(semver, a);
  const vb = toSemver(semver, b);
  if (va && vb) return semver.compare(va, vb, { loose: true }) || (a < b ? -1 : a > b ? 1 : 0);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Compares two versions: semver when both parse (a leading `v` and `1.28`-style short forms accepted), else
 * plain string order.
 *
 * @returns negative, zero or positive, as for `Array.prototype.sort`
 */
export async function compareVersions(a: string, b: string): Promise<number> {
  return compareWith(await loadSemver(), a, b);
}

/** The highest version tag in a list (semver, a leading `v`, or `1.28`-style), ignoring other tags. */
export async function highestSemverTag(tags: readonly string[]): Promise<string | undefined> {
  const semver = await loadSemver();
  let best: string | undefined;
  for (const tag of tags) {
    if (!toSemver(semver, tag)) continue;
    if (best === undefined || compareWith(semver, tag, best) > 0) best = tag;
  }
  return best;
}

/**
 * Selects one version per package: the highest required anywhere in the graph reachable from `roots`.
 *
 * @param roots the direct requirements
 * @param requirementsOf the requirements of one package version (fetched on demand, in parallel per level)
 * @returns the selected version of every package, in first-seen order, and the edges seen (`a@v → b@v`)
 * @throws {ResolutionError} when two names differ only by `-` versus `_`
 */
export async function selectVersions(
  roots: readonly Requirement[],
  requirementsOf: (req: Requirement) => Promise<readonly Requirement[]>,
): Promise<{ selected: Map<string, string>; edges: [Requirement, Requirement][] }> {
  let semver: Semver | undefined; // loaded when two versions of one package meet
  const selected = new Map<string, string>();
  const edges: [Requirement, Requirement][] = [];
  const visited = new Set<string>();
  const importNames = new Map<string, string>();
  let frontier = [...roots];
  while (frontier.length > 0) {
    const next: Requirement[] = [];
    const fresh = frontier.filter((req) => {
      const key = `${req.name}@${req.version}`;
      if (visited.has(key)) return false;
      visited.add(key);
      return true;
    });
    for (const req of fresh) {
      const importName = req.name.replaceAll("-", "_");
      const other = importNames.get(importName);
      if (other !== undefined && other !== req.name) {
        throw new ResolutionError(
          `Packages "${other}" and "${req.name}" clash: both are imported as "${importName}"`,
        );
      }
      importNames.set(importName, req.name);
      const current = selected.get(req.name);
      if (current === undefined || compareWith(semver ??= await loadSemver(), req.version, current) > 0) {
        selected.set(req.name, req.version);
      }
    }
    const children = await Promise.all(fresh.map(requirementsOf));
    fresh.forEach((req, i) => {
      for (const child of children[i]!) {
        edges.push([req, child]);
        next.push(child);
      }
    });
    frontier = next;
  }
  return { selected, edges };
}
