/**
 * A scriptable fake registry for the OCI client tests: Deno.serve on 127.0.0.1, port 0. Each route has a name;
 * every request is counted by route name and recorded; a request no route expects is answered 599 and recorded
 * in `unexpected`, which `close()` turns into a failure.
 *
 * @module
 */

import { RegistryClient, type RegistryClientOptions } from "../lib/oci/client.ts";

/** One request the fake saw. */
export interface SeenRequest {
  route: string;
  method: string;
  /** Path and query. */
  url: string;
  headers: Headers;
  body: Uint8Array;
}

/** A route: method, path pattern (matched against pathname), and a handler. */
export interface Route {
  name: string;
  method: string;
  path: RegExp;
  handle: (request: Request, match: RegExpExecArray, seen: SeenRequest) => Response | Promise<Response>;
  /** Read the body before calling handle (default: for PUT/PATCH/POST). */
  readBody?: boolean;
}

/** A running fake registry. */
export interface Fake {
  /** `127.0.0.1:PORT`, a loopback registry name. */
  host: string;
  /** `http://127.0.0.1:PORT`. */
  origin: string;
  /** Requests per route name. */
  counts: Record<string, number>;
  requests: SeenRequest[];
  unexpected: string[];
  /** Requests of one route. */
  seen(route: string): SeenRequest[];
  /** Stops the server and throws when a request was unexpected. */
  close(): Promise<void>;
}

/**
 * Starts a fake registry answering only `routes`.
 *
 * @example const fake = startFake([{ name: "ping", method: "GET", path: /^\/v2\/$/, handle: () => new Response("{}") }]);
 */
export function startFake(routes: Route[]): Fake {
  const counts: Record<string, number> = {};
  const requests: SeenRequest[] = [];
  const unexpected: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const url = new URL(request.url);
    for (const route of routes) {
      if (route.method !== request.method) continue;
      const match = route.path.exec(url.pathname);
      if (!match) continue;
      const read = route.readBody ?? ["PUT", "PATCH", "POST"].includes(request.method);
      const body = read ? new Uint8Array(await request.arrayBuffer()) : new Uint8Array();
      const seen = {
        route: route.name,
        method: request.method,
        url: url.pathname + url.search,
        headers: request.headers,
        body,
      };
      counts[route.name] = (counts[route.name] ?? 0) + 1;
      requests.push(seen);
      return await route.handle(request, match, seen);
    }
    unexpected.push(`${request.method} ${url.pathname}${url.search}`);
    await request.body?.cancel();
    return new Response("unexpected route", { status: 599 });
  });
  const port = server.addr.port;
  return {
    host: `127.0.0.1:${port}`,
    origin: `http://127.0.0.1:${port}`,
    counts,
    requests,
    unexpected,
    seen: (route) => requests.filter((r) => r.route === route),
    async close() {
      await server.shutdown();
      if (unexpected.length) {
        throw new Error(`the fake registry got unexpected requests: ${unexpected.join(", ")}`);
      }
    },
  };
}

/** A client for fake registries: no waiting between retries (the waits are recorded). */
export function fakeClient(
  options: RegistryClientOptions = {},
): { client: RegistryClient; sleeps: number[] } {
  const sleeps: number[] = [];
  const client = new RegistryClient({
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    ...options,
  });
  return { client, sleeps };
}

/** The 401 answer of a registry using token auth. */
export function bearerChallenge(realm: string, service = "fake", scope?: string): Response {
  const params = [`realm="${realm}"`, `service="${service}"`, ...(scope ? [`scope="${scope}"`] : [])];
  return new Response(
    JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }),
    {
      status: 401,
      headers: { "WWW-Authenticate": `Bearer ${params.join(",")}`, "Content-Type": "application/json" },
    },
  );
}

/** Random bytes of a given size. */
export function randomBytes(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  for (let offset = 0; offset < size; offset += 65536) {
    crypto.getRandomValues(bytes.subarray(offset, Math.min(size, offset + 65536)));
  }
  return bytes;
}

/** Concatenates byte arrays. */
export function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
