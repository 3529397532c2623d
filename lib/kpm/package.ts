/**
 * KCL package archives: a reproducible gzip tar of a package folder, safe extraction (nothing outside the
 * target, nothing half-extracted visible), and the reference's checksum ("sum").
 *
 * @module
 */

import { createHash } from "node:crypto";
import { dirname, join, posix } from "node:path";
import { isInside } from "../oci/contained_path.ts";
import { globSource } from "../oci/glob.ts";
import { gzipStream, packTar, type TarEntry, walkFolder } from "../oci/tar_pack.ts";
import { type ExtractLimit, extractTar } from "../oci/untar.ts";
import { PackageError } from "./errors.ts";

/** Thrown for an archive that is unsafe or broken; names the entry. */
export class PackageArchiveError extends Error {
  /** The error's class name. */
  override name = "PackageArchiveError";
}

/** Paths the reference's checksum skips: any path containing one of these. */
const SUM_IGNORES = [".git", ".tar"];

/** Archive names never packed into a package. */
const ARCHIVE = /\.(tar|tgz|tar\.gz)$/i;

/** A folder's non-folder entries (files, symlinks, special files) in walkFolder's order. */
async function walk(root: string): Promise<string[]> {
  return (await walkFolder(root)).filter((entry) => entry.kind !== "directory").map((entry) => entry.path);
}

/**
 * Opens a package file for reading: a regular file, or a symlink to a regular file inside the package (read
 * through). A symlink leaving the package, a dangling one and special files (fifo, socket, device) are
 * refused before anything is opened.
 *
 * @throws {PackageError} naming the link or special file
 */
async function openPackageFile(root: string, rel: string): Promise<Deno.FsFile> {
  const path = join(root, rel);
  const shown = JSON.stringify(path);
  const link = await Deno.lstat(path);
  if (link.isSymlink) {
    const target = JSON.stringify(await Deno.readLink(path));
    const real = await Deno.realPath(path).catch(() => undefined);
    if (real === undefined) {
      throw new PackageError(`Refusing symlink ${shown}: its target ${target} does not exist`);
    }
    if (!isInside(await Deno.realPath(root), real)) {
      throw new PackageError(
        `Refusing symlink ${shown}: it points outside the package ${JSON.stringify(root)} (to ${target})`,
      );
    }
    if (!(await Deno.stat(real)).isFile) {
      throw new PackageError(`Refusing symlink ${shown}: it points to ${target}, which is not a file`);
    }
  } else if (!link.isFile) {
    throw new PackageError(
      `Refusing ${shown}: it is not a file, folder or symlink (a fifo, socket or device), which packages may not hold`,
    );
  }
  return await Deno.open(path);
}

/** Whether the package checksum covers a file at this relative path (it skips paths with ".git" or ".tar"). */
export function sumCovers(path: string): boolean {
  return !SUM_IGNORES.some((ignore) => path.includes(ignore));
}

/**
 * Removes, under `dir`, every file and folder whose path the package checksum does not cover (`.git`,
 * `.github`, `x.tar.k`…), so that nothing unverified stays in a folder headed for the cache.
 */
export async function removeUncovered(dir: string, prefix = ""): Promise<void> {
  for await (const entry of Deno.readDir(join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (!sumCovers(rel)) await Deno.remove(join(dir, rel), { recursive: true });
    else if (entry.isDirectory) await removeUncovered(dir, rel);
  }
}

/**
 * The reference kpm's checksum of a package folder (HashDir): standard base64 of the SHA-256 over the contents of
 * its files, concatenated in walk order, skipping paths that contain ".git" or ".tar". The skip looks at the
 * path inside the package (the reference looks at the whole path, so a package kept under, say, `x.github/`
 * hashes to the empty sum there).
 *
 * @param options `files`: only these (relative, in walk order), e.g. what packageFiles keeps
 * @example await packageSum("./mypkg") // "yNADGqn3jclWtfpwvWMHBsgkAKzOaMWg/VYxfcOJs64="
 */
export async function packageSum(dir: string, options: { files?: string[] } = {}): Promise<string> {
  const files = (options.files ?? await walk(dir)).filter(sumCovers);
  const hash = createHash("sha256");
  // The checks and opens of the next few files run while one is read: each waits on the file system, not on
  // the files before it (a 626-file package's sum waited ~1 s on one request after another).
  const opening: Promise<Deno.FsFile>[] = [];
  const buffer = new Uint8Array(SUM_READ_SIZE);
  let next = 0;
  try {
    while (next < files.length || opening.length > 0) {
      while (next < files.length && opening.length < SUM_OPEN_AHEAD) {
        const open = openPackageFile(dir, files[next++]!);
        open.catch(() => {}); // its failure is thrown below, in walk order
        opening.push(open);
      }
      using file = await opening.shift()!;
      for (let read = await file.read(buffer); read !== null; read = await file.read(buffer)) {
        hash.update(buffer.subarray(0, read));
      }
    }
  } finally {
    await Promise.allSettled(opening.map((open) => open.then((file) => file.close())));
  }
  return hash.digest("base64");
}

/** How many package files packageSum checks and opens ahead of the one it reads. */
const SUM_OPEN_AHEAD = 8;

/**
 * packageSum's read size: most package files fit in one read into this one buffer (a stream per file cost
 * more than the reads of a 626-file package).
 */
const SUM_READ_SIZE = 256 * 1024;

/** Converts a kcl.mod include/exclude glob to a RegExp over `/`-separated relative paths. */
function globToRegExp(glob: string): RegExp {
  let pattern = glob.replace(/^\.\//, "");
  const dirOnly = pattern.endsWith("/");
  if (dirOnly) pattern = pattern.slice(0, -1);
  const source = globSource(pattern, { slashAfterGlobstarOptional: true });
  const anchored = pattern.includes("/") ? `^${source}` : `(?:^|/)${source}`;
  return new RegExp(`${anchored}(?:/.*)?$`);
}

/**
 * The files a package archive holds: every file but `.git` folders and archives, narrowed by kcl.mod's
 * `include` and `exclude` globs (kcl.mod itself is always kept).
 */
export async function packageFiles(dir: string, options: { include?: string[]; exclude?: string[] } = {}) {
  const include = options.include?.map(globToRegExp);
  const exclude = options.exclude?.map(globToRegExp) ?? [];
  return (await walk(dir)).filter((file) => {
    if (file.split("/").includes(".git") || ARCHIVE.test(file)) return false;
    if (file === "kcl.mod") return true;
    if (include && !include.some((re) => re.test(file))) return false;
    return !exclude.some((re) => re.test(file));
  });
}

/**
 * Packs a package folder as a gzip tar stream: its files (see packageFiles) and their folders, sorted by full
 * path, packed by packTar, so the same folder always gives the same bytes (and digest).
 *
 * @param options kcl.mod's include/exclude globs; `gzip: false` for a plain tar
 */
export function packPackage(
  dir: string,
  options: { include?: string[]; exclude?: string[]; gzip?: boolean } = {},
): ReadableStream<Uint8Array> {
  const tar = packTar(packageEntries(dir, options));
  return options.gzip === false ? tar : tar.pipeThrough(gzipStream());
}

/** The entries of a package archive: packageFiles and their parent folders, sorted by full path. */
async function* packageEntries(
  dir: string,
  options: { include?: string[]; exclude?: string[] },
): AsyncIterable<TarEntry> {
  const files = await packageFiles(dir, options);
  const dirs = new Set<string>();
  for (const file of files) {
    for (let d = posix.dirname(file); d !== "."; d = posix.dirname(d)) dirs.add(d);
  }
  const entries: TarEntry[] = [...dirs].map((d): TarEntry => ({ name: `${d}/`, type: "directory" })).concat(
    files.map((f): TarEntry => ({ name: f, type: "file", open: () => openPackageFile(dir, f) })),
  );
  yield* entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * What one package may unpack to: far above real KCL packages (the k8s package, among the largest, has 626
 * files), far below what fills a disk, so a gzip bomb from a registry is refused before it is written.
 */
export const PACKAGE_LIMIT: ExtractLimit = { entries: 100_000, bytes: 1024 * 1024 * 1024 };

/**
 * The largest package archive (a package layer) kpm downloads, checked against the size its manifest declares
 * before any byte is fetched: what PACKAGE_LIMIT lets a package unpack to, plus its tar framing (1 KiB for each
 * of its entries: a 512-byte header and up to 511 bytes of padding; gzip adds far less). A larger archive
 * cannot be extracted anyway; without this bound a registry could fill the disk before extraction refused it.
 */
export const PACKAGE_ARCHIVE_LIMIT_BYTES: number = PACKAGE_LIMIT.bytes + PACKAGE_LIMIT.entries * 1024;

/**
 * Extracts a package archive (gzip or plain tar, sniffed) into `folder`, an empty folder the caller owns.
 * Absolute paths, `..`, links pointing outside and special files are refused; files the package checksum
 * does not cover (see sumCovers) are skipped, so nothing unverified is ever extracted.
 *
 * @param options `name` names the archive in errors
 * @throws {PackageArchiveError} for a hostile or broken archive; the caller removes `folder` then
 */
export async function extractPackage(
  stream: ReadableStream<Uint8Array>,
  folder: string,
  options: { name?: string } = {},
): Promise<void> {
  const archive = JSON.stringify(options.name ?? folder);
  const refuse = (name: string, why: string): never => {
    throw new PackageArchiveError(`Refusing archive ${archive}: entry ${JSON.stringify(name)} ${why}`);
  };
  try {
    await extractTar(await gunzipIfNeeded(stream), await Deno.realPath(folder), {
      refuse,
      holder: "packages",
      keep: sumCovers,
      limit: PACKAGE_LIMIT,
    });
  } catch (error) {
    if (error instanceof PackageArchiveError) throw error;
    if (error instanceof Deno.errors.AlreadyExists) {
      throw new PackageArchiveError(`Refusing archive ${archive}: it holds the same entry twice`);
    }
    throw new PackageArchiveError(`Cannot extract archive ${archive}: ${(error as Error).message}`);
  }
}

/**
 * Extracts a package archive into `destination` (see extractPackage), through a temporary sibling folder
 * renamed into place only when complete.
 *
 * @param options `name` names the archive in errors
 * @throws {PackageArchiveError} for a hostile or broken archive; `destination` is then left untouched
 */
export async function unpackPackage(
  stream: ReadableStream<Uint8Array>,
  destination: string,
  options: { name?: string } = {},
): Promise<void> {
  await Deno.mkdir(dirname(destination), { recursive: true });
  const temp = `${destination}.${crypto.randomUUID().slice(0, 8)}.partial`;
  await Deno.mkdir(temp);
  try {
    await extractPackage(stream, temp, options);
    await Deno.rename(temp, destination);
  } catch (error) {
    await Deno.remove(temp, { recursive: true }).catch(() => {});
    throw error;
  }
}

/** Passes the stream through gunzip when it starts with the gzip magic bytes. */
async function gunzipIfNeeded(stream: ReadableStream<Uint8Array>): Promise<ReadableStream<Uint8Array>> {
  const reader = stream.getReader();
  const first = await reader.read();
  const head = first.value ?? new Uint8Array();
  const rest = new ReadableStream<Uint8Array>({
    start(controller) {
      if (head.byteLength) controller.enqueue(head);
      if (first.done) controller.close();
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  return gzip
    ? rest.pipeThrough(new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>)
    : rest;
}
