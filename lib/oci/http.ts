/**
 * One HTTP exchange with a registry or a token endpoint: fetch under an idle timeout (N ms without a byte in
 * either direction, while kpm waits for one, aborts the exchange), redirects followed by hand so that an
 * Authorization header only ever goes to the origin it belongs to, and fetch failures described by their
 * cause (a TLS failure says so, not just "fetch failed").
 *
 * @module
 */

import { RegistryError } from "./registry_error.ts";

/** The idle timeout when none is given: 30 s of silence. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** The error code of an exchange that went silent. */
export const TIMEOUT_CODE = "TIMEOUT";

const MAX_REDIRECTS = 10;
const REDIRECTS = [301, 302, 303, 307, 308];
const NULL_BODY_STATUSES = [101, 103, 204, 205, 304];
/** The buffer of each read when the body is read without a buffer of the reader's own (fetch's chunk size). */
const AUTO_CHUNK_SIZE = 64 * 1024;

/** Options of one exchange. */
export interface ExchangeOptions {
  fetch: typeof fetch;
  /** Milliseconds of silence after which the exchange is aborted (0: never). */
  timeoutMs: number;
  /** What is attempted, for errors: `pull manifest "…"`. */
  what: string;
  /** The registry the exchange is for, for errors. */
  registry?: string;
  /** Sent only to `authOrigin`, never to another origin reached by a redirect. */
  authorization?: string;
  /** The origin (`https://host:port`) the authorization belongs to. */
  authOrigin?: string;
  /** Receives one line per request (verbose mode). */
  log?: (line: string) => void;
  /** Cancels the exchange, its response body included: it then fails with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Sends a request, following redirects by hand, under an idle timeout that also watches the response body.
 * Only http and https URLs are fetched (registryUrl): a redirect, upload Location or Link from a registry to
 * `file:` or `data:` (which fetch would read locally), or one that is no URL at all, is refused.
 *
 * @param url where to send it
 * @param init method, headers and body (redirect handling is this function's)
 * @returns the final response; its body, when read, is watched by the same idle timeout
 * @throws {RegistryError} with code TIMEOUT when the peer stalls, or when redirects loop or lead to a URL that
 *   is not http or https (or not a URL); the signal's reason when it is aborted
 * @throws {TypeError} as fetch does when the connection fails (see describeFetchError)
 */
export async function exchange(
  url: URL,
  init: { method: string; headers: Headers; body?: BodyInit | null },
  options: ExchangeOptions,
): Promise<Response> {
  const context = { what: options.what, registry: options.registry };
  let current = registryUrl(url.href, url, { ...context, source: "refusing" });
  const watch = new IdleWatch(options, url);
  let method = init.method;
  let body = init.body instanceof ReadableStream ? watchUpload(init.body, watch) : init.body;
  try {
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const headers = new Headers(init.headers);
      if (options.authorization && current.origin === options.authOrigin) {
        headers.set("Authorization", options.authorization);
      }
      options.log?.(`${method} ${current.href}`);
      const response = await options.fetch(current, {
        method,
        headers,
        body,
        redirect: "manual",
        signal: watch.signal,
      });
      const location = response.headers.get("Location");
      if (!REDIRECTS.includes(response.status) || !location) return watch.body(response);
      await response.body?.cancel();
      current = registryUrl(location, current, { ...context, source: "the registry redirected to" });
      if (response.status === 303 || ([301, 302].includes(response.status) && method === "POST")) {
        method = method === "HEAD" ? "HEAD" : "GET";
        body = undefined;
      }
    }
  } catch (error) {
    watch.stop();
    throw watch.failure ?? error;
  }
  watch.stop();
  throw new RegistryError(`Cannot ${options.what}: too many redirects from "${url.href}"`, {
    status: 0,
    registry: options.registry,
  });
}

/**
 * Reads a URL a registry gave (a redirect or upload Location, a Link), relative to `base`. Only http and https
 * URLs are fetched: `file:` or `data:` would be read locally.
 *
 * @param context what is attempted and for which registry, and what gave the URL, for the error
 * @throws {RegistryError} naming the value when it is not a URL or not http or https: at once, since asking
 *   again gets the same answer
 * @example registryUrl("/v2/a/blobs/uploads/1", "https://r.io/v2/", ctx).href // "https://r.io/v2/a/blobs/uploads/1"
 */
export function registryUrl(
  value: string,
  base: string | URL,
  context: { what: string; registry?: string; repository?: string; source: string },
): URL {
  let url: URL | undefined;
  try {
    url = new URL(value, base);
  } catch {
    // not a URL at all: refused below with the same words
  }
  if (url?.protocol === "https:" || url?.protocol === "http:") return url;
  throw new RegistryError(
    `Cannot ${context.what}: ${context.source} "${value}", which is not an http or https URL`,
    {
      status: 0,
      registry: context.registry,
      repository: context.repository,
    },
  );
}

/**
 * The size a response declares: its Content-Length when that is a byte count (a registry's header is data),
 * else undefined.
 *
 * @example contentLength(new Response(null, { headers: { "Content-Length": "12" } })) // 12
 */
export function contentLength(response: Response): number | undefined {
  const header = response.headers.get("Content-Length");
  const size = Number(header);
  return header !== null && Number.isSafeInteger(size) && size >= 0 ? size : undefined;
}

/**
 * One line for a failed fetch: the innermost cause, labelled `TLS` when the handshake or certificate failed.
 *
 * @example describeFetchError(error) // "TLS: invalid peer certificate: UnknownIssuer"
 */
export function describeFetchError(error: unknown): string {
  let inner = error;
  while (inner instanceof Error && inner.cause instanceof Error) inner = inner.cause;
  const message = inner instanceof Error ? inner.message : String(inner);
  const reason = message.replace(/^error sending request\b.*?client error \([A-Za-z]+\):\s*/, "");
  return /certificate|tls|handshake|corrupt message|InvalidContentType/i.test(reason)
    ? `TLS: ${reason}`
    : reason;
}

/** A body's reader: into the caller's buffer (a byte stream, `byob`) or chunk by chunk. */
interface BodySource {
  byob: boolean;
  read(into: Uint8Array<ArrayBuffer>): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(reason: unknown): Promise<void>;
}

function readerOf(body: ReadableStream<Uint8Array>): BodySource {
  let byob: ReadableStreamBYOBReader;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    const reader = body.getReader();
    return { byob: false, read: () => reader.read(), cancel: (reason) => reader.cancel(reason) };
  }
  return {
    byob: true,
    read: (into) => byob.read(into),
    cancel: (reason) => byob.cancel(reason),
  };
}

/** Aborts an exchange after `timeoutMs` of silence while kpm waits for the peer, or when its signal aborts. */
class IdleWatch {
  #controller = new AbortController();
  #timeoutMs: number;
  #options: ExchangeOptions;
  #host: string;
  #last = Date.now();
  #waiting = true;
  #timer?: ReturnType<typeof setTimeout>;
  #onFail?: (error: unknown) => void;
  #onAbort = () => this.#fail(this.#options.signal!.reason);
  /** The error the exchange failed with when it stalled or was aborted. */
  failure?: unknown;

  constructor(options: ExchangeOptions, url: URL) {
    this.#options = options;
    this.#timeoutMs = options.timeoutMs;
    this.#host = url.host;
    options.signal?.throwIfAborted();
    options.signal?.addEventListener("abort", this.#onAbort, { once: true });
    if (this.#timeoutMs > 0) this.#schedule(this.#timeoutMs);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** A byte moved: the silence starts again. */
  touch(): void {
    this.#last = Date.now();
  }

  /** Whether kpm is waiting for the peer (a read is pending); silence counts only then. */
  waiting(value: boolean): void {
    if (value && !this.#waiting) this.#last = Date.now();
    this.#waiting = value;
  }

  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#options.signal?.removeEventListener("abort", this.#onAbort);
  }

  /**
   * The response with its body watched (read on demand, one read at a time). The body stays a byte stream:
   * a BYOB reader's buffer is handed down to fetch's own reader and filled in place, so a download reads into
   * one reused buffer instead of a fresh chunk per read. (A body that is not a byte stream, as a test's fake
   * fetch may give, is read chunk by chunk.)
   */
  body(response: Response): Response {
    if (!response.body || NULL_BODY_STATUSES.includes(response.status)) {
      this.stop();
      return response;
    }
    this.waiting(false);
    const source = readerOf(response.body);
    const stream = new ReadableStream({
      type: "bytes",
      autoAllocateChunkSize: AUTO_CHUNK_SIZE,
      start: (controller) => {
        this.#onFail = (error) => {
          controller.error(error);
          source.cancel(error).catch(() => {});
        };
      },
      pull: async (controller) => {
        const request = controller.byobRequest!;
        this.waiting(true);
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await source.read(request.view as Uint8Array<ArrayBuffer>);
        } catch (error) {
          this.stop();
          controller.error(this.failure ?? error);
          return;
        }
        if (this.failure) return; // already failed by the watch
        this.waiting(false);
        if (chunk.done) {
          this.stop();
          controller.close();
        } else this.touch();
        if (!source.byob) {
          if (chunk.done) request.respond(0);
          else controller.enqueue(chunk.value);
          return;
        }
        // the read took the view's buffer over: give it back with what was read (nothing at the end)
        request.respondWithNewView(chunk.value ?? new Uint8Array(0));
      },
      cancel: (reason) => {
        this.stop();
        return source.cancel(reason);
      },
    }, { highWaterMark: 0 });
    return new Response(stream, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  }

  #schedule(ms: number): void {
    const timer = setTimeout(() => this.#check(), ms);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  #check(): void {
    const silent = Date.now() - this.#last;
    if (!this.#waiting || silent < this.#timeoutMs) {
      this.#schedule(this.#waiting ? this.#timeoutMs - silent : this.#timeoutMs);
      return;
    }
    this.#timer = undefined;
    const seconds = Math.round(this.#timeoutMs / 100) / 10;
    this.#fail(
      new RegistryError(
        `Cannot ${this.#options.what}: "${this.#host}" sent nothing for ${seconds} s; it stalled`,
        { status: 0, code: TIMEOUT_CODE, registry: this.#options.registry, hint: { kind: "timeout" } },
      ),
    );
  }

  #fail(error: unknown): void {
    this.stop();
    this.failure = error;
    this.#controller.abort(error);
    // the abort does not always reach a body read already pending: fail the watched body as well
    this.#onFail?.(error);
  }
}

/** The request body, counting each chunk fetch takes as activity. */
function watchUpload(body: ReadableStream<Uint8Array>, watch: IdleWatch): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      watch.touch();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
}
