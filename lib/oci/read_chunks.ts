/**
 * Reading a stream piece by piece in constant memory: a byte stream (a file's `readable`, fetch's body) through a
 * BYOB reader into one reused buffer, any other stream chunk by chunk.
 *
 * @module
 */

/**
 * Calls `each` with every piece of `stream`, in order, waiting for it before the next read. A byte stream is
 * read into one reused buffer of `bufferSize` bytes, so its pieces are `borrowed`: the next read overwrites
 * them, and `each` must copy or consume a piece before it returns. Other streams hand over chunks of their own
 * (`borrowed` false). When `each` throws, the stream is cancelled (a body left unread would hold its
 * connection) and the error passes on.
 *
 * @param bufferSize the size of the reused buffer of a byte stream (the most bytes one piece holds)
 */
export async function forEachChunk(
  stream: ReadableStream<Uint8Array>,
  bufferSize: number,
  each: (chunk: Uint8Array, borrowed: boolean) => void | Promise<void>,
): Promise<void> {
  let reader: ReadableStreamBYOBReader;
  try {
    reader = stream.getReader({ mode: "byob" });
  } catch {
    // not a byte stream; leaving the loop early cancels it
    for await (const chunk of stream) await each(chunk, false);
    return;
  }
  let buffer = new Uint8Array(bufferSize);
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
