/**
 * kcl.mod.lock: the full, resolved dependency graph with checksums, read and written in the exact layout the
 * reference kpm produces (BurntSushi/toml encoding of pkg/package/toml.go's DependenciesUI: one indented table
 * per dependency, keys sorted, fields in struct order, empty fields omitted).
 *
 * @module
 */

import { join } from "node:path";
import { writeFileAtomic } from "../oci/atomic_file.ts";
import { ModFileError, parseTomlDocument, readTomlFile, tomlString } from "./modfile.ts";

/** The file name. */
export const LOCK_FILE = "kcl.mod.lock";

/** One locked dependency; field order is the reference's. */
export interface LockedDependency {
  /** The package's own name. */
  name: string;
  /** `NAME_VERSION`: its folder in the cache. */
  full_name?: string;
  /** The locked version. */
  version?: string;
  /** The checksum a download must match. */
  sum?: string;
  /** A git dependency's repository URL. */
  url?: string;
  /** A git dependency's branch. */
  branch?: string;
  /** A git dependency's commit. */
  commit?: string;
  /** A git dependency's tag. */
  git_tag?: string;
  /** The package inside the artifact or repository, when kcl.mod names one. */
  package?: string;
  /** An OCI dependency's registry. */
  reg?: string;
  /** An OCI dependency's repository. */
  repo?: string;
  /** An OCI dependency's tag. */
  oci_tag?: string;
  /**
   * kpm's own field (the reference ignores it): the fingerprint of the key whose signature a trust policy
   * checked. Written only when a policy covers the package, so locks stay the reference's byte for byte.
   */
  signed_by?: string;
}

const FIELD_ORDER: (keyof LockedDependency)[] = [
  "name",
  "full_name",
  "version",
  "sum",
  "url",
  "branch",
  "commit",
  "git_tag",
  "package",
  "reg",
  "repo",
  "oci_tag",
  "signed_by",
];

/**
 * Parses kcl.mod.lock text into locked dependencies keyed by their kcl.mod name.
 *
 * @throws {ModFileError} naming file:line:col
 */
export function parseLockFile(text: string, path: string): Map<string, LockedDependency> {
  const doc = parseTomlDocument(text, "kcl.mod.lock", path);
  const result = new Map<string, LockedDependency>();
  const deps = (doc.dependencies ?? {}) as Record<string, Record<string, unknown>>;
  for (const key of Object.keys(deps).sort()) {
    const table = deps[key]!;
    if (!table || typeof table !== "object") {
      throw new ModFileError(`Invalid kcl.mod.lock "${path}": [dependencies.${key}] must be a table`);
    }
    const entry: LockedDependency = { name: String(table.name ?? key) };
    for (const field of FIELD_ORDER) {
      const value = table[field];
      if (typeof value === "string" && field !== "name") entry[field] = value;
    }
    result.set(key, entry);
  }
  return result;
}

/** The text of a kcl.mod.lock (empty when there are no dependencies, as the reference writes it). */
export function formatLockFile(dependencies: Map<string, LockedDependency>): string {
  if (dependencies.size === 0) return "";
  const keys = [...dependencies.keys()].sort();
  let text = "[dependencies]\n";
  for (const key of keys) {
    const entry = dependencies.get(key)!;
    text += `  [dependencies.${/^[A-Za-z0-9_-]+$/.test(key) ? key : tomlString(key)}]\n`;
    for (const field of FIELD_ORDER) {
      const value = entry[field];
      if (value !== undefined && value !== "") text += `    ${field} = ${tomlString(value)}\n`;
    }
  }
  return text;
}

/** Reads `DIR/kcl.mod.lock`; an absent file is an empty lock. */
export async function readLockFile(dir: string): Promise<Map<string, LockedDependency>> {
  const path = join(dir, LOCK_FILE);
  try {
    return parseLockFile(await readTomlFile(path), path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return new Map();
    throw error;
  }
}

/** Writes `DIR/kcl.mod.lock` atomically. */
export async function writeLockFile(dir: string, dependencies: Map<string, LockedDependency>): Promise<void> {
  await writeFileAtomic(join(dir, LOCK_FILE), formatLockFile(dependencies));
}
