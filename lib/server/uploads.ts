/**
 * Blob upload sessions of the embedded registry: the bytes of each session stream into a file under the
 * storage's uploads folder through a PartialFile (lib/oci/partial_file.ts: hashed as they arrive, written in
 * batches of ~4 MiB); finishing checks the digest and only then moves the file into the content store.
 *
 * Sessions live in memory: after a restart their files are gone and their ids answer BLOB_UPLOAD_UNKNOWN.
 * Sessions untouched for the TTL (default one hour) expire on a timer, with their files. How many may be open
 * at once is capped, per client and overall: over the cap a new upload answers 429 TOOMANYREQUESTS.
 *
 * @module
 */

import { join } from "node:path";
import { WRITE_BATCH } from "../oci/batch_writer.ts";
import { type Digest, DigestError } from "../oci/digest.ts";
import { PartialFile } from "../oci/partial_file.ts";
import { DistributionError } from "./registry_errors.ts";
import type { ServerStorage } from "./storage.ts";

/** Sessions untouched for this long are dropped with their file, unless told otherwise. */
export const DEFAULT_UPLOAD_TTL_MS = 60 * 60 * 1000;

/**
 * Open upload sessions one client (an account, or the address of an anonymous caller) may hold at once. A push
 * holds one per blob in flight (docker, oras and kpm send 3 to 5 at a time), so this leaves room for some
 * twenty pushes at once from one account, while one caller cannot take the whole server's sessions.
 */
export const MAX_UPLOADS_PER_CLIENT = 100;

/**
 * Open upload sessions the server holds at once, whoever opened them: each holds a file and memory until it
 * ends or expires (distribution sets no limit; anyone allowed to push could open sessions without end).
 */
export const MAX_UPLOADS = 1000;

/** One upload in progress. */
export interface UploadSession {
  /** The session id (a UUID), the last segment of its Location. */
  readonly id: string;
  /** The repository it uploads into. */
  readonly name: string;
  /** Who opened it: `account "NAME"`, or `address IP` for an anonymous caller; its uploads count together. */
  readonly client: string;
  /** Its file under the uploads folder, with the size and sha256 of the bytes received so far. */
  readonly file: PartialFile;
  /** Time of the last request, for expiry. */
  touched: number;
  /** Serialises requests on one session. */
  queue: Promise<unknown>;
  /** Requests running on it (a long PATCH is not "untouched", however long it streams). */
  active: number;
}

/**
 * Bytes of writes that may wait for the disk before reading a request body pauses. (Pausing the read lets the
 * socket buffer fill, and a client whose chunk headers go out as separate small segments, as Deno's fetch does,
 * then stalls ~250 ms per pause on Nagle's algorithm against delayed ACKs: a 200 MiB PATCH took 23 s instead of
 * 0.7 s.)
 */
const MAX_BACKLOG_BYTES = 4 * WRITE_BATCH;

/**
 * Streams `body` to the end of the session's file. Request bodies come in ~64 KiB pieces, read chunk by chunk
 * (a BYOB reader would read the socket only on demand); reading never waits for the disk unless it is 16 MiB
 * ahead. When the body breaks off, what was read is still written, so size,
 * hash and file agree; when the disk fails, the file is marked broken. No file handle stays open between
 * requests (a session cancelled meanwhile loses its file, and the request in flight finishes on its handle).
 */
async function pump(
  session: UploadSession,
  body: ReadableStream<Uint8Array>,
  onReceived?: (bytes: number) => void,
): Promise<void> {
  let received = session.file.size;
  const onProgress = onReceived &&
    ((size: number) => {
      onReceived(size - received);
      received = size;
    });
  await session.file.append(body, { onProgress, ahead: MAX_BACKLOG_BYTES, chunked: true });
}

/**
 * Refuses a chunk whose Content-Range `start` (when given) is not where the upload ends, discarding its `body`.
 *
 * @throws {DistributionError} RANGE_INVALID (416, with the upload's state) when it is out of order
 */
async function checkChunkStart(
  session: UploadSession,
  body: ReadableStream<Uint8Array> | null,
  start: number | undefined,
): Promise<void> {
  if (start === undefined || start === session.file.size) return;
  await body?.cancel();
  throw new DistributionError(
    "RANGE_INVALID",
    `Cannot append to upload "${session.id}" of "${session.name}": the chunk starts at ${start}, the upload holds ${session.file.size} bytes`,
    { status: 416, headers: uploadHeaders(session) },
  );
}

/** The upload sessions of one registry. */
export class UploadSessions {
  #storage: ServerStorage;
  #sessions = new Map<string, UploadSession>();
  /** Open sessions by client, those being opened included. */
  #byClient = new Map<string, number>();
  /** Sessions being opened (counted against the caps before their file exists). */
  #opening = 0;
  #now: () => number;
  #ttlMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #onReceived?: (bytes: number) => void;

  /**
   * @param storage where finished uploads go
   * @param options `ttlMs`: how long an untouched session lives (default one hour); `now`: the clock;
   *   `onReceived`: told the size of each piece of upload body as it arrives (for metrics)
   */
  constructor(
    storage: ServerStorage,
    options: { now?: () => number; ttlMs?: number; onReceived?: (bytes: number) => void } = {},
  ) {
    this.#storage = storage;
    this.#now = options.now ?? Date.now;
    this.#ttlMs = options.ttlMs ?? DEFAULT_UPLOAD_TTL_MS;
    this.#onReceived = options.onReceived;
  }

  /** How many sessions are open. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Expires untouched sessions on a timer (a quarter of the TTL, at most a minute) until `stopExpiry`. */
  startExpiry(): void {
    if (this.#timer !== undefined) return;
    const every = Math.max(10, Math.min(this.#ttlMs / 4, 60_000));
    const timer = setInterval(() => this.#expire().catch(() => {}), every);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Stops the expiry timer. */
  stopExpiry(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Opens a new, empty session for the repository `name`, once idle sessions past the TTL are dropped.
   *
   * @param client who opens it (see UploadSession.client)
   * @throws {DistributionError} TOOMANYREQUESTS (429) when the client holds MAX_UPLOADS_PER_CLIENT sessions,
   *   or the server MAX_UPLOADS
   */
  async start(name: string, client: string): Promise<UploadSession> {
    await this.#expire();
    this.#admit(name, client);
    const id = crypto.randomUUID();
    let file: PartialFile;
    try {
      file = await PartialFile.create(join(this.#storage.uploadsDir, id), {
        what: `the upload "${id}"`,
        algorithm: "sha256",
      });
    } catch (error) {
      this.#release(client);
      throw error;
    } finally {
      this.#opening--;
    }
    file.close();
    const session: UploadSession = {
      id,
      name,
      client,
      file,
      touched: this.#now(),
      queue: Promise.resolve(),
      active: 0,
    };
    this.#sessions.set(id, session);
    return session;
  }

  /** Counts a session about to open for `client`, or refuses it over a cap. */
  #admit(name: string, client: string): void {
    const held = this.#byClient.get(client) ?? 0;
    const open = this.#sessions.size + this.#opening;
    const full = held >= MAX_UPLOADS_PER_CLIENT
      ? `${client} has ${held} uploads open, the most one client may`
      : open >= MAX_UPLOADS
      ? `the registry has ${open} uploads open, the most it holds`
      : undefined;
    if (full) {
      throw new DistributionError(
        "TOOMANYREQUESTS",
        `Cannot start an upload to "${name}": ${full}; finish or cancel uploads, or wait for idle ones to expire`,
      );
    }
    this.#byClient.set(client, held + 1);
    this.#opening++;
  }

  /** Uncounts a session of `client` that ended (or never opened). */
  #release(client: string): void {
    const held = (this.#byClient.get(client) ?? 1) - 1;
    if (held > 0) this.#byClient.set(client, held);
    else this.#byClient.delete(client);
  }

  /**
   * The session `id` of repository `name`.
   *
   * @throws {DistributionError} BLOB_UPLOAD_UNKNOWN when there is no such session
   */
  get(name: string, id: string): UploadSession {
    const session = this.#sessions.get(id);
    if (!session || session.name !== name) {
      throw new DistributionError("BLOB_UPLOAD_UNKNOWN", `Cannot find upload "${id}" in "${name}"`);
    }
    session.touched = this.#now();
    return session;
  }

  /**
   * Appends a chunk. With a Content-Range, its start must be the session's size.
   *
   * @param chunk the request `body`, and the `start` of its Content-Range when given
   * @throws {DistributionError} RANGE_INVALID (416) when the chunk does not start where the upload ends
   */
  async append(
    session: UploadSession,
    chunk: { body: ReadableStream<Uint8Array> | null; start?: number },
  ): Promise<void> {
    const { body, start } = chunk;
    await this.#serial(session, async () => {
      await checkChunkStart(session, body, start);
      if (body) await pump(session, body, this.#onReceived);
    });
  }

  /**
   * Appends the last chunk (if any), checks the digest and moves the content into the store, linked to the
   * session's repository. The session ends either way, except when the last chunk is out of range: then it is
   * refused and the session stays as it was, to be resumed.
   *
   * @param last the `digest` the whole content must have, the request `body` (the last chunk), and the `start`
   *   of its Content-Range when given
   * @throws {DistributionError} RANGE_INVALID (416) when the last chunk does not start where the upload ends;
   *   DIGEST_INVALID when the content does not have `digest` (nothing is stored)
   */
  async finish(
    session: UploadSession,
    last: { digest: Digest; body: ReadableStream<Uint8Array> | null; start?: number },
  ): Promise<void> {
    const { digest, body, start } = last;
    await this.#serial(session, async () => {
      await checkChunkStart(session, body, start);
      try {
        if (body) await pump(session, body, this.#onReceived);
        await session.file.verify({ digest }).catch((error) => {
          if (!(error instanceof DigestError)) throw error;
          throw new DistributionError(
            "DIGEST_INVALID",
            `Cannot store blob "${digest}" in "${session.name}": ${error.message}`,
          );
        });
        await this.#storage.adoptContent(session.file.path, digest);
        await this.#storage.linkBlob(session.name, digest);
      } finally {
        await this.cancel(session);
      }
    });
  }

  /** Waits for the requests in flight on the session (a PATCH still streaming), so its size is settled. */
  async settled(session: UploadSession): Promise<void> {
    await this.#serial(session, () => Promise.resolve());
  }

  /** Ends a session (cancelled, finished or expired) and deletes its file. */
  async cancel(session: UploadSession): Promise<void> {
    if (this.#sessions.delete(session.id)) this.#release(session.client);
    await session.file.remove();
  }

  /** Cancels every session and stops the expiry timer (on close). */
  async cancelAll(): Promise<void> {
    this.stopExpiry();
    for (const session of [...this.#sessions.values()]) await this.cancel(session);
  }

  async #serial(session: UploadSession, task: () => Promise<void>): Promise<void> {
    const guarded = async () => {
      if (session.file.broken) {
        await this.cancel(session);
        throw new DistributionError(
          "BLOB_UPLOAD_INVALID",
          `Cannot continue upload "${session.id}" of "${session.name}": writing it to disk failed`,
        );
      }
      await task();
    };
    session.active++;
    const run = session.queue.then(guarded, guarded);
    session.queue = run.catch(() => {});
    try {
      await run;
    } finally {
      session.active--;
      session.touched = this.#now();
    }
  }

  async #expire(): Promise<void> {
    const limit = this.#now() - this.#ttlMs;
    for (const session of [...this.#sessions.values()]) {
      if (session.touched < limit && session.active === 0) await this.cancel(session);
    }
  }
}

/**
 * The headers that describe an upload's state: Location, its UUID and `Range: 0-<end-of-range>`, which the spec
 * requires on every status answer, the end being the position of the last byte received: `0--1` while the upload
 * is empty (distribution answers `0-0` there, which reads as one byte received; Go clients that scan `%d-%d`,
 * the conformance suite among them, read -1).
 */
export function uploadHeaders(session: UploadSession): Record<string, string> {
  return {
    "Location": `/v2/${session.name}/blobs/uploads/${session.id}`,
    "Docker-Upload-UUID": session.id,
    "Range": `0-${session.file.size - 1}`,
  };
}
