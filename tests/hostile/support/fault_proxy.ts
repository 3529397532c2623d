/**
 * A fault-injecting HTTP proxy on 127.0.0.1 in front of a real registry: requests are forwarded unchanged
 * (headers, body, status), except that a response the `fault` rule picks sends its first `stallAfter` bytes
 * and then nothing more, until the client hangs up. Every request is recorded with its Range header.
 *
 * @module
 */

/** One request the proxy forwarded. */
export interface ProxiedRequest {
  method: string;
  /** Path and query. */
  url: string;
  range: string | null;
}

/** A running fault proxy. */
export interface FaultProxy {
  /** `127.0.0.1:PORT`, the registry name clients use. */
  host: string;
  seen: ProxiedRequest[];
  /** Picks the responses to stall: bytes sent before the stall, or undefined to pass the response through. */
  fault?: (request: Request) => { stallAfter: number } | undefined;
  close(): Promise<void>;
}

/** Starts a proxy to `upstream` (`http://127.0.0.1:PORT`). */
export function startFaultProxy(upstream: string): FaultProxy {
  const seen: ProxiedRequest[] = [];
  const proxy: FaultProxy = { host: "", seen, close: () => Promise.resolve() };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const url = new URL(request.url);
    seen.push({
      method: request.method,
      url: url.pathname + url.search,
      range: request.headers.get("Range"),
    });
    const headers = new Headers(request.headers);
    headers.delete("Host");
    const answer = await fetch(new URL(url.pathname + url.search, upstream), {
      method: request.method,
      headers,
      body: request.body,
      redirect: "manual",
    });
    const fault = proxy.fault?.(request);
    const body = fault && answer.body
      ? stallAfter(answer.body, fault.stallAfter, request.signal)
      : answer.body;
    return new Response(body, {
      status: answer.status,
      statusText: answer.statusText,
      headers: answer.headers,
    });
  });
  proxy.host = `127.0.0.1:${server.addr.port}`;
  proxy.close = () => server.shutdown();
  return proxy;
}

/** The body's first `limit` bytes, then silence until `hangUp` fires (the upstream body is cancelled). */
function stallAfter(
  body: ReadableStream<Uint8Array>,
  limit: number,
  hangUp: AbortSignal,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent >= limit) {
        await reader.cancel();
        await new Promise((resolve) => hangUp.addEventListener("abort", resolve, { once: true }));
        controller.close();
        return;
      }
      const { done, value } = await reader.read();
      if (done) return controller.close();
      const part = value.subarray(0, limit - sent);
      sent += part.byteLength;
      controller.enqueue(part);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}
