/**
 * Reproducible tar packing of a folder, shared by KCL packages (lib/kpm/package.ts) and ORAS folder layers
 * (lib/artifact/folder.ts): the folder walk, the entry headers (fixed mtime, owner 0:0, no user names,
 * normalised modes) and the gzip pass that hashes the tar and the gzip on their way to a file. The same
 * entries always give the same bytes, so a layer's digest depends on the content alone. The order of the
 * entries is the caller's: packages sort them by full path, folders keep the walk's order.
 *
 * @module
 */

import { join } from "node:path";
import { createTarPacker, type TarHeader } from "../deps.ts";
import { type Digest, Hasher, hashingStream } from "./digest.ts";

/** The modification time of every packed entry. */
const FIXED_MTIME = new Date(0);

/** One entry of a folder as walkFolder lists it. */
export interface FolderEntry {
  /** The path relative to the folder, `/`-separated (no trailing `/`, also for folders). */
  path: string;
  /** What the entry is, not following symlinks; `other` is a fifo, socket or device. */
  kind: "directory" | "file" | "symlink" | "other";
}

/**
 * Lists a folder recursively, depth first: each folder's names sorted by UTF-16 code unit, a folder listed
 * just before its content. Symlinks are listed, never followed.
 *
 * @example await walkFolder("./pkg") // [{ path: "a", kind: "directory" }, { path: "a/x.k", kind: "file" }, …]
 */
export async function walkFolder(root: string, prefix = "", out: FolderEntry[] = []): Promise<FolderEntry[]> {
  const entries: Deno.DirEntry[] = [];
  for await (const entry of Deno.readDir(prefix ? join(root, prefix) : root)) entries.push(entry);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    const kind = entry.isDirectory
      ? "directory"
      : entry.isSymlink
      ? "symlink"
      : entry.isFile
      ? "file"
      : "other";
    out.push({ path, kind });
    if (kind === "directory") await walkFolder(root, path, out);
  }
  return out;
}

/** One entry to pack: a folder (its name ends with `/`), a symlink, or a file the packer opens when it is its turn. */
export type TarEntry =
  | { name: string; type: "directory" }
  | { name: string; type: "symlink"; linkname: string }
  | { name: string; type: "file"; open: () => Promise<Deno.FsFile> };

/**
 * Packs entries, in the order given, as a plain tar stream: mtime 0, owner 0:0, no user names, folders 0755,
 * symlinks 0777, files 0755 when any execute bit is set and 0644 otherwise, sizes from the opened file. An
 * error thrown by `entries` (or by an `open`) errors the stream with that same error.
 */
export function packTar(entries: AsyncIterable<TarEntry>): ReadableStream<Uint8Array> {
  const { readable, controller } = createTarPacker();
  (async () => {
    try {
      for await (const entry of entries) {
        const header: TarHeader = {
          name: entry.name,
          size: 0,
          mtime: FIXED_MTIME,
          uid: 0,
          gid: 0,
          uname: "",
          gname: "",
        };
        if (entry.type === "directory") {
          await controller.add({ ...header, type: "directory", mode: 0o755 }).close();
        } else if (entry.type === "symlink") {
          await controller.add({ ...header, type: "symlink", linkname: entry.linkname, mode: 0o777 }).close();
        } else {
          const file = await entry.open();
          const info = await file.stat();
          const mode = (info.mode ?? 0) & 0o111 ? 0o755 : 0o644;
          await file.readable.pipeTo(controller.add({ ...header, type: "file", size: info.size, mode }));
        }
      }
      controller.finalize();
    } catch (error) {
      controller.error(error);
    }
  })();
  return readable;
}

/** A gzip compressor for a tar stream. */
export function gzipStream(): TransformStream<Uint8Array, Uint8Array> {
  return new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>;
}

/** What writeGzip wrote: the gzip's digest and size (the layer), and the digest of the tar inside. */
export interface PackedTar {
  digest: Digest;
  size: number;
  tarDigest: Digest;
}

/**
 * Compresses a tar stream into `to`, hashing the tar and the gzip on the way (one pass).
 *
 * @throws the error of the tar stream (e.g. a file packTar refused) or of the write
 */
export async function writeGzip(
  tar: ReadableStream<Uint8Array>,
  to: WritableStream<Uint8Array>,
): Promise<PackedTar> {
  const tarHasher = new Hasher();
  const gzHasher = new Hasher();
  await tar.pipeThrough(hashingStream(tarHasher)).pipeThrough(gzipStream()).pipeThrough(
    hashingStream(gzHasher),
  )
    .pipeTo(to);
  return { digest: gzHasher.digest(), size: gzHasher.size, tarDigest: tarHasher.digest() };
}
