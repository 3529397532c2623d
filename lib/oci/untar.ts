/**
 * Safe extraction of a tar stream (an OCI layer, a KCL package) into an empty folder the caller owns.
 *
 * Refused, whatever the caller: absolute names and drive letters, `..` in names, entries outside the expected
 * top folder, writes through a symlink (even one pointing inside), symlinks whose target leaves the tree or
 * climbs with `..` after a named part (`a/../..`: through a symlink `a` that would go further up than it
 * reads), hard links to anything but an extracted regular file, devices and fifos. The checks are lexical and
 * exact because no entry is ever written below a symlink, so nothing is written outside `root`.
 *
 * @module
 */

import { dirname, join, posix } from "node:path";
import { createTarDecoder, type ParsedTarEntry } from "../deps.ts";
import { ParallelWrites } from "./parallel_writes.ts";
import { readCapped } from "./read_capped.ts";

/** Called with an entry's name and why it is refused; throws the caller's own error. */
export type RefuseEntry = (name: string, why: string) => never;

/** Options of extractTar. */
export interface ExtractTarOptions {
  /** Every entry must be this relative folder or below it (`""`: anywhere in `root`). */
  prefix?: string;
  /** Throws the caller's error for a refused entry. */
  refuse: RefuseEntry;
  /** What holds the entries, for the special-file message (`"is a fifo, which packages may not hold"`). */
  holder: string;
  /** Entries (by cleaned relative path) for which it answers false are checked, then skipped unwritten. */
  keep?: (path: string) => boolean;
  /** At most this many entries and file bytes (declared sizes, checked before anything is written). */
  limit?: ExtractLimit;
}

/** A bound on what one archive may unpack to, against decompression bombs. */
export interface ExtractLimit {
  entries: number;
  bytes: number;
}

/**
 * Extracts the (uncompressed) tar `tar` into `root`, an existing folder (give its real path). Later entries
 * replace earlier files of the same name, as tar does.
 *
 * @throws what `options.refuse` throws, for the first hostile entry; the caller removes `root` then
 * @example await extractTar(gzip.pipeThrough(new DecompressionStream("gzip")), temp, { prefix: "conf", refuse, holder: "artifacts" })
 */
export async function extractTar(tar: ReadableStream<Uint8Array>, root: string, options: ExtractTarOptions) {
  const prefix = options.prefix
    ? posix.normalize(options.prefix.replaceAll("\\", "/")).replace(/\/+$/, "")
    : "";
  const unpacked = { entries: 0, bytes: 0 };
  // Folders (relative) known to be real folders with no symlink above them: their entries skip the lstat of
  // every parent and the mkdir (a 626-file package made ~1,900 fewer file-system requests). Any symlink
  // written may change that, so it empties the set.
  const checked = new Set<string>();
  // Small files are written a few at a time; every other entry waits for them (flush), so none is written
  // while a symlink or a folder of the archive is being made, and a hard link finds its file.
  const writes = new ParallelWrites();
  try {
    for await (const entry of tar.pipeThrough(createTarDecoder())) {
      await extractEntry(entry, { root, prefix, options, unpacked, checked, writes });
    }
    await writes.flush();
  } finally {
    await writes.settle();
  }
}

/** What extractEntry works with: extractTar's options and its state across entries. */
interface Extraction {
  root: string;
  prefix: string;
  options: ExtractTarOptions;
  unpacked: { entries: number; bytes: number };
  checked: Set<string>;
  writes: ParallelWrites;
}

/** Extracts one entry (see extractTar). */
async function extractEntry(entry: ParsedTarEntry, extraction: Extraction): Promise<void> {
  const { root, prefix, options, unpacked, checked, writes } = extraction;
  const { refuse } = options;
  const { header } = entry;
  if (options.limit) countAgainstLimit(unpacked, header, options.limit, options);
  const type = header.type ?? "file";
  if (type === "pax-header" || type === "pax-global-header" || isTopEntry(header.name)) {
    await entry.body.cancel();
    return;
  }
  const rel = entryPath(header.name, prefix, refuse);
  if (options.keep && !options.keep(rel)) {
    await entry.body.cancel();
    return;
  }
  const target = join(root, rel);
  const parent = posix.dirname(rel);
  const known = checked.has(parent);
  const mode = (header.mode ?? 0o644) & 0o755;
  if (type === "file" && header.size !== undefined && header.size <= WHOLE_FILE_BYTES) {
    if (!known) await refuseSymlinkParents(root, rel, header.name, refuse);
    if (!known) await Deno.mkdir(dirname(target), { recursive: true });
    checked.add(parent);
    const bytes = await readCapped(entry.body, {
      limit: WHOLE_FILE_BYTES,
      what: JSON.stringify(header.name),
    });
    await writes.add(
      target,
      () => replacing(target, () => Deno.writeFile(target, bytes, { createNew: true, mode })),
    );
    return;
  }
  await writes.flush();
  if (!known) await refuseSymlinkParents(root, rel, header.name, refuse);
  if (type === "directory") {
    await entry.body.cancel();
    await Deno.mkdir(target, { recursive: true });
    checked.add(parent);
  } else if (type === "file") {
    if (!known) await Deno.mkdir(dirname(target), { recursive: true });
    checked.add(parent);
    const file = await replacing(target, () => Deno.open(target, { write: true, createNew: true, mode }));
    await entry.body.pipeTo(file.writable);
  } else if (type === "symlink") {
    checked.clear();
    await entry.body.cancel();
    await writeSymlink(root, rel, header, prefix, refuse);
  } else if (type === "link") {
    await entry.body.cancel();
    await writeHardLink(root, rel, header, prefix, refuse);
  } else {
    await entry.body.cancel();
    refuse(header.name, `is a ${type}, which ${options.holder} may not hold`);
  }
}

/** A link entry's name and target, as the tar header gives them. */
type LinkHeader = { name: string; linkname?: string };

/** Writes a symlink entry at `rel`, refusing a target that leaves the tree. */
async function writeSymlink(
  root: string,
  rel: string,
  header: LinkHeader,
  prefix: string,
  refuse: RefuseEntry,
) {
  const link = (header.linkname ?? "").replaceAll("\\", "/");
  if (!symlinkStaysInside(rel, link, prefix)) {
    refuse(header.name, `is a symlink pointing outside "${prefix || "."}" ("${header.linkname ?? ""}")`);
  }
  const target = join(root, rel);
  await Deno.mkdir(dirname(target), { recursive: true });
  await Deno.symlink(link, target);
}

/** Writes a hard-link entry at `rel`, refusing one to anything but a regular file already extracted. */
async function writeHardLink(
  root: string,
  rel: string,
  header: LinkHeader,
  prefix: string,
  refuse: RefuseEntry,
) {
  const linked = entryPath(
    header.linkname ?? "",
    prefix,
    (_, why) => refuse(header.name, `links to a file that ${why}`),
  );
  await refuseSymlinkParents(root, linked, header.name, refuse);
  const info = await Deno.lstat(join(root, linked)).catch(() => undefined);
  if (!info?.isFile) {
    refuse(header.name, `is a hard link to "${header.linkname}", which is not an extracted file`);
  }
  const target = join(root, rel);
  await Deno.mkdir(dirname(target), { recursive: true });
  await Deno.remove(target).catch(() => {});
  await Deno.link(join(root, linked), target);
}

/** Adds an entry to `unpacked`, refusing it when the archive would pass `limit`. */
function countAgainstLimit(
  unpacked: ExtractLimit,
  header: { name: string; size?: number },
  limit: ExtractLimit,
  options: ExtractTarOptions,
): void {
  unpacked.entries += 1;
  unpacked.bytes += header.size ?? 0;
  if (unpacked.entries > limit.entries) {
    options.refuse(header.name, `is past the ${limit.entries} entries that ${options.holder} may hold`);
  }
  if (unpacked.bytes > limit.bytes) {
    options.refuse(header.name, `unpacks past the ${limit.bytes} bytes that ${options.holder} may hold`);
  }
}

/**
 * Runs `create`, which creates `path` as a new file (never through a symlink), again after removing what an
 * earlier entry of the same name left there (a later entry replaces it, as tar does).
 */
async function replacing<T>(path: string, create: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  await Deno.remove(path).catch(() => {});
  return await create();
}

/**
 * File entries up to this size are read whole and written in one file-system request (open, write and close
 * at once): three requests per file cost a 626-file package more than its bytes did. Bigger ones stream.
 */
const WHOLE_FILE_BYTES = 1024 * 1024;

/** `""`, `.` and `./`: the archive's top folder itself. */
function isTopEntry(name: string): boolean {
  return posix.normalize(name.replaceAll("\\", "/") || ".") === ".";
}

/** True when `path` is `prefix` or below it (everything is below `""`). */
function inside(path: string, prefix: string): boolean {
  return prefix === ""
    ? path !== ".." && !path.startsWith("../")
    : path === prefix || path.startsWith(`${prefix}/`);
}

/** The cleaned relative path of an entry, refused unless it is `prefix` or below it. */
function entryPath(name: string, prefix: string, refuse: RefuseEntry): string {
  const slashed = name.replaceAll("\\", "/");
  if (slashed === "" || slashed.startsWith("/") || /^[a-zA-Z]:/.test(slashed)) {
    return refuse(name, "has an absolute path");
  }
  if (slashed.split("/").includes("..")) return refuse(name, `climbs out with ".."`);
  const clean = posix.normalize(slashed).replace(/\/+$/, "");
  if (!inside(clean, prefix)) return refuse(name, `is outside the folder "${prefix}"`);
  return clean;
}

/**
 * A symlink at `rel` to `link` stays inside `prefix`: relative, its `..` parts only leading (so no symlink
 * it passes through can take it higher than it reads), and lexically inside.
 */
function symlinkStaysInside(rel: string, link: string, prefix: string): boolean {
  if (link === "" || link.startsWith("/") || /^[a-zA-Z]:/.test(link)) return false;
  const parts = link.split("/").filter((part) => part !== "" && part !== ".");
  const firstNamed = parts.findIndex((part) => part !== "..");
  if (firstNamed >= 0 && parts.slice(firstNamed).includes("..")) return false;
  const pointsTo = posix.normalize(posix.join(posix.dirname(rel), link));
  return inside(pointsTo, prefix);
}

/** Refuses to write through a symlink: no existing parent of `rel` under `root` may be one. */
async function refuseSymlinkParents(root: string, rel: string, name: string, refuse: RefuseEntry) {
  let path = root;
  for (const part of rel.split("/").slice(0, -1)) {
    path = join(path, part);
    const info = await Deno.lstat(path).catch(() => undefined);
    if (!info) return;
    if (info.isSymlink) refuse(name, "would be written through a symlink");
  }
}
