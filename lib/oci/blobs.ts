/**
 * Blob operations: existence checks, streaming verified downloads to disk with Range resume, and uploads
 * (monolithic for small blobs, PATCH chunks for big ones, cross-repository mount, skip when present).
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import type { RegistryClient } from "./client.ts";
import { BlobWriteError } from "./batch_writer.ts";
import { type Digest, DigestError, digestHex } from "./digest.ts";
import { PartialFile, type ProgressCallback } from "./partial_file.ts";
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

export type { ProgressCallback } from "./partial_file.ts";

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
 * through a `VerifyingStream` or use `downloadBlob`.
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
  const what = blobName(repo, descriptor.digest);
  const file = await PartialFile.create(partialPath(destination, descriptor.digest), {
    what,
    expected: descriptor,
    resume: true,
  });
  try {
    let resumes = 0;
    while (file.size < descriptor.size) {
      const { body, partial: ranged } = await openBlob(client, repo, descriptor.digest, {
        offset: file.size,
      });
      if (!ranged && file.size > 0) await file.restart();
      try {
        await file.append(body, { onProgress: options.onProgress });
        if (file.size < descriptor.size) throw new Error("the connection closed early");
      } catch (error) {
        if (error instanceof DigestError || error instanceof BlobWriteError || isStall(error)) throw error;
        if (++resumes > MAX_RESUMES) {
          throw new RegistryError(
            `Cannot pull ${what}: ${(error as Error).message} (after ${MAX_RESUMES} resumes)`,
            {
              status: 0,
              registry: repo.registry,
              repository: repo.repository,
              cause: error,
            },
          );
        }
      }
    }
    await file.commit(destination);
  } catch (error) {
    await (error instanceof DigestError ? file.remove() : file.suspend());
    throw error;
  }
}

/** A registry that went silent is not asked again in this run: the partial file stays for a later resume. */
function isStall(error: unknown): boolean {
  return error instanceof RegistryError && error.code === TIMEOUT_CODE;
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
