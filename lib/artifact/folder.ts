/**
 * Folders as ORAS layers: packed as a gzip tar whose entries sit under the folder's title (as oras does), with
 * the digest of the uncompressed tar for the `io.deis.oras.content.digest` annotation; unpacked safely into
 * an output folder (a temporary folder inside it first, renamed into place when complete and verified).
 *
 * Hostile archives are refused: absolute names, `..`, entries outside the title, symlinks or hard links
 * pointing out, writes through a symlink, devices and fifos. Nothing is written outside the output folder.
 *
 * @module
 */

import { dirname, join, posix, resolve } from "node:path";
import { extractTar } from "../oci/untar.ts";
import { type Digest, DigestError, Hasher, hashingStream } from "../oci/digest.ts";
import {
  type FolderEntry,
  type PackedTar,
  packTar,
  type TarEntry,
  walkFolder,
  writeGzip,
} from "../oci/tar_pack.ts";
import { ArtifactError } from "./files.ts";

/** A packed folder, in a temporary file the caller removes. */
export interface PackedFolder extends PackedTar {
  /** The .tar.gz file. */
  path: string;
}

/**
 * Packs `dir` as a gzip tar with entries `TITLE/…` (in walkFolder's order, symlinks kept as symlinks) into a
 * temporary file, hashing the tar and the gzip on the way (one pass).
 *
 * @param title the layer title, the name entries are put under
 * @throws {ArtifactError} for special files (devices, sockets, fifos)
 */
export async function packFolder(dir: string, title: string): Promise<PackedFolder> {
  const entries = await walkFolder(dir);
  const path = await Deno.makeTempFile({ prefix: "kpm-folder-", suffix: ".tar.gz" });
  try {
    const tar = packTar(folderEntries(dir, title, entries));
    const packed = await writeGzip(tar, (await Deno.open(path, { write: true, truncate: true })).writable);
    return { path, ...packed };
  } catch (error) {
    await Deno.remove(path).catch(() => {});
    if (error instanceof ArtifactError) throw error;
    throw new ArtifactError(`Cannot pack folder "${dir}": ${(error as Error).message}`);
  }
}

/** The tar entries of a folder layer: the title folder, then every entry under it. */
async function* folderEntries(dir: string, title: string, entries: FolderEntry[]): AsyncIterable<TarEntry> {
  yield { name: `${title}/`, type: "directory" };
  for (const { path, kind } of entries) {
    const name = `${title}/${path}`;
    if (kind === "directory") yield { name: `${name}/`, type: "directory" };
    else if (kind === "symlink") {
      yield { name, type: "symlink", linkname: await Deno.readLink(join(dir, path)) };
    } else if (kind === "file") yield { name, type: "file", open: () => Deno.open(join(dir, path)) };
    else throw new ArtifactError(`Cannot pack "${join(dir, path)}": not a file, folder or symlink`);
  }
}

/** Options of unpackFolder. */
export interface UnpackFolderOptions {
  /** The digest the uncompressed tar must have (`io.deis.oras.content.digest`), when known. */
  tarDigest?: Digest;
  /** Fail instead of overwriting files that exist. */
  keepOldFiles?: boolean;
}

/**
 * Unpacks a gzip tar whose entries sit under `title` into `outDir/title`: extracted into a temporary folder
 * inside `outDir`, checked against `tarDigest`, then moved into place.
 *
 * @returns the folder written (`outDir/title`)
 * @throws {ArtifactError} for a hostile archive (nothing is then written outside the temporary folder, which is
 *   removed) or a digest mismatch
 */
export async function unpackFolder(
  gzip: ReadableStream<Uint8Array>,
  outDir: string,
  title: string,
  options: UnpackFolderOptions = {},
): Promise<string> {
  const out = resolve(outDir);
  await Deno.mkdir(out, { recursive: true });
  const temp = await Deno.makeTempDir({ dir: out, prefix: ".kpm-unpack-" });
  const root = await Deno.realPath(temp);
  const prefix = posix.normalize(title.replaceAll("\\", "/")).replace(/\/+$/, "");
  const hasher = new Hasher();
  const refuse = (name: string, why: string): never => {
    throw new ArtifactError(`Refusing layer "${title}": entry "${name}" ${why}`);
  };
  try {
    const tar = gzip
      .pipeThrough(new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>)
      .pipeThrough(hashingStream(hasher));
    await extractTar(tar, root, { prefix, refuse, holder: "artifacts" });
    if (options.tarDigest) hasher.verify({ digest: options.tarDigest }, `the tar of layer "${title}"`);
    const destination = join(out, prefix);
    await moveInto(join(root, prefix), destination, options.keepOldFiles ?? false);
    return destination;
  } catch (error) {
    if (error instanceof ArtifactError || error instanceof DigestError) throw error;
    throw new ArtifactError(`Cannot unpack layer "${title}": ${(error as Error).message}`);
  } finally {
    await Deno.remove(temp, { recursive: true }).catch(() => {});
  }
}

/** Moves an extracted tree into place: a rename when the destination is new, else file by file. */
async function moveInto(from: string, to: string, keepOldFiles: boolean): Promise<void> {
  const existing = await Deno.lstat(to).catch(() => undefined);
  if (!existing) {
    await Deno.mkdir(dirname(to), { recursive: true });
    await Deno.rename(from, to);
    return;
  }
  if (!existing.isDirectory || existing.isSymlink) {
    if (keepOldFiles) throw new ArtifactError(`Cannot unpack into "${to}": it exists (--keep-old-files)`);
    await Deno.remove(to, { recursive: true });
    await Deno.rename(from, to);
    return;
  }
  for await (const entry of Deno.readDir(from)) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory) await moveInto(source, target, keepOldFiles);
    else {
      const there = await Deno.lstat(target).catch(() => undefined);
      if (there && keepOldFiles) {
        throw new ArtifactError(`Cannot unpack "${target}": it exists (--keep-old-files)`);
      }
      if (there?.isDirectory && !there.isSymlink) await Deno.remove(target, { recursive: true });
      await Deno.rename(source, target);
    }
  }
}
