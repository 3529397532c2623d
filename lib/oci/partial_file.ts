/**
 * The one verified, resumable write of content to a file: hashed as it is appended (in ~4 MiB writes, constant
 * memory), resumed from what an earlier, interrupted run left, and moved into place only when its size and digest
 * match; a file whose content turns out wrong is removed. Blob downloads (lib/oci/blobs.ts), store writes
 * (writeVerifiedFile, for OCI layouts) and the embedded registry's upload sessions (lib/server/uploads.ts) are
 * written through it.
 *
 * @module
 */

import { tempPathFor } from "./atomic_file.ts";
import { BatchWriter, WRITE_BATCH } from "./batch_writer.ts";
import { digestAlgorithm, type Expected, Hasher } from "./digest.ts";
import { forEachChunk } from "./read_chunks.ts";

/** Called with the bytes the file holds so far. */
export type ProgressCallback = (bytes: number) => void;

/** The buffer a byte stream is read into (reused; fetch fills it with what the socket has). */
const READ_SIZE = 1024 * 1024;

/** A partial file kpm would resume or append to is not a plain file of its own: it is not followed. */
export class PartialFileError extends Error {
  /** The error's class name. */
  override name = "PartialFileError";
}

/**
 * Opens the partial file at `path` without following anything planted there: it must be a regular file with no
 * other name (lstat: not a symbolic link to, or a hard link of, someone's file), and the handle must be that
 * same file (an open follows symbolic links and Deno has no O_NOFOLLOW, so a link swapped in after the lstat
 * is caught by comparing the two).
 *
 * @throws {PartialFileError} naming the path when it is anything else
 */
async function openPartial(path: string, options: Deno.OpenOptions, what: string): Promise<Deno.FsFile> {
  const refuse = (kind: string): never => {
    throw new PartialFileError(
      `Cannot write ${what}: "${path}" is ${kind}, not a partial file kpm wrote; refusing to follow it`,
    );
  };
  const seen = await Deno.lstat(path);
  if (seen.isSymlink) refuse("a symbolic link");
  if (!seen.isFile) refuse("not a regular file");
  if ((seen.nlink ?? 1) > 1) refuse("a file with other names (hard links)");
  const file = await Deno.open(path, options);
  const opened = await file.stat().catch((error) => {
    file.close();
    throw error;
  });
  if (opened.ino !== seen.ino || opened.dev !== seen.dev) {
    file.close();
    refuse("no longer the file it was a moment ago");
  }
  return file;
}

/** Options of PartialFile.create. */
export interface PartialFileOptions {
  /** Names the content in errors, e.g. `blob "sha256:…" of "ghcr.io/x/y"`. */
  what: string;
  /** What the whole content must be; with a size, appending more bytes than that fails at once. */
  expected?: Expected;
  /** The hash algorithm when `expected` is not known yet (an upload learns its digest at the end). */
  algorithm?: string;
  /** Continue from the file an earlier run left at `path` (its bytes are hashed first) instead of refusing it. */
  resume?: boolean;
}

/**
 * A file being written: every appended byte hashed on its way to disk, so that `commit` can check the content
 * without reading it again.
 *
 * @example
 * ```ts
 * const file = await PartialFile.create(path + ".partial", { what: "the blob", expected, resume: true });
 * try {
 *   await file.append(body);
 *   await file.commit(path); // DigestError on a mismatch, and the partial file is gone
 * } catch (error) {
 *   await file.suspend(); // kept while it holds a part of the content, for the next run
 *   throw error;
 * }
 * ```
 */
export class PartialFile {
  /** Where the content is written until it is moved into place. */
  readonly path: string;
  /** Names the content in errors. */
  readonly what: string;
  #expected?: Expected;
  #hasher: Hasher;
  #file?: Deno.FsFile;
  /** Set when a write failed: the file holds less than was hashed, so it cannot be appended to any more. */
  broken = false;

  private constructor(path: string, options: PartialFileOptions) {
    this.path = path;
    this.what = options.what;
    this.#expected = options.expected;
    this.#hasher = new Hasher(
      options.expected ? digestAlgorithm(options.expected.digest) : options.algorithm,
    );
  }

  /**
   * Creates the file at `path`, or with `resume` continues the one an earlier run left there (hashing its bytes;
   * one longer than the expected size is emptied).
   *
   * @throws {Deno.errors.AlreadyExists} when the file exists and `resume` is not set
   * @throws {PartialFileError} when what is at `path` is not a regular file of its own (e.g. a symbolic link)
   */
  static async create(path: string, options: PartialFileOptions): Promise<PartialFile> {
    const partial = new PartialFile(path, options);
    try {
      // one request to the file system in the common case, a new file
      partial.#file = await Deno.open(path, { append: true, createNew: true });
      return partial;
    } catch (error) {
      if (!options.resume || !(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    const existing = await openPartial(path, { read: true }, partial.what);
    await forEachChunk(existing.readable, READ_SIZE, (chunk) => partial.#hasher.update(chunk));
    partial.#file = await openPartial(path, { append: true }, partial.what);
    const size = options.expected?.size;
    if (size !== undefined && partial.size > size) await partial.restart();
    return partial;
  }

  /** The bytes written (and hashed) so far. */
  get size(): number {
    return this.#hasher.size;
  }

  /**
   * Appends a stream, hashing each piece as it arrives and writing in batches. A byte stream (fetch's body) is
   * read with a BYOB reader into one reused buffer and two batches alternate, a write overlapping the next
   * reads: nothing is allocated per piece, so memory stays flat. Whatever was hashed is written, even when the
   * stream fails, so that a resume starts where the file ends.
   *
   * @param options `onProgress` is told the file's size after each piece; `ahead`: the bytes of writes that may
   *   wait for the disk before reading pauses (default one batch); `chunked`: read chunk by chunk, never with a
   *   BYOB reader (for a Deno.serve request body, see forEachChunk)
   * @throws {DigestError} as soon as the content grows past the expected size (the stream is cancelled)
   * @throws {BlobWriteError} when the disk refuses a write (the file is then `broken`)
   */
  async append(
    body: ReadableStream<Uint8Array>,
    options: { onProgress?: ProgressCallback; ahead?: number; chunked?: boolean } = {},
  ): Promise<void> {
    // the handle `create` opened, or one of its own for this call (an upload session holds none between requests)
    const own = this.#file ? undefined : await openPartial(this.path, { append: true }, this.what);
    const file = this.#file ?? own!;
    const expected = this.#expected;
    // buffers no bigger than what is left to come, so that many small blobs do not each cost 9 MiB
    const room = expected?.size === undefined ? Infinity : Math.max(1, expected.size - this.size);
    const writer = new BatchWriter(file, {
      what: this.what,
      batchSize: Math.min(WRITE_BATCH, room),
      ahead: options.ahead,
    });
    try {
      await forEachChunk(
        body,
        options.chunked ? undefined : Math.min(READ_SIZE, room),
        async (chunk, borrowed) => {
          if (expected) this.#hasher.updateWithin(chunk, expected, this.what);
          else this.#hasher.update(chunk);
          await writer.add(chunk, borrowed);
          options.onProgress?.(this.size);
        },
      );
    } finally {
      try {
        await writer.close();
      } finally {
        if (writer.failed) this.broken = true;
        own?.close();
      }
    }
  }

  /** Empties the file, to start over (a registry that ignored a Range request sends the whole blob). */
  async restart(): Promise<void> {
    const own = this.#file ? undefined : await openPartial(this.path, { write: true }, this.what);
    try {
      await (this.#file ?? own!).truncate(0);
    } finally {
      own?.close();
    }
    this.#hasher.reset();
  }

  /**
   * Checks the content against `expected` (by default the one given to `create`), hashing the file again only
   * when the digest is of another algorithm than the one hashed; removes the file when it does not match.
   * Closes the file: nothing can be appended afterwards.
   *
   * @throws {DigestError} `Size mismatch for …` or `Digest mismatch for …`
   */
  async verify(expected: Expected | undefined = this.#expected): Promise<void> {
    if (!expected) throw new Error(`Cannot verify ${this.what}: no digest to check it against`);
    this.close();
    let hasher = this.#hasher;
    if (digestAlgorithm(expected.digest) !== hasher.algorithm) {
      hasher = new Hasher(digestAlgorithm(expected.digest));
      const file = await openPartial(this.path, { read: true }, this.what);
      await forEachChunk(file.readable, READ_SIZE, (chunk) => hasher.update(chunk));
    }
    try {
      hasher.verify(expected, this.what);
    } catch (error) {
      await this.remove();
      throw error;
    }
  }

  /**
   * Verifies the content (see `verify`) and renames the file to `destination`, atomically.
   *
   * @throws {DigestError} on a size or digest mismatch (the file is removed, nothing is at `destination`)
   */
  async commit(destination: string, expected?: Expected): Promise<void> {
    await this.verify(expected);
    await Deno.rename(this.path, destination);
  }

  /** Closes the handle `create` opened; the file stays on disk, and a later `append` opens it again. */
  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }

  /** Closes and deletes the file. */
  async remove(): Promise<void> {
    this.close();
    await Deno.remove(this.path).catch(() => {});
  }

  /**
   * Closes the file after a failure: it stays for a later run to resume while it holds a part of the expected
   * content (more than nothing, less than all); otherwise it is deleted.
   */
  async suspend(): Promise<void> {
    this.close();
    const size = this.#expected?.size;
    const held = await Deno.lstat(this.path).then((info) => info.isFile ? info.size : 0, () => 0);
    if (size === undefined || held <= 0 || held >= size) await this.remove();
  }
}

/**
 * Writes a stream to `path` through a temporary file in the same folder, hashing while writing, and renames
 * it into place only when the size and digest match `expected`.
 *
 * @param options `what` names the content in errors (default `blob "<digest>"`)
 * @throws {DigestError} on a mismatch (the temporary file is removed, nothing is at `path`)
 */
export async function writeVerifiedFile(
  path: string,
  stream: ReadableStream<Uint8Array>,
  expected: Required<Expected>,
  options: { what?: string; onProgress?: ProgressCallback } = {},
): Promise<void> {
  const what = options.what ?? `blob "${expected.digest}"`;
  const file = await PartialFile.create(tempPathFor(path), { what, expected });
  try {
    await file.append(stream, { onProgress: options.onProgress });
    await file.commit(path);
  } catch (error) {
    await file.remove();
    throw error;
  }
}
