/**
 * Writing many small pieces to a file as few big writes, each write overlapping the next reads: the disk side of
 * every verified write (lib/oci/partial_file.ts), for blob downloads, store writes and the embedded registry's
 * uploads.
 *
 * fetch and Deno.serve hand over ~55-64 KiB pieces; writing each with FsFile.write made a 1 GiB pull take about
 * twice as long as gathering them into ~4 MiB writes (see bench/README.md).
 *
 * @module
 */

/** Bytes gathered before each disk write. */
export const WRITE_BATCH = 4 * 1024 * 1024;

/** Writes all of `bytes` (FsFile.write may write fewer than asked). */
export async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) offset += await file.write(bytes.subarray(offset));
}

/** The disk refused a write: the file no longer matches what was hashed, so the copy cannot go on. */
export class BlobWriteError extends Error {
  /** The error's class name. */
  override name = "BlobWriteError";
}

/** Options of a BatchWriter. */
export interface BatchWriterOptions {
  /** Names the content in errors, e.g. `blob "sha256:…" of "ghcr.io/x/y"`. */
  what: string;
  /** Bytes gathered before each write (default WRITE_BATCH; smaller for content known to be small). */
  batchSize?: number;
  /**
   * How many bytes of writes may be in flight before a new one waits for them (default one batch: a write
   * overlaps the filling of the next batch). More keeps a socket read going while the disk lags.
   */
  ahead?: number;
}

/**
 * Gathers pieces into batches from a small pool of buffers and writes them in order, one write overlapping the
 * next pieces. A first piece that is its own (not borrowed) is held as it is until a second comes, so a
 * one-piece body costs no batch buffer; pieces as big as a batch are written as they are.
 *
 * @example
 * ```ts
 * const writer = new BatchWriter(file, { what: "the blob" });
 * for await (const chunk of body) await writer.add(chunk, false);
 * await writer.close();
 * ```
 */
export class BatchWriter {
  #file: Deno.FsFile;
  #what: string;
  #batchSize: number;
  #ahead: number;
  #pool: Uint8Array[] = [];
  #held?: Uint8Array;
  #batch?: Uint8Array;
  #filled = 0;
  #writes: Promise<void> = Promise.resolve();
  #backlog = 0;
  #failure?: BlobWriteError;

  /** @param file a file open for writing (appending) */
  constructor(file: Deno.FsFile, options: BatchWriterOptions) {
    this.#file = file;
    this.#what = options.what;
    this.#batchSize = options.batchSize ?? WRITE_BATCH;
    this.#ahead = options.ahead ?? this.#batchSize;
  }

  /** True once a write failed (the file then holds less than was added). */
  get failed(): boolean {
    return this.#failure !== undefined;
  }

  /**
   * Adds a piece after those before it.
   *
   * @param borrowed the caller reuses the piece's memory once this returns (a BYOB read buffer), so it is copied
   *   or written before
   * @throws {BlobWriteError} when an earlier write failed
   */
  async add(chunk: Uint8Array, borrowed: boolean): Promise<void> {
    if (this.#failure) throw this.#failure;
    if (chunk.byteLength >= this.#batchSize) {
      await this.#flush();
      await this.#write(chunk);
      if (borrowed) await this.#writes;
      return;
    }
    if (!borrowed && !this.#held && !this.#batch) {
      this.#held = chunk;
      return;
    }
    const used = this.#held?.byteLength ?? this.#filled;
    if (used + chunk.byteLength > this.#batchSize) await this.#flush();
    if (!this.#batch) {
      this.#batch = this.#pool.pop() ?? new Uint8Array(this.#batchSize);
      this.#filled = 0;
      if (this.#held) this.#copy(this.#held);
      this.#held = undefined;
    }
    this.#copy(chunk);
  }

  /**
   * Writes what is gathered and waits for every write.
   *
   * @throws {BlobWriteError} when a write failed
   */
  async close(): Promise<void> {
    await this.#flush();
    await this.#writes;
    if (this.#failure) throw this.#failure;
  }

  #copy(chunk: Uint8Array): void {
    this.#batch!.set(chunk, this.#filled);
    this.#filled += chunk.byteLength;
  }

  async #flush(): Promise<void> {
    const held = this.#held;
    const batch = this.#batch;
    const filled = this.#filled;
    this.#held = undefined;
    this.#batch = undefined;
    this.#filled = 0;
    if (held) await this.#write(held);
    else if (batch && filled > 0) await this.#write(batch.subarray(0, filled), batch);
    else if (batch) this.#pool.push(batch);
  }

  /**
   * Queues a write (then gives `recycle` back to the pool), first waiting for those queued when it would put
   * more than `ahead` bytes in flight: with the default, the previous batch is written before the next one
   * is queued, so a download holds two batches, not three (a batch is flushed a little short of full).
   */
  async #write(bytes: Uint8Array, recycle?: Uint8Array): Promise<void> {
    if (this.#backlog > 0 && this.#backlog + bytes.byteLength > this.#ahead) await this.#writes;
    this.#backlog += bytes.byteLength;
    this.#writes = this.#writes.then(async () => {
      try {
        if (!this.#failure) await writeAll(this.#file, bytes);
      } catch (error) {
        this.#failure = new BlobWriteError(
          `Cannot write ${this.#what} to disk: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      } finally {
        this.#backlog -= bytes.byteLength;
        if (recycle) this.#pool.push(recycle);
      }
    });
  }
}
