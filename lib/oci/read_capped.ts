/**
 * The one capped body reader: a body read whole into memory, but never more than a cap (token, error and
 * manifest responses from a registry; manifest and token request bodies in the embedded registry).
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
