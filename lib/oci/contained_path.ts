/**
 * The one check that a path built from data (a registry's name or version, a lock entry, a title) stays in
 * the folder it belongs to, before anything is written or deleted there.
 *
 * @module
 */

import { isAbsolute, relative, resolve, sep } from "node:path";

/** Thrown when a path built from data would leave its folder. */
export class PathEscapeError extends Error {
  override name = "PathEscapeError";
}

/**
 * Joins `parts` under `folder` and returns the resolved path, refusing anything that is not strictly below
 * `folder` (absolute parts, `..`, the folder itself, empty or NUL-containing parts). The check is lexical:
 * callers validate the parts' grammar too, and never follow links they did not create.
 *
 * @param folder the folder the path belongs to
 * @param parts the relative parts, joined in order
 * @param what names the path in the error (`cache folder`, `pull target`)
 * @throws {PathEscapeError} naming the path and the folder
 * @example containedPath("/home/u/.kcl/kpm", ["k8s_1.28"], "cache folder") // "/home/u/.kcl/kpm/k8s_1.28"
 */
export function containedPath(folder: string, parts: string[], what = "path"): string {
  const shown = parts.join("/");
  for (const part of parts) {
    if (part === "" || part.includes("\0") || isAbsolute(part) || /^[a-zA-Z]:/.test(part)) {
      throw new PathEscapeError(`Refusing ${what} ${JSON.stringify(shown)}: it is not a relative path`);
    }
  }
  const base = resolve(folder);
  const path = resolve(base, ...parts);
  if (!isInside(base, path)) {
    throw new PathEscapeError(
      `Refusing ${what} ${JSON.stringify(shown)}: it resolves outside ${JSON.stringify(base)}`,
    );
  }
  return path;
}

/** Whether `path` is strictly below `folder` (lexically, both resolved; the folder itself is not). */
export function isInside(folder: string, path: string): boolean {
  const rel = relative(resolve(folder), resolve(path));
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}
