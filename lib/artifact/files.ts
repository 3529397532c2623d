/**
 * File arguments of artifact commands: `FILE[:TYPE]` parsing and the safety of names used as paths.
 *
 * @module
 */

import { isAbsolute, posix } from "node:path";

/** A file to push, with its optional media type. */
export interface FileSpec {
  /** The file's path (relative to the push's folder); with `content`, only the layer's title. */
  path: string;
  mediaType?: string;
  /** In-memory content, pushed instead of reading `path`. */
  content?: Uint8Array;
}

/** Thrown for unsafe or malformed file names. */
export class ArtifactError extends Error {
  /** The error's class name. */
  override name = "ArtifactError";
}

/**
 * Parses `FILE[:TYPE]` as oras does: the media type follows the last `:`, except a Windows drive letter.
 *
 * @example parseFileSpec("hi.txt:application/vnd.me.hi") // { path: "hi.txt", mediaType: "application/vnd.me.hi" }
 */
export function parseFileSpec(value: string): FileSpec {
  const colon = value.lastIndexOf(":");
  if (colon <= 0 || (colon === 1 && /^[a-zA-Z]:[\\/]/.test(value))) return { path: value };
  const mediaType = value.slice(colon + 1);
  return mediaType === "" ? { path: value.slice(0, colon) } : { path: value.slice(0, colon), mediaType };
}

/**
 * Checks that a layer title is a safe relative path inside the output folder.
 *
 * @throws {ArtifactError} for absolute paths and paths that climb out with `..`
 */
export function safeRelativePath(title: string, where: string): string {
  if (title === "" || isAbsolute(title) || /^[a-zA-Z]:/.test(title) || /^[\\/]/.test(title)) {
    throw new ArtifactError(`Refusing ${where} "${title}": absolute or empty paths are not allowed`);
  }
  const normalized = posix.normalize(title.replaceAll("\\", "/"));
  if (normalized.split("/").includes("..")) {
    throw new ArtifactError(`Refusing ${where} "${title}": it climbs out of the output folder with ".."`);
  }
  return normalized;
}

/**
 * The title a pushed file or folder gets: its path as given, checked with safeRelativePath, with `/`
 * separators and no trailing slash.
 *
 * @throws {ArtifactError} for absolute paths and paths that climb out with `..`
 * @example fileTitle("conf/") // "conf"
 */
export function fileTitle(path: string): string {
  return safeRelativePath(path, "file").replaceAll("\\", "/").replace(/\/+$/, "");
}
