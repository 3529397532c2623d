/**
 * kcl.mod and kcl.mod.lock, read and written as the KCL tool chain does (new files byte-for-byte as the
 * reference kpm writes them; edits keep the user's other lines).
 *
 * @module
 */

import {
  type DependencySpec,
  formatModFile,
  type ModFile,
  type PackageInfo,
  readModFile as readModFileInternal,
  writeModFile as writeModFileInternal,
} from "../kpm/modfile.ts";
import {
  type LockedDependency,
  readLockFile as readLockFileInternal,
  writeLockFile as writeLockFileInternal,
} from "../kpm/lockfile.ts";

export type { DependencySpec, LockedDependency, ModFile, PackageInfo };

/** A kcl.mod to write: its [package] table and its dependencies by name. */
export interface ModFileContent {
  /** The [package] table. */
  package: PackageInfo;
  /** Dependencies by name (the [dependencies] table). */
  dependencies?: Map<string, DependencySpec>;
}

/**
 * Reads `DIR/kcl.mod`.
 *
 * @throws {ModFileError} when the file is missing or invalid (naming file:line:col)
 * @example
 * ```ts
 * import { readModFile, writeModFile } from "@kcl/kpm";
 *
 * const dir = await Deno.makeTempDir();
 * await writeModFile(dir, { package: { name: "demo", edition: "v0.11.0", version: "0.1.0" } });
 * const mod = await readModFile(dir);
 * console.log(mod.package.name, mod.dependencies.size); // demo 0
 * ```
 */
export async function readModFile(dir: string): Promise<ModFile> {
  return await readModFileInternal(dir);
}

/**
 * Writes `DIR/kcl.mod` atomically: the given text as it is, or a new file formatted as the reference kpm
 * formats it.
 *
 * @example Add a dependency
 * ```ts
 * import { readModFile, writeModFile } from "@kcl/kpm";
 *
 * const dir = await Deno.makeTempDir();
 * await writeModFile(dir, {
 *   package: { name: "app", edition: "v0.11.0", version: "0.0.1" },
 *   dependencies: new Map([["k8s", { kind: "registry", version: "1.28" }]]),
 * });
 * console.log((await readModFile(dir)).dependencies.get("k8s")); // { kind: "registry", version: "1.28" }
 * ```
 */
export async function writeModFile(dir: string, content: ModFileContent | string): Promise<void> {
  const text = typeof content === "string" ? content : formatModFile(content.package, content.dependencies);
  await writeModFileInternal(dir, text);
}

/**
 * Reads `DIR/kcl.mod.lock`, keyed by dependency name; a missing file is an empty lock.
 *
 * @throws {ModFileError} for a malformed file
 * @example
 * ```ts
 * import { readLockFile } from "@kcl/kpm";
 *
 * console.log((await readLockFile(await Deno.makeTempDir())).size); // 0
 * ```
 */
export async function readLockFile(dir: string): Promise<Map<string, LockedDependency>> {
  return await readLockFileInternal(dir);
}

/**
 * Writes `DIR/kcl.mod.lock` atomically, in the reference kpm's layout.
 *
 * @example
 * ```ts
 * import { readLockFile, writeLockFile } from "@kcl/kpm";
 *
 * const dir = await Deno.makeTempDir();
 * await writeLockFile(dir, new Map([["k8s", {
 *   name: "k8s", full_name: "k8s_1.28", version: "1.28", sum: "abc=", reg: "ghcr.io", repo: "kcl-lang/k8s", oci_tag: "1.28",
 * }]]));
 * console.log((await readLockFile(dir)).get("k8s")?.version); // 1.28
 * ```
 */
export async function writeLockFile(dir: string, lock: Map<string, LockedDependency>): Promise<void> {
  await writeLockFileInternal(dir, lock);
}
