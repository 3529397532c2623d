/**
 * Blob uploads of a Repository (`Repository.blobs.push`): skip when present, cross-repository mount,
 * monolithic POST+PUT for small blobs, one streamed PATCH for big ones, and PATCH chunks with Content-Range
 * (recovering from 416) to resume or when asked.
 *
 * @module
 */

import { DEFAULT_CHUNK_SIZE, type ProgressCallback } from "./blobs.ts";
import { type Digest, VerifyingStream } from "./digest.ts";
import type { Descriptor } from "./manifest.ts";
import { describe, hashContent, type PushedBlob, type UnhashedContent } from "./store.ts";
import { RegistryError } from "./registry_error.ts";
import { repositoryScope } from "./auth/scope.ts";
import type { Repository } from "./repository.ts";
import type { RegistryRequest } from "./client.ts";
import { registryUrl } from "./http.ts";
import { readCapped } from "./read_capped.ts";

/** What a push did with a blob. */
export type UploadOutcome = "exists" | "mounted" | "uploaded";

/** Content to upload: bytes, or a function that opens a fresh stream of it. */
export type BlobContent =
  | Uint8Array
  | (() => Promise<ReadableStream<Uint8Array>> | ReadableStream<Uint8Array>);

/** Options of `Repository.blobs.push`. */
export interface PushBlobOptions {
  /** A repository on the same registry that may hold the blob already (tries a mount). */
  mountFrom?: string;
  /** Chunk size for big blobs; blobs up to this size go in one PUT. */
  chunkSize?: number;
  /**
   * How blobs bigger than the chunk size are sent: `stream` (default unless `chunkSize` is given) streams the
   * whole blob as one PATCH, as docker does (as fast as the registry can store it, constant memory), and on a
   * failure resumes from where the registry stands in Content-Range chunks; `chunked` sends Content-Range
   * chunks of `chunkSize` from the start.
   */
  upload?: "stream" | "chunked";
  onProgress?: ProgressCallback;
  /** Skip the HEAD check (the caller knows the blob is missing). */
  skipExistsCheck?: boolean;
}

/**
 * Uploads a blob unless the repository already has it.
 *
 * @param descriptor digest and size the content must have (the registry verifies the digest)
 * @returns whether the blob existed, was mounted or was uploaded
 * @throws {RegistryError} when the registry refuses
 */
export async function uploadBlob(
  repo: Repository,
  descriptor: Pick<Descriptor, "digest" | "size">,
  content: BlobContent,
  options: PushBlobOptions = {},
): Promise<UploadOutcome> {
  const what = `push blob "${descriptor.digest}" to "${repo.registry}/${repo.repository}"`;
  const push = repositoryScope(repo.repository, ["pull", "push"]);
  const mount = options.mountFrom && options.mountFrom !== repo.repository ? options.mountFrom : undefined;
  const scopes = mount ? [push, repositoryScope(mount, ["pull"])] : [push];
  // The HEAD asks for the push's scopes, so that one token serves the whole push.
  if (!options.skipExistsCheck && await repo.blobs.exists(descriptor.digest, { scopes })) {
    options.onProgress?.(descriptor.size);
    return "exists";
  }
  const from = mount ? { digest: descriptor.digest, from: mount } : undefined;
  const upload = await Upload.start(repo, what, scopes, from);
  if (!upload) {
    options.onProgress?.(descriptor.size);
    return "mounted";
  }
  await upload.send(descriptor, content, options);
  options.onProgress?.(descriptor.size);
  return "uploaded";
}

/**
 * Unhashed content from this size up is uploaded while it is hashed (Repository.pushUnhashedBlob): hashing a
 * GiB takes ~0.6 s of one core, which the upload then hides. Below it the hash is too quick to be worth an
 * upload that may be sent for nothing.
 */
export const HASH_WHILE_UPLOADING_FROM = 32 * 1024 * 1024;

/**
 * Uploads content whose digest is not known yet while it is hashed in a second read pass: the upload (POST,
 * then one streamed PATCH) starts at once; when the digest is known, a HEAD asks whether the repository has
 * the blob, and if so the upload is abandoned (its session deleted); else it is closed with PUT ?digest=,
 * which the registry verifies. A push of a new blob so takes the upload's time instead of hash + upload; one of
 * a blob the registry has takes the hash's time, as before, plus part of an upload sent for nothing.
 *
 * @returns the content's descriptor and whether the blob existed or was uploaded
 * @throws {DigestError} when the content changed while read; {RegistryError} when the registry refuses
 */
export async function uploadWhileHashing(
  repo: Repository,
  base: Pick<Descriptor, "mediaType" | "annotations">,
  content: UnhashedContent,
  options: Pick<PushBlobOptions, "onProgress" | "chunkSize"> = {},
): Promise<PushedBlob> {
  const what = `push ${content.what} to "${repo.registry}/${repo.repository}"`;
  const scopes = [repositoryScope(repo.repository, ["pull", "push"])];
  const hashing = hashContent(content);
  hashing.catch(() => {}); // awaited below; until then a failure must not count as unhandled
  const abandon = new AbortController();
  let upload: Upload | undefined;
  let sending: Promise<void> | undefined;
  try {
    upload = (await Upload.start(repo, what, scopes))!;
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    sending = upload.sendStream(content.open, content.size, chunkSize, options.onProgress, abandon.signal);
    sending.catch(() => {}); // likewise
    const descriptor = describe(base, await hashing);
    if (await repo.blobs.exists(descriptor.digest, { scopes })) {
      options.onProgress?.(descriptor.size);
      return { descriptor, outcome: "exists" };
    }
    await sending;
    sending = undefined;
    await upload.finish(descriptor.digest, new Uint8Array());
    options.onProgress?.(descriptor.size);
    return { descriptor, outcome: "uploaded" };
  } finally {
    abandon.abort(new Error("upload abandoned"));
    await Promise.allSettled([hashing, sending]);
    if (sending) await upload?.cancel();
  }
}

/**
 * The upload session URL a response gives (Location), resolved against the registry.
 *
 * @returns its href; `current` when the response gives none (undefined: it must give one)
 * @throws {RegistryError} naming the registry and the value when it is missing or not an http or https URL
 */
function sessionUrl(response: Response, what: string, repo: Repository, current?: string): string {
  const value = response.headers.get("Location");
  if (value === null && current !== undefined) return current;
  if (!value) {
    throw new RegistryError(`Cannot ${what}: the registry gave no upload Location`, {
      status: response.status,
      registry: repo.registry,
      repository: repo.repository,
    });
  }
  return registryUrl(value, repo.client.baseUrl(repo.registry), {
    what,
    registry: repo.registry,
    repository: repo.repository,
    source: "the registry gave the upload Location",
  }).href;
}

/** An upload session; follows the newest Location the registry gives. */
class Upload {
  #offset = 0;
  readonly repo: Repository;
  readonly what: string;
  readonly scopes: string[];
  url: string;

  constructor(repo: Repository, what: string, url: string, scopes: string[]) {
    this.repo = repo;
    this.what = what;
    this.url = url;
    this.scopes = scopes;
  }

  /**
   * Starts an upload (POST), asking to mount `mount.digest` from repository `mount.from` when given.
   *
   * @param scopes the push's scope first (the session keeps only that one), then the mount's
   * @returns the session, or undefined when the registry mounted the blob (201)
   */
  static async start(
    repo: Repository,
    what: string,
    scopes: string[],
    mount?: { digest: Digest; from: string },
  ): Promise<Upload | undefined> {
    const query = mount ? `?mount=${mount.digest}&from=${encodeURIComponent(mount.from)}` : "";
    const started = await repo.client.send({
      registry: repo.registry,
      repository: repo.repository,
      method: "POST",
      path: `${repo.repository}/blobs/uploads/${query}`,
      scopes,
      expect: [201, 202],
      what,
      retry: true,
    });
    await started.body?.cancel();
    if (started.status === 201) return undefined;
    return new Upload(repo, what, sessionUrl(started, what, repo), scopes.slice(0, 1));
  }

  /** Sends the content: in the PUT when small, else streamed (or chunked when asked), then closes the upload. */
  async send(
    descriptor: Pick<Descriptor, "digest" | "size">,
    content: BlobContent,
    options: PushBlobOptions,
  ): Promise<void> {
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (descriptor.size <= Math.min(chunkSize, MONOLITHIC_LIMIT)) {
      return await this.finish(descriptor.digest, await readSmall(descriptor, content));
    }
    const open = content instanceof Uint8Array
      ? () => new Blob([content as Uint8Array<ArrayBuffer>]).stream()
      : content;
    const mode = options.upload ?? (options.chunkSize === undefined ? "stream" : "chunked");
    if (mode === "stream") await this.sendStream(open, descriptor.size, chunkSize, options.onProgress);
    else await this.sendChunks(await open(), chunkSize, options.onProgress);
    await this.finish(descriptor.digest, new Uint8Array());
  }

  /**
   * Streams the whole content as one PATCH (no Content-Range, as docker does). When that fails or the registry
   * stored less, asks the registry how much it holds, reopens the content past that point and sends the rest
   * in Content-Range chunks.
   */
  async sendStream(
    open: () => Promise<ReadableStream<Uint8Array>> | ReadableStream<Uint8Array>,
    size: number,
    chunkSize: number,
    onProgress?: ProgressCallback,
    signal?: AbortSignal,
  ) {
    const stored = await this.#sendWhole(countBytes(await open(), onProgress), size, signal);
    if (stored === size) {
      this.#offset = size;
      return;
    }
    if (stored > size) {
      throw this.#failed(`the registry holds ${stored} bytes, more than ${size}`, 0);
    }
    this.#offset = stored;
    await this.sendChunks(skip(await open(), stored), chunkSize, onProgress, signal);
  }

  /**
   * Sends the whole stream as one PATCH.
   *
   * @returns how many bytes the registry then holds (asked of it when the PATCH failed in a way that may have
   *   stored a part)
   */
  async #sendWhole(body: ReadableStream<Uint8Array>, size: number, signal?: AbortSignal): Promise<number> {
    let response: Response;
    try {
      response = await this.#send({
        method: "PATCH",
        headers: { "Content-Type": "application/octet-stream" },
        body,
        expect: [202],
        retry: false,
        signal,
      });
    } catch (error) {
      signal?.throwIfAborted();
      if (
        error instanceof RegistryError && error.status >= 400 && error.status < 500 && error.status !== 416
      ) {
        throw error;
      }
      return await this.#status().catch(() => {
        throw error;
      });
    }
    return this.#stored(response, size);
  }

  /** Sends a stream as PATCH chunks of `chunkSize` bytes, from the current offset. */
  async sendChunks(
    stream: ReadableStream<Uint8Array>,
    chunkSize: number,
    onProgress?: ProgressCallback,
    signal?: AbortSignal,
  ) {
    let buffer = new Uint8Array(chunkSize);
    let filled = 0;
    for await (const piece of stream) {
      let rest = piece;
      while (rest.byteLength > 0) {
        const take = Math.min(rest.byteLength, chunkSize - filled);
        buffer.set(rest.subarray(0, take), filled);
        filled += take;
        rest = rest.subarray(take);
        if (filled === chunkSize) {
          await this.#patch(buffer, signal);
          onProgress?.(this.#offset);
          buffer = new Uint8Array(chunkSize);
          filled = 0;
        }
      }
    }
    if (filled > 0) await this.#patch(buffer.subarray(0, filled), signal);
  }

  /** PATCHes one chunk at the current offset; on 416 asks the registry where it is and sends the rest. */
  async #patch(chunk: Uint8Array, signal?: AbortSignal): Promise<void> {
    const start = this.#offset;
    let sent = 0;
    for (let attempt = 0; attempt < 3 && sent < chunk.byteLength; attempt++) {
      const part = chunk.subarray(sent);
      const from = start + sent;
      const response = await this.#send({
        method: "PATCH",
        headers: {
          "Content-Type": "application/octet-stream",
          "Content-Range": `${from}-${from + part.byteLength - 1}`,
        },
        body: part,
        expect: [202, 416],
        retry: false,
        signal,
      });
      if (response.status === 202) {
        this.url = sessionUrl(response, this.what, this.repo, this.url);
        sent = chunk.byteLength;
        break;
      }
      const stored = await this.#status();
      if (stored < start || stored > start + chunk.byteLength) {
        throw this.#failed(`the registry holds ${stored} bytes, cannot resume`, 416);
      }
      sent = stored - start;
    }
    if (sent < chunk.byteLength) {
      throw this.#failed(`the registry kept refusing chunk at offset ${start}`, 416);
    }
    this.#offset = start + chunk.byteLength;
  }

  /** Asks the registry how many bytes the upload holds (GET upload → Range: 0-N). */
  async #status(): Promise<number> {
    return this.#stored(await this.#send({ expect: [204, 200] }), 0);
  }

  /**
   * Reads an answer about the session: follows its Location, and returns the bytes its Range says the
   * registry holds (`otherwise` when it says nothing).
   */
  #stored(response: Response, otherwise: number): number {
    this.url = sessionUrl(response, this.what, this.repo, this.url);
    const range = /^(?:bytes=)?0-(\d+)$/.exec(response.headers.get("Range") ?? "");
    return range ? Number(range[1]) + 1 : otherwise;
  }

  /** Completes the upload with PUT ?digest=, sending `body` as the last (or only) part. */
  async finish(digest: Digest, body: Uint8Array): Promise<void> {
    const url = new URL(this.url, this.repo.client.baseUrl(this.repo.registry));
    url.searchParams.set("digest", digest);
    await this.#send({
      method: "PUT",
      url: url.href,
      headers: { "Content-Type": "application/octet-stream" },
      body,
      expect: [201, 204],
      retry: false,
    });
  }

  /** Deletes the upload session, as far as the registry allows (best effort: an abandoned upload expires). */
  async cancel(): Promise<void> {
    await this.#send({ method: "DELETE", expect: [200, 202, 204], retry: false }).catch(() => {});
  }

  /** Sends one request of this upload (to its session URL unless `url` says otherwise); drops the answer's body. */
  async #send(
    request: Pick<RegistryRequest, "method" | "url" | "headers" | "body" | "expect" | "retry" | "signal">,
  ) {
    const response = await this.repo.client.send({
      registry: this.repo.registry,
      repository: this.repo.repository,
      url: this.url,
      scopes: this.scopes,
      what: this.what,
      ...request,
    });
    await response.body?.cancel();
    return response;
  }

  /** The error of this upload: `Cannot WHAT: REASON`, naming the registry and repository. */
  #failed(reason: string, status: number): RegistryError {
    return new RegistryError(`Cannot ${this.what}: ${reason}`, {
      status,
      registry: this.repo.registry,
      repository: this.repo.repository,
    });
  }
}

/** Bytes per read of a counted stream, and how many such buffers rotate. */
const COUNT_READ_SIZE = 256 * 1024;
const COUNT_BUFFERS = 4;

/**
 * The stream, reporting the bytes read so far. A byte stream (a file's `readable`) is read with a BYOB reader
 * into a few rotating buffers, pulled one chunk at a time (highWaterMark 0): fetch sends each chunk before it
 * asks for the next, so a buffer is refilled only after it was sent, and an upload allocates nothing per chunk
 * (a TransformStream over a file's 64 KiB chunks added ~45 MiB of garbage to a 1 GiB push). A corrupted chunk
 * could not go unnoticed anyway: the registry checks the digest when the upload is closed.
 */
function countBytes(
  stream: ReadableStream<Uint8Array>,
  onProgress?: ProgressCallback,
): ReadableStream<Uint8Array> {
  if (!onProgress) return stream;
  let sent = 0;
  let reader: ReadableStreamBYOBReader;
  try {
    reader = stream.getReader({ mode: "byob" });
  } catch {
    return stream.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          sent += chunk.byteLength;
          controller.enqueue(chunk);
          onProgress(sent);
        },
      }),
    );
  }
  const pool = Array.from({ length: COUNT_BUFFERS }, () => new ArrayBuffer(COUNT_READ_SIZE));
  let next = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read(new Uint8Array(pool[next]!));
      if (done) {
        controller.close();
        return;
      }
      pool[next] = value.buffer as ArrayBuffer;
      next = (next + 1) % COUNT_BUFFERS;
      sent += value.byteLength;
      controller.enqueue(value);
      onProgress(sent);
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
}

/** The stream without its first `count` bytes. */
function skip(stream: ReadableStream<Uint8Array>, count: number): ReadableStream<Uint8Array> {
  let left = count;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (left >= chunk.byteLength) {
          left -= chunk.byteLength;
          return;
        }
        controller.enqueue(left > 0 ? chunk.subarray(left) : chunk);
        left = 0;
      },
    }),
  );
}

/**
 * Blobs up to this size go up in one PUT (one round trip less); bigger ones are streamed, so that the memory a
 * push needs does not grow with the blob (a 16 MiB blob read into memory and handed to fetch peaked at 144 MiB).
 */
const MONOLITHIC_LIMIT = 1024 * 1024;

/**
 * Small content as bytes: opened and read whole (at most its size), checked against its size and digest on the
 * way, so that content that changed since it was hashed is refused here, in the words of the other mismatches.
 *
 * @throws {DigestError} on a size or digest mismatch
 */
async function readSmall(
  descriptor: Pick<Descriptor, "digest" | "size">,
  content: BlobContent,
): Promise<Uint8Array> {
  if (content instanceof Uint8Array) return content;
  const what = `the content of blob "${descriptor.digest}"`;
  const verified = (await content()).pipeThrough(new VerifyingStream(descriptor, what));
  return await readCapped(verified, { limit: descriptor.size, what });
}
