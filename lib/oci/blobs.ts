/**
 * Blob operations: existence checks, streaming verified downloads to disk with Range resume, and uploads
 * (monolithic for small blobs, PATCH chunks for big ones, cross-repository mount, skip when present).
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import type { RegistryClient } from "./client.ts";
import { BlobWriteError, copyHashed } from "./hashed_copy.ts";
import { type Digest, digestAlgorithm, DigestError, digestHex, Hasher } from "./digest.ts";
import type { Descriptor } from "./manifest.ts";
import type { Reference } from "./reference.ts";
import { RegistryError } from "./registry_error.ts";
import { TIMEOUT_CODE } from "./http.ts";
import { repositoryScope } from "./auth/scope.ts";

/** A registry and repository: where blobs live. */
export type Repository = Pick<Reference, "registry" | "repository">;

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
  const out = await openPartial(partial, hasher, descriptor.size);
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
        await copyHashed(body, out, hasher, descriptor, {
          what: blobName(repo, descriptor.digest),
          onProgress: options.onProgress,
        });
        if (hasher.size < descriptor.size) throw new Error("the connection closed early");
      } catch (error) {
        if (error instanceof DigestError || error instanceof BlobWriteError || isStall(error)) throw error;
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

/** A registry that went silent is not asked again in this run: the partial file stays for a later resume. */
function isStall(error: unknown): boolean {
  return error instanceof RegistryError && error.code === TIMEOUT_CODE;
}

/**
 * Opens the partial file for appending: a new one (one request to the file system, the common case), or the
 * one an earlier, interrupted download left, whose bytes are hashed first.
 */
async function openPartial(path: string, hasher: Hasher, size: number): Promise<Deno.FsFile> {
  try {
    return await Deno.open(path, { append: true, createNew: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  await hashExisting(path, hasher, size);
  return await Deno.open(path, { append: true });
}

/** Hashes what an earlier, interrupted download left; discards it when it is longer than the blob. */
async function hashExisting(path: string, hasher: Hasher, size: number): Promise<void> {
  const file = await Deno.open(path);
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

/** Deletes a blob (`DELETE /v2/<name>/blobs/<digest>`; registries answer 405 when deletion is off). */
export async function deleteBlob(client: RegistryClient, repo: Repository, digest: Digest): Promise<void> {
  const response = await client.send({
    registry: repo.registry,
    repository: repo.repository,
    method: "DELETE",
    path: `${repo.repository}/blobs/${digest}`,
    scopes: [repositoryScope(repo.repository, ["delete"])],
    expect: [202, 200],
    what: `delete blob "${digest}" from "${repo.registry}/${repo.repository}"`,
  });
  await response.body?.cancel();
}
