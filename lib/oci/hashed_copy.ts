/**
 * Copying a stream into a file while hashing it, in constant memory and as fast as the disk allows: the one
 * mechanism behind verified blob downloads (lib/oci/blobs.ts) and verified store writes (lib/oci/store.ts).
 *
 * @module
 */

import { DigestError, type Hasher } from "./digest.ts";
import type { Descriptor } from "./manifest.ts";
import type { ProgressCallback } from "./blobs.ts";

/** Bytes gathered before each disk write (fetch hands ~55 KiB chunks; batching halves the time). */
const WRITE_BATCH = 4 * 1024 * 1024;
/** The buffer a byte stream is read into (reused; fetch fills it with what the socket has). */
const READ_SIZE = 1024 * 1024;

/** Writes all of `bytes` (FsFile.write may write fewer than asked). */
export async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) offset += await file.write(bytes.subarray(offset));
}

/** The disk refused a write: the file no longer matches what was hashed, so the copy cannot go on. */
export class BlobWriteError extends Error {
  override name = "BlobWriteError";
}

async function writeBatch(out: Deno.FsFile, bytes: Uint8Array, what: string): Promise<void> {
  try {
    await writeAll(out, bytes);
  } catch (error) {
    throw new BlobWriteError(`Cannot write ${what} to disk: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Copies a body into a file, hashing each piece as it arrives and writing in batches of up to WRITE_BATCH. A byte
 * stream (fetch's body) is read with a BYOB reader into one reused buffer, and two batches alternate so that a
 * write overlaps the next reads: no per-chunk allocations, so memory stays flat. Other streams are read chunk
 * by chunk. Whatever was hashed is written, even when the body fails, so a resume starts where the file ends.
 *
 * @param expected the digest and size the whole content must have; more bytes than `size` fail at once
 * @param options `what` names the content in errors
 * @throws {DigestError} when more than `expected.size` bytes arrive
 * @throws {BlobWriteError} when the disk refuses a write
 */
export async function copyHashed(
  body: ReadableStream<Uint8Array>,
  out: Deno.FsFile,
  hasher: Hasher,
  expected: Pick<Descriptor, "digest" | "size">,
  options: { what: string; onProgress?: ProgressCallback },
): Promise<void> {
  const { what, onProgress } = options;
  const take = (chunk: Uint8Array) => {
    if (hasher.size + chunk.byteLength > expected.size) {
      throw new DigestError(`Size mismatch for ${what}: more than the expected ${expected.size} bytes`);
    }
    hasher.update(chunk);
  };
  let reader: ReadableStreamBYOBReader | undefined;
  try {
    reader = body.getReader({ mode: "byob" });
  } catch {
    // not a byte stream: read it chunk by chunk below
  }
  // buffers no bigger than what is left to come, so that many small blobs do not each cost 9 MiB
  const left = Math.max(1, expected.size - hasher.size);
  const batchSize = Math.min(WRITE_BATCH, left);
  const batches = [new Uint8Array(batchSize), new Uint8Array(batchSize)];
  let current = 0;
  let filled = 0;
  let writing: Promise<void> | undefined;
  const flush = async () => {
    if (writing) await writing;
    writing = writeBatch(out, batches[current]!.subarray(0, filled), what);
    writing.catch(() => {}); // awaited by the next flush or at the end
    current ^= 1;
    filled = 0;
  };
  const add = async (chunk: Uint8Array) => {
    take(chunk);
    if (filled + chunk.byteLength > batchSize) await flush();
    if (chunk.byteLength >= batchSize) {
      // a big chunk (only from a stream that is not a byte stream) is written as it is, after the batch
      if (writing) await writing;
      await writeBatch(out, chunk, what);
    } else {
      batches[current]!.set(chunk, filled);
      filled += chunk.byteLength;
    }
    onProgress?.(hasher.size);
  };
  let ended = false;
  try {
    if (reader) {
      let scratch = new Uint8Array(Math.min(READ_SIZE, left));
      while (true) {
        const { done, value } = await reader.read(scratch);
        if (done) break;
        await add(value);
        scratch = new Uint8Array(value.buffer);
      }
      ended = true;
    } else {
      for await (const chunk of body) await add(chunk);
    }
  } finally {
    try {
      if (filled > 0) await flush();
    } finally {
      await writing;
      // given up early (too many bytes, a failed write): close the connection rather than leave it unread
      if (reader && !ended) await reader.cancel().catch(() => {});
      reader?.releaseLock();
    }
  }
}
