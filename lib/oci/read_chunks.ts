/**
 * Reading a stream piece by piece in constant memory: a byte stream (a file's `readable`, fetch's body) through a
 * BYOB reader into one reused buffer, any other stream chunk by chunk.
 *
 * @module
 */

/**
 * Calls `each` with every piece of `stream`, in order, waiting for it before the next read. A byte stream is
 * read into one reused buffer of `bufferSize` bytes, so its pieces are `borrowed`: the next read overwrites
 * them, and `each` must copy or consume a piece before it returns. Other streams, and any stream when
 * `bufferSize` is undefined, hand over chunks of their own (`borrowed` false). When `each` throws, the stream
 * is cancelled (a body left unread would hold its connection) and the error passes on.
 *
 * @param bufferSize the size of the reused buffer of a byte stream (the most bytes one piece holds); undefined
 *   to read chunk by chunk, whose queue keeps reading ahead: a Deno.serve request body is a byte stream that a
 *   BYOB reader reads only on demand, and a 256 MiB upload from Deno's fetch then stalled for 20-80 s instead of
 *   ~1.5 s (the client's small segments waiting on delayed ACKs whenever the socket was not read)
 */
export async function forEachChunk(
  stream: ReadableStream<Uint8Array>,
  bufferSize: number | undefined,
  each: (chunk: Uint8Array, borrowed: boolean) => void | Promise<void>,
): Promise<void> {
  let reader: ReadableStreamBYOBReader | undefined;
  try {
    if (bufferSize !== undefined) reader = stream.getReader({ mode: "byob" });
  } catch {
    // not a byte stream
  }
  if (!reader) {
    // leaving the loop early cancels the stream
    for await (const chunk of stream) await each(chunk, false);
    return;
  }
  let buffer = new Uint8Array(bufferSize!);
  let ended = false;
  try {
    while (true) {
      const { done, value } = await reader.read(buffer);
      if (done) break;
      await each(value, true);
      buffer = new Uint8Array(value.buffer);
    }
    ended = true;
  } finally {
    if (!ended) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
