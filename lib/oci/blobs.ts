/**
 * The blobs of one registry repository (`/v2/<name>/blobs/<digest>`): HEAD, GET with Range, DELETE and the
 * upload (lib/oci/blob_upload.ts), reached through `Repository.blobs`; and the verified download to disk with
 * Range resume.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { type BlobContent, type PushBlobOptions, uploadBlob, type UploadOutcome } from "./blob_upload.ts";
import { BlobWriteError } from "./batch_writer.ts";
import { type Digest, DigestError, digestHex } from "./digest.ts";
import { PartialFile, type ProgressCallback } from "./partial_file.ts";
import type { Descriptor } from "./manifest.ts";
import { RegistryError } from "./registry_error.ts";
import { contentLength, TIMEOUT_CODE } from "./http.ts";
import { repositoryScope } from "./auth/scope.ts";
import type { Repository } from "./repository.ts";

/** The size of the Content-Range PATCH chunks of a chunked upload (or of the resume after a broken stream). */
export const DEFAULT_CHUNK_SIZE = 16 * 1024 * 1024;
/** How often a dropped download is resumed before giving up. */
const MAX_RESUMES = 5;

export type { ProgressCallback } from "./partial_file.ts";

function blobName(repo: Repository, digest: string): string {
  return `blob "${digest}" of "${repo.registry}/${repo.repository}"`;
}

/** The blob endpoints of a repository. */
export class RepositoryBlobs {
  #repo: Repository;

  /** @param repo the repository (its client, registry and name) */
  constructor(repo: Repository) {
    this.#repo = repo;
  }

  /**
   * Asks whether the repository has a blob (HEAD).
   *
   * @param options `scopes` replaces the default `pull` scope: a push asks for the scopes of the whole push,
   *   so that one token serves the HEAD and the upload
   * @throws {RegistryError} on anything but 200 or 404
   */
  async exists(digest: Digest, options: { scopes?: string[] } = {}): Promise<boolean> {
    const response = await this.#head(digest, options.scopes);
    await response.body?.cancel();
    return response.status === 200;
  }

  /**
   * The size of a blob (HEAD, from Content-Length), or undefined when the repository lacks it.
   *
   * @throws {RegistryError} on anything but 200 or 404, or when the registry gives no valid Content-Length
   */
  async stat(digest: Digest): Promise<Descriptor | undefined> {
    const response = await this.#head(digest);
    await response.body?.cancel();
    if (response.status === 404) return undefined;
    const size = contentLength(response);
    if (size === undefined) {
      throw new RegistryError(
        `Cannot look up ${blobName(this.#repo, digest)}: the registry gave no valid size`,
        {
          status: response.status,
          registry: this.#repo.registry,
          repository: this.#repo.repository,
        },
      );
    }
    return { mediaType: "application/octet-stream", digest, size };
  }

  #head(digest: Digest, scopes?: string[]): Promise<Response> {
    const repo = this.#repo;
    return repo.client.send({
      registry: repo.registry,
      repository: repo.repository,
      method: "HEAD",
      path: `${repo.repository}/blobs/${digest}`,
      scopes: scopes ?? [repositoryScope(repo.repository, ["pull"])],
      expect: [200, 404],
      what: `look up ${blobName(repo, digest)}`,
    });
  }

  /**
   * Opens a blob's content as a stream, from `offset` when given (Range). The stream is NOT verified: pipe it
   * through a `VerifyingStream` or use `downloadBlob`.
   *
   * @returns the body and whether the registry honoured the range (206)
   * @throws {RegistryError} when the registry refuses (404: `notFound`) or sends no body
   */
  async open(
    digest: Digest,
    options: { offset?: number } = {},
  ): Promise<{ body: ReadableStream<Uint8Array>; partial: boolean }> {
    const repo = this.#repo;
    const offset = options.offset ?? 0;
    const response = await repo.client.send({
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

  /**
   * Uploads a blob unless the repository has it (one HEAD, unless `skipExistsCheck`), mounting it from
   * `options.mountFrom` when given.
   *
   * @param descriptor digest and size the content must have (the registry verifies the digest)
   * @returns whether the blob existed, was mounted or was uploaded
   * @throws {RegistryError} when the registry refuses
   */
  async push(
    descriptor: Pick<Descriptor, "digest" | "size">,
    content: BlobContent,
    options: PushBlobOptions = {},
  ): Promise<UploadOutcome> {
    return await uploadBlob(this.#repo, descriptor, content, options);
  }

  /**
   * Deletes a blob (`DELETE /v2/<name>/blobs/<digest>`).
   *
   * @throws {RegistryError} when the registry refuses (405 when deletion is off)
   */
  async delete(digest: Digest): Promise<void> {
    const repo = this.#repo;
    await repo.deleteByDigest("blobs", digest, `delete blob "${digest}" from "${repo.name}"`);
  }
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
      const { body, partial: ranged } = await repo.blobs.open(descriptor.digest, {
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
