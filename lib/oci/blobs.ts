/**
 * Blob operations: existence checks, streaming verified downloads to disk with Range resume, and uploads
 * (monolithic for small blobs, PATCH chunks for big ones, cross-repository mount, skip when present).
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import type { RegistryClient } from "./client.ts";
import { type Digest, digestAlgorithm, DigestError, digestHex, Hasher } from "./digest.ts";
import type { Descriptor } from "./manifest.ts";
import type { Reference } from "./reference.ts";
import { RegistryError } from "./registry_error.ts";
import { repositoryScope } from "./auth/scope.ts";

/** A registry and repository: where blobs live. */
export type Repository = Pick<Reference, "registry" | "repository">;

/** Bytes gathered before each disk write (fetch hands ~55 KiB chunks; batching halves the time). */
const WRITE_BATCH = 4 * 1024 * 1024;
/** The buffer a download reads into (reused; fetch fills it with what the socket has). */
const READ_SIZE = 1024 * 1024;
/** The size of the Content-Range PATCH chunks of a chunked upload (or of the resume after a broken stream). */
export const DEFAULT_CHUNK_SIZE = 16 * 1024 * 1024;
/** How often a dropped download is resumed before giving up. */
const MAX_RESUMES = 5;

/** Called with the bytes transferred so far. */
export type ProgressCallback = (bytes: number) => void;

function blobName(repo: Repository, digest: string): string {
  return `blob "${digest}" ${"of"} "${repo.registry}/${repo.repository}"`;
}

/**
 * Asks whether the repository has a blob (HEAD).
 *
 * @param options `scopes` replaces the default `pull` scope: a push asks for the scopes of the whole push, so
 *   that one token serves the HEAD and the upload
 * @throws {RegistryError} on anything but 200 or 404
 */
export async function blobExists(
  client: RegistryClient,
  repo: Repository,
  digest: Digest,
  options: { scopes?: string[] } = {},
): Promise<boolean> {
  const response = await client.send({
    registry: repo.registry,
    repository: repo.repository,
    method: "HEAD",
    path: `${repo.repository}/blobs/${digest}`,
    scopes: options.scopes ?? [repositoryScope(repo.repository, ["pull"])],
    expect: [200, 404],
    what: `look up ${blobName(repo, digest)}`,
  });
  await response.body?.cancel();
  return response.status === 200;
}

/**
 * Opens a blob's content as a stream, from `offset` when given (Range). The stream is NOT verified: pipe it
 * through `verifyingStream` or use `downloadBlob`.
 *
 * @returns the body and whether the registry honoured the range (206)
 */
export async function openBlob(
  client: RegistryClient,
  repo: Repository,
  digest: Digest,
  options: { offset?: number } = {},
): Promise<{ body: ReadableStream<Uint8Array>; partial: boolean }> {
  const offset = options.offset ?? 0;
  const response = await client.send({
    registry: repo.registry,
    repository: repo.repository,
    path: `${repo.repository}/blobs/${digest}`,
    headers: offset > 0 ? { Range: `bytes=${offset}-` } : undefined,
    scopes: [repositoryScope(repo.repository, ["pull"])],
    expect: [200, 206],
    what: `pull ${blobName(repo, digest)}`,
  });
  if (!response.body) {
    throw new RegistryError(`Cannot pull ${blobName(repo, digest)}: the registry sent no body`, {
      status: response.status,
      registry: repo.registry,
      repository: repo.repository,
    });
  }
  return { body: response.body, partial: response.status === 206 };
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
}

/** The partial-download path for a blob; kept between runs so an interrupted download resumes. */
export function partialPath(destination: string, digest: Digest): string {
  return join(dirname(destination), `.${basename(destination)}.${digestHex(digest).slice(0, 16)}.partial`);
}

/**
 * Downloads a blob to `destination`, hashing while writing, resuming with Range after a dropped connection
 * (and across runs, from the partial file), and renaming into place only when size and digest match.
 *
 * @throws {DigestError} on a size or digest mismatch (the partial file is deleted)
 * @throws {RegistryError} when the registry refuses or keeps dropping the connection
 */
export async function downloadBlob(
  client: RegistryClient,
  repo: Repository,
  descriptor: Pick<Descriptor, "digest" | "size">,
  destination: string,
  options: { onProgress?: ProgressCallback } = {},
): Promise<void> {
  const partial = partialPath(destination, descriptor.digest);
  const hasher = new Hasher(digestAlgorithm(descriptor.digest));
  await hashExisting(partial, hasher, descriptor.size);
  const out = await Deno.open(partial, { write: true, create: true, append: true });
  let failure: unknown;
  try {
    let resumes = 0;
    while (hasher.size < descriptor.size) {
      const { body, partial: ranged } = await openBlob(client, repo, descriptor.digest, {
        offset: hasher.size,
      });
      if (!ranged && hasher.size > 0) {
        await out.truncate(0);
        hasher.reset();
      }
      try {
        await copyHashed(body, out, hasher, descriptor, repo, options.onProgress);
        if (hasher.size < descriptor.size) throw new Error("the connection closed early");
      } catch (error) {
        if (error instanceof DigestError || error instanceof BlobWriteError) throw error;
        if (++resumes > MAX_RESUMES) {
          throw new RegistryError(
            `Cannot pull ${blobName(repo, descriptor.digest)}: ${
              (error as Error).message
            } (after ${MAX_RESUMES} resumes)`,
            { status: 0, registry: repo.registry, repository: repo.repository, cause: error },
          );
        }
      }
    }
    const actual = hasher.digest();
    if (hasher.size !== descriptor.size) {
      throw new DigestError(
        `Size mismatch for ${
          blobName(repo, descriptor.digest)
        }: got ${hasher.size} bytes, expected ${descriptor.size}`,
      );
    }
    if (actual !== descriptor.digest) {
      throw new DigestError(`Digest mismatch for ${blobName(repo, descriptor.digest)}: got "${actual}"`);
    }
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    out.close();
    if (failure === undefined) await Deno.rename(partial, destination);
    else if (failure instanceof DigestError || !(await isResumable(partial, descriptor.size))) {
      await Deno.remove(partial).catch(() => {});
    }
  }
}

/** Hashes what an earlier, interrupted download left; discards it when it is longer than the blob. */
async function hashExisting(path: string, hasher: Hasher, size: number): Promise<void> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  for await (const chunk of file.readable) hasher.update(chunk);
  if (hasher.size > size) {
    await Deno.truncate(path, 0);
    hasher.reset();
  }
}

/** A partial file is kept for a later resume only while it is shorter than the blob. */
async function isResumable(path: string, size: number): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.size > 0 && info.size < size;
  } catch {
    return false;
  }
}

/** Fails a download for good: the disk refused a write, so the partial file no longer matches the hash. */
class BlobWriteError extends Error {
  override name = "BlobWriteError";
}

async function writeBatch(out: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  try {
    await writeAll(out, bytes);
  } catch (error) {
    throw new BlobWriteError(`Cannot write the partial download: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Copies a body into a file, hashing each piece as it arrives and writing in WRITE_BATCH-sized batches. A byte
 * stream (fetch's body) is read with a BYOB reader into one reused buffer, and two batches alternate so that a
 * write overlaps the next reads: no per-chunk allocations, so memory stays flat. Other streams are read chunk
 * by chunk. Whatever was hashed is written, even when the body fails, so a resume starts where the file ends.
 */
async function copyHashed(
  body: ReadableStream<Uint8Array>,
  out: Deno.FsFile,
  hasher: Hasher,
  descriptor: Pick<Descriptor, "digest" | "size">,
  repo: Repository,
  onProgress?: ProgressCallback,
): Promise<void> {
  const take = (chunk: Uint8Array) => {
    if (hasher.size + chunk.byteLength > descriptor.size) {
      throw new DigestError(
        `Size mismatch for ${
          blobName(repo, descriptor.digest)
        }: more than the expected ${descriptor.size} bytes`,
      );
    }
    hasher.update(chunk);
  };
  let reader: ReadableStreamBYOBReader | undefined;
  try {
    reader = body.getReader({ mode: "byob" });
  } catch {
    // not a byte stream: read it chunk by chunk below
  }
  const batches = [new Uint8Array(WRITE_BATCH), new Uint8Array(WRITE_BATCH)];
  let current = 0;
  let filled = 0;
  let writing: Promise<void> | undefined;
  const flush = async () => {
    if (writing) await writing;
    writing = writeBatch(out, batches[current]!.subarray(0, filled));
    writing.catch(() => {}); // awaited by the next flush or at the end
    current ^= 1;
    filled = 0;
  };
  const add = async (chunk: Uint8Array) => {
    take(chunk);
    if (filled + chunk.byteLength > WRITE_BATCH) await flush();
    if (chunk.byteLength >= WRITE_BATCH) {
      // a big chunk (only from a stream that is not a byte stream) is written as it is, after the batch
      if (writing) await writing;
      await writeBatch(out, chunk);
    } else {
      batches[current]!.set(chunk, filled);
      filled += chunk.byteLength;
    }
    onProgress?.(hasher.size);
  };
  let ended = false;
  try {
    if (reader) {
      let scratch = new Uint8Array(READ_SIZE);
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
