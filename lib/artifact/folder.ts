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

import { dirname, join, posix, relative, resolve, sep } from "node:path";
import { createTarPacker, type TarHeader } from "../deps.ts";
import { extractTar } from "../oci/untar.ts";
import { type Digest, DigestError, Hasher } from "../oci/digest.ts";
import { ArtifactError } from "./files.ts";

/** Modification time written into packed entries, so the same folder packs to the same bytes. */
const FIXED_MTIME = new Date(0);

/** A packed folder, in a temporary file the caller removes. */
export interface PackedFolder {
  /** The .tar.gz file. */
  path: string;
  /** Digest and size of the gzip (the layer). */
  digest: Digest;
  size: number;
  /** Digest of the uncompressed tar (`io.deis.oras.content.digest`). */
  tarDigest: Digest;
}

/** Lists a folder recursively, sorted, as `/`-separated paths relative to `root` (folders end with `/`). */
async function walk(root: string, dir = root, out: { name: string; info: Deno.FileInfo }[] = []) {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  names.sort();
  for (const name of names) {
    const path = join(dir, name);
    const info = await Deno.lstat(path);
    const rel = relative(root, path).split(sep).join("/");
    if (info.isDirectory) {
      out.push({ name: `${rel}/`, info });
      await walk(root, path, out);
    } else out.push({ name: rel, info });
  }
  return out;
}

/**
 * Packs `dir` as a gzip tar with entries `TITLE/…` into a temporary file, hashing the tar and the gzip on the
 * way (one pass).
 *
 * @param title the layer title, the name entries are put under
 * @throws {ArtifactError} for special files (devices, sockets, fifos)
 */
export async function packFolder(dir: string, title: string): Promise<PackedFolder> {
  const entries = await walk(dir);
  const { readable, controller } = createTarPacker();
  const feeding = (async () => {
    try {
      const base = { mtime: FIXED_MTIME, uid: 0, gid: 0, uname: "", gname: "" };
      await controller.add({ ...base, name: `${title}/`, size: 0, type: "directory", mode: 0o755 }).close();
      for (const { name, info } of entries) {
        const header: TarHeader = { ...base, name: `${title}/${name}`, size: 0 };
        if (info.isDirectory) {
          await controller.add({ ...header, type: "directory", mode: 0o755 }).close();
        } else if (info.isSymlink) {
          const linkname = await Deno.readLink(join(dir, name));
          await controller.add({ ...header, type: "symlink", linkname, mode: 0o777 }).close();
        } else if (info.isFile) {
          const mode = (info.mode ?? 0o644) & 0o111 ? 0o755 : 0o644;
          const body = controller.add({ ...header, type: "file", size: info.size, mode });
          await (await Deno.open(join(dir, name))).readable.pipeTo(body);
        } else {
          throw new ArtifactError(`Cannot pack "${join(dir, name)}": not a file, folder or symlink`);
        }
      }
      controller.finalize();
    } catch (error) {
      controller.error(error);
      throw error;
    }
  })();
  const tarHasher = new Hasher();
  const gzHasher = new Hasher();
  const path = await Deno.makeTempFile({ prefix: "kpm-folder-", suffix: ".tar.gz" });
  try {
    await readable
      .pipeThrough(hashing(tarHasher))
      .pipeThrough(new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>)
      .pipeThrough(hashing(gzHasher))
      .pipeTo((await Deno.open(path, { write: true, truncate: true })).writable);
    await feeding;
  } catch (error) {
    await Deno.remove(path).catch(() => {});
    if (error instanceof ArtifactError) throw error;
    throw new ArtifactError(`Cannot pack folder "${dir}": ${(error as Error).message}`);
  }
  return { path, digest: gzHasher.digest(), size: gzHasher.size, tarDigest: tarHasher.digest() };
}

function hashing(hasher: Hasher): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    transform(chunk, controller) {
      hasher.update(chunk);
      controller.enqueue(chunk);
    },
  });
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
      .pipeThrough(hashing(hasher));
    await extractTar(tar, root, { prefix, refuse, holder: "artifacts" });
    if (options.tarDigest) {
      const actual = hasher.digest();
      if (actual !== options.tarDigest) {
        throw new DigestError(
          `Digest mismatch for the tar of layer "${title}": got "${actual}", expected "${options.tarDigest}"`,
        );
      }
    }
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
