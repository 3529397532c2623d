/**
 * kcl.mod: reading, editing the [dependencies] section in place (keeping the user's other lines, comments and
 * order), and writing new files byte-for-byte as the reference kpm does (pkg/package/toml.go).
 *
 * @module
 */

import { join } from "node:path";
import { parseToml } from "../deps.ts";
import { writeFileAtomic } from "../oci/atomic_file.ts";
import { readCappedFile } from "../oci/read_capped.ts";

/** The file name. */
export const MOD_FILE = "kcl.mod";
/** The KCL edition `mod init` writes. */
export const DEFAULT_EDITION = "v0.11.0";

/** The [package] table. */
export interface PackageInfo {
  /** The package name. */
  name: string;
  /** The KCL edition it targets. */
  edition?: string;
  /** The package version. */
  version?: string;
  /** A one-line description. */
  description?: string;
  /** Globs of the files a push packs (all when absent). */
  include?: string[];
  /** Globs of the files a push leaves out. */
  exclude?: string[];
}

/** A dependency as kcl.mod spells it. */
export type DependencySpec =
  | { kind: "registry"; version: string; package?: string }
  | { kind: "oci"; oci: string; tag?: string; version?: string; package?: string }
  | { kind: "repo"; repo: string; tag?: string; reg?: string; version?: string; package?: string }
  | {
    kind: "git";
    git: string;
    tag?: string;
    commit?: string;
    branch?: string;
    version?: string;
    package?: string;
  }
  | { kind: "path"; path: string; version?: string; package?: string };

/** A parsed kcl.mod. */
export interface ModFile {
  /** The file's path. */
  path: string;
  /** The file's text, kept for in-place edits. */
  text: string;
  /** The [package] table. */
  package: PackageInfo;
  /** Dependencies by their name in kcl.mod (an alias when `package` is set). */
  dependencies: Map<string, DependencySpec>;
}

/** Thrown for a kcl.mod that cannot be read or understood; the message names file:line:col. */
export class ModFileError extends Error {
  /** The error's class name. */
  override name = "ModFileError";
}

/** Quotes a TOML basic string. */
export function tomlString(value: string): string {
  return JSON.stringify(value).replace(/\\u007f/g, "\\u007F");
}

/**
 * Parses the TOML text of a kcl.mod or kcl.mod.lock into its top-level table.
 *
 * @param label the kind of file, for messages ("kcl.mod", "kcl.mod.lock")
 * @param path the file's path, for messages
 * @throws {ModFileError} `Invalid LABEL "PATH:LINE:COL": …` with the parser's first line
 */
export function parseTomlDocument(text: string, label: string, path: string): Record<string, unknown> {
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (error) {
    const e = error as Error & { line?: number; column?: number };
    const at = e.line !== undefined ? `:${e.line}:${e.column ?? 1}` : "";
    throw new ModFileError(`Invalid ${label} "${path}${at}": ${e.message.split("\n")[0]}`);
  }
}

function asString(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new ModFileError(`${where} must be a string`);
  return value;
}

function parseDependency(name: string, value: unknown, file: string): DependencySpec {
  const where = `${file}: dependency "${name}"`;
  if (typeof value === "string") return { kind: "registry", version: value };
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new ModFileError(`${where} must be a version string or an inline table`);
  }
  const t = value as Record<string, unknown>;
  const str = (key: string) => asString(t[key], `${where}: "${key}"`);
  /** The keys given as strings, in this order; absent keys are left out. */
  const fields = <K extends string>(...keys: K[]) => {
    const given: { [key in K]?: string } = {};
    for (const key of keys) {
      const value = str(key);
      if (value !== undefined) given[key] = value;
    }
    return given;
  };
  const common = fields("version", "package");
  if (t.oci !== undefined) {
    const oci = str("oci")!;
    if (!oci.startsWith("oci://")) {
      throw new ModFileError(`${where}: "oci" must be an oci:// URL, got "${oci}"`);
    }
    return { kind: "oci", oci, ...fields("tag"), ...common };
  }
  if (t.git !== undefined) {
    return { kind: "git", git: str("git")!, ...fields("tag", "commit", "branch"), ...common };
  }
  if (t.path !== undefined) return { kind: "path", path: str("path")!, ...common };
  if (t.repo !== undefined) return { kind: "repo", repo: str("repo")!, ...fields("tag", "reg"), ...common };
  if (common.version !== undefined) return { kind: "registry", version: common.version, ...common };
  throw new ModFileError(`${where} has none of oci, git, path, repo or version`);
}

/**
 * Parses kcl.mod text.
 *
 * @param text the file content
 * @param path the file's path, for messages
 * @throws {ModFileError} naming file:line:col for TOML errors, and the field for bad values
 */
export function parseModFile(text: string, path: string): ModFile {
  const doc = parseTomlDocument(text, "kcl.mod", path);
  const pkg = doc.package as Record<string, unknown> | undefined;
  if (!pkg || typeof pkg !== "object") {
    throw new ModFileError(`Invalid kcl.mod "${path}": no [package] table`);
  }
  const name = asString(pkg.name, `${path}: package.name`);
  if (!name) throw new ModFileError(`Invalid kcl.mod "${path}": package.name is missing`);
  const list = (key: string) => {
    const value = pkg[key];
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
      throw new ModFileError(`Invalid kcl.mod "${path}": package.${key} must be a list of strings`);
    }
    return value as string[];
  };
  const dependencies = new Map<string, DependencySpec>();
  const deps = doc.dependencies;
  if (deps !== undefined) {
    if (!deps || typeof deps !== "object" || Array.isArray(deps)) {
      throw new ModFileError(`Invalid kcl.mod "${path}": [dependencies] must be a table`);
    }
    for (const [key, value] of Object.entries(deps)) dependencies.set(key, parseDependency(key, value, path));
  }
  return {
    path,
    text,
    package: {
      name,
      edition: asString(pkg.edition, `${path}: package.edition`),
      version: asString(pkg.version, `${path}: package.version`),
      description: asString(pkg.description, `${path}: package.description`),
      include: list("include"),
      exclude: list("exclude"),
    },
    dependencies,
  };
}

/**
 * Reads `DIR/kcl.mod`.
 *
 * @throws {ModFileError} when the file is missing or invalid
 */
export async function readModFile(dir: string): Promise<ModFile> {
  const path = join(dir, MOD_FILE);
  let text: string;
  try {
    text = await readTomlFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new ModFileError(`No kcl.mod in "${dir}": not a KCL package (run \`kpm mod init\`)`);
    }
    throw error;
  }
  return parseModFile(text, path);
}

/** The largest kcl.mod or kcl.mod.lock read: real ones hold a few KiB. */
const MAX_TOML_FILE_BYTES = 1024 * 1024;

/**
 * Reads a kcl.mod or kcl.mod.lock (a link is followed): a downloaded or cloned package's may be hostile, so
 * one that is not a regular file (a link to a device or fifo) or is over MAX_TOML_FILE_BYTES is refused,
 * never read whole (readCappedFile).
 *
 * @throws {Deno.errors.NotFound} when it is missing
 * @throws {ModFileError} `Cannot read "PATH": …` when it cannot be read, is not a regular file or is too large
 */
export async function readTomlFile(path: string): Promise<string> {
  try {
    return new TextDecoder().decode(await readCappedFile(path, { limit: MAX_TOML_FILE_BYTES }));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw error;
    throw new ModFileError((error as Error).message);
  }
}

/** The right-hand side of a dependency line, as the reference writes it. */
export function formatDependency(spec: DependencySpec): string {
  const fields: [string, string | undefined][] = [];
  switch (spec.kind) {
    case "registry":
      if (!spec.package) return tomlString(spec.version);
      fields.push(["package", spec.package], ["version", spec.version]);
      break;
    case "oci":
      fields.push(["oci", spec.oci], ["tag", spec.tag], ["package", spec.package], ["version", spec.version]);
      break;
    case "repo":
      fields.push(["repo", spec.repo], ["tag", spec.tag], ["reg", spec.reg], ["package", spec.package], [
        "version",
        spec.version,
      ]);
      break;
    case "git":
      fields.push(["git", spec.git], ["tag", spec.tag], ["commit", spec.commit], ["branch", spec.branch], [
        "package",
        spec.package,
      ], ["version", spec.version]);
      break;
    case "path":
      fields.push(["path", spec.path], ["package", spec.package], ["version", spec.version]);
      break;
  }
  const parts = fields.filter(([, v]) => v !== undefined && v !== "").map(([k, v]) =>
    `${k} = ${tomlString(v!)}`
  );
  return `{ ${parts.join(", ")} }`;
}

/** Formats a TOML key: bare when it can be, quoted otherwise. */
function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : tomlString(key);
}

/** The text of a new kcl.mod, byte-for-byte as the reference writes it. */
export function formatModFile(
  pkg: PackageInfo,
  dependencies: Map<string, DependencySpec> = new Map(),
): string {
  const lines = ["[package]", `name = ${tomlString(pkg.name)}`];
  if (pkg.edition !== undefined) lines.push(`edition = ${tomlString(pkg.edition)}`);
  if (pkg.version !== undefined) lines.push(`version = ${tomlString(pkg.version)}`);
  if (pkg.description) lines.push(`description = ${tomlString(pkg.description)}`);
  if (pkg.include) lines.push(`include = [${pkg.include.map(tomlString).join(", ")}]`);
  if (pkg.exclude) lines.push(`exclude = [${pkg.exclude.map(tomlString).join(", ")}]`);
  let text = `${lines.join("\n")}\n`;
  if (dependencies.size > 0) {
    text += "\n[dependencies]\n";
    for (const [name, spec] of dependencies) text += `${tomlKey(name)} = ${formatDependency(spec)}\n`;
  }
  return text;
}

/** Finds the [dependencies] section's line range in `lines` (header index, end index exclusive). */
function dependencySection(lines: string[]): { header: number; end: number } | undefined {
  const header = lines.findIndex((line) => /^\s*\[\s*dependencies\s*\]\s*(#.*)?$/.test(line));
  if (header < 0) return undefined;
  let end = header + 1;
  while (end < lines.length && !/^\s*\[/.test(lines[end]!)) end++;
  return { header, end };
}

function lineDefines(line: string, name: string): boolean {
  const match = /^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)\s*=/.exec(line);
  if (!match) return false;
  const key = match[1]!;
  const unquoted = key.startsWith('"') ? JSON.parse(key) : key.startsWith("'") ? key.slice(1, -1) : key;
  return unquoted === name;
}

/**
 * Returns kcl.mod text with a dependency added or replaced, keeping every other line as it was.
 *
 * @param text the current kcl.mod text
 * @param name the dependency's name (alias)
 * @param spec the dependency, or undefined to remove it
 */
export function editDependency(text: string, name: string, spec: DependencySpec | undefined): string {
  const lines = text.split("\n");
  const newLine = spec ? `${tomlKey(name)} = ${formatDependency(spec)}` : undefined;
  const section = dependencySection(lines);
  if (!section) {
    if (!newLine) return text;
    const body = text.endsWith("\n") ? text : `${text}\n`;
    return `${body}\n[dependencies]\n${newLine}\n`;
  }
  const existing = lines.findIndex((line, i) =>
    i > section.header && i < section.end && lineDefines(line, name)
  );
  if (existing >= 0) {
    if (newLine) lines[existing] = newLine;
    else lines.splice(existing, 1);
    return lines.join("\n");
  }
  if (!newLine) return text;
  let insertAt = section.end;
  while (insertAt > section.header + 1 && lines[insertAt - 1]!.trim() === "") insertAt--;
  lines.splice(insertAt, 0, newLine);
  return lines.join("\n");
}

/** Writes kcl.mod text atomically. */
export async function writeModFile(dir: string, text: string): Promise<void> {
  await writeFileAtomic(join(dir, MOD_FILE), text);
}
