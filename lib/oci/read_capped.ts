/**
 * The one capped body reader: a body read whole into memory, but never more than a cap (token, error and
 * manifest responses from a registry; manifest and token request bodies in the embedded registry), and the one
 * capped reader of a small local file (kcl.mod and its lock, the registry's access file).
 *
 * @module
 */

/** A body longer than the cap its reader allows. */
export class BodyTooLargeError extends Error {
  /** The error's class name. */
  override name = "BodyTooLargeError";
  /** The cap, in bytes. */
  readonly limit: number;

  /**
   * @param what names the body, e.g. `a manifest in "x/y"`
   * @param limit the cap, in bytes
   */
  constructor(what: string, limit: number) {
    super(`Cannot read ${what}: it is over the ${limit} byte limit`);
    this.limit = limit;
  }
}

/** Options of readCapped. */
export interface ReadCappedOptions {
  /** The most bytes read. */
  limit: number;
  /** Names the body in the error (default `the body`). */
  what?: string;
  /** Return the first `limit` bytes of a longer body (the text of an error response) instead of failing. */
  truncate?: boolean;
}

/**
 * Reads a body (a stream, or a Response's or Request's) into one buffer, at most `limit` bytes; the rest of a
 * longer body is cancelled, unread. A body that announces a longer Content-Length is refused before reading.
 *
 * @returns the bytes (empty when there is no body)
 * @throws {BodyTooLargeError} `Cannot read <what>: it is over the <limit> byte limit`, unless `truncate`
 * @example
 * ```ts
 * const text = new TextDecoder().decode(await readCapped(response, { limit: 64 * 1024, truncate: true }));
 * ```
 */
export async function readCapped(
  body: ReadableStream<Uint8Array> | Response | Request | null,
  options: ReadCappedOptions,
): Promise<Uint8Array> {
  const { limit, truncate = false } = options;
  const tooLarge = () => new BodyTooLargeError(options.what ?? "the body", limit);
  const message = body instanceof Response || body instanceof Request ? body : undefined;
  const stream = message ? message.body : body as ReadableStream<Uint8Array> | null;
  if (!truncate && Number(message?.headers.get("Content-Length") ?? "NaN") > limit) {
    await stream?.cancel();
    throw tooLarge();
  }
  if (!stream) return new Uint8Array();
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    while (total < limit || !truncate) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit && !truncate) throw tooLarge();
      parts.push(value);
    }
    if (total >= limit) await reader.cancel();
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
  }
  return join(parts, Math.min(total, limit));
}

/**
 * Reads a regular file whole, at most `limit` bytes (a link is followed). Anything else is refused before it is
 * opened (a fifo would block the open); the open handle is checked again, and the content is read from that one
 * handle through readCapped, so a file swapped for a device (a link to /dev/zero) or one that grows is refused,
 * never read without end. (A fifo swapped in between the check and the open would still block the open: Deno
 * cannot open without blocking.)
 *
 * @param options `limit`, and `what` names the file in errors (default: the quoted path)
 * @returns the bytes
 * @throws {Deno.errors.NotFound} `Cannot read WHAT: …` when it is missing
 * @throws {BodyTooLargeError} `Cannot read WHAT: it is over the LIMIT byte limit`
 * @throws {Error} `Cannot read WHAT: it is not a regular file`, or the system's reason
 * @example
 * ```ts
 * const text = new TextDecoder().decode(await readCappedFile("kcl.mod", { limit: 1024 * 1024 }));
 * ```
 */
export async function readCappedFile(
  path: string,
  options: Omit<ReadCappedOptions, "truncate">,
): Promise<Uint8Array> {
  const what = options.what ?? `"${path}"`;
  let file: Deno.FsFile | undefined;
  try {
    if (!(await Deno.stat(path)).isFile) throw new Error("it is not a regular file");
    file = await Deno.open(path);
    if (!(await file.stat()).isFile) throw new Error("it is not a regular file");
  } catch (error) {
    file?.close();
    const message = `Cannot read ${what}: ${(error as Error).message}`;
    throw error instanceof Deno.errors.NotFound ? new Deno.errors.NotFound(message) : new Error(message);
  }
  return await readCapped(file.readable, { limit: options.limit, what });
}

/** The first `length` bytes of `parts`, in one buffer. */
function join(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1 && parts[0]!.byteLength === length) return parts[0]!;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    const piece = part.subarray(0, length - offset);
    out.set(piece, offset);
    offset += piece.byteLength;
    if (offset >= length) break;
  }
  return out;
}
