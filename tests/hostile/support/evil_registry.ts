/**
 * A small in-memory OCI registry on 127.0.0.1 that the hostile tests turn against kpm: every request is
 * recorded (with its Authorization header), a `trick` answers any request before the honest handlers do, auth
 * can be Basic or Bearer (its own /token endpoint, whose tokens a `restart()` invalidates), and the referrers
 * API can be switched off. A second server, `startSink`, stands for a third-party origin and records what it
 * receives.
 *
 * @module
 */

import { digestOf } from "../../../lib/oci/digest.ts";
import { concat } from "../../oci_fake.ts";

/** One request the server saw. */
export interface Seen {
  method: string;
  /** Path and query. */
  url: string;
  authorization: string | null;
}

/** Options of the evil registry. */
export interface EvilOptions {
  /** Answers a request before the honest handlers; undefined lets them answer. */
  trick?: (request: Request, url: URL) => Response | undefined | Promise<Response | undefined>;
  /** `basic`: user test / 1234; `bearer`: tokens from this server's /token (Basic test:1234 or anonymous). */
  auth?: "basic" | "bearer";
  /** Serve the referrers API (default true). */
  referrers?: boolean;
  /** TLS certificate and key (PEM): serve https. */
  tls?: { cert: string; key: string };
}

/** A running evil registry. */
export interface EvilRegistry {
  /** `127.0.0.1:PORT`. */
  host: string;
  /** `http://127.0.0.1:PORT` (or https). */
  origin: string;
  seen: Seen[];
  /** Manifests by tag and digest: `repository` → reference → { bytes, mediaType }. */
  manifests: Map<string, Map<string, { bytes: Uint8Array; mediaType: string }>>;
  /** Tokens issued so far. */
  tokens: number;
  /** Forgets every token issued (a registry restarted with a new signing key). */
  restart(): void;
  /** An answer that never comes: it settles only when the client hangs up or the registry closes. */
  silence(request: Request): Promise<Response>;
  close(): Promise<void>;
}

const USER = "test";
const PASS = "1234";

/** Starts the evil registry. */
export function startEvilRegistry(options: EvilOptions = {}): EvilRegistry {
  const blobs = new Map<string, Uint8Array>();
  const uploads = new Map<string, Uint8Array[]>();
  const manifests = new Map<string, Map<string, { bytes: Uint8Array; mediaType: string }>>();
  const seen: Seen[] = [];
  let generation = 0;
  let nextUpload = 0;
  const self = {} as EvilRegistry;
  const issued = new Set<string>();
  const closing = new AbortController();

  const authorized = (request: Request): boolean => {
    const header = request.headers.get("Authorization") ?? "";
    if (options.auth === "basic") return header === `Basic ${btoa(`${USER}:${PASS}`)}`;
    if (options.auth === "bearer") return issued.has(header.replace(/^Bearer /, ""));
    return true;
  };
  const challenge = () =>
    new Response(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }), {
      status: 401,
      headers: {
        "WWW-Authenticate": options.auth === "basic"
          ? 'Basic realm="evil"'
          : `Bearer realm="${self.origin}/token",service="evil"`,
      },
    });

  const handler = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    seen.push({
      method: request.method,
      url: url.pathname + url.search,
      authorization: request.headers.get("Authorization"),
    });
    const tricked = await options.trick?.(request, url);
    if (tricked) return tricked;
    if (url.pathname === "/token") {
      self.tokens++;
      const token = `gen${generation}-${crypto.randomUUID()}`;
      issued.add(token);
      return Response.json({ token, expires_in: 300 });
    }
    if (!authorized(request)) {
      await request.body?.cancel();
      return challenge();
    }
    if (url.pathname === "/v2/") return Response.json({});
    return await honest(request, url);
  };

  const honest = async (request: Request, url: URL): Promise<Response> => {
    let match: RegExpExecArray | null;
    if ((match = /^\/v2\/(.+)\/blobs\/uploads\/(\d*)$/.exec(url.pathname))) {
      const [, repo, id] = match;
      if (request.method === "POST") {
        const upload = String(nextUpload++);
        uploads.set(upload, []);
        return new Response(null, {
          status: 202,
          headers: { Location: `/v2/${repo}/blobs/uploads/${upload}` },
        });
      }
      const parts = uploads.get(id!);
      if (!parts) return new Response(null, { status: 404 });
      parts.push(new Uint8Array(await request.arrayBuffer()));
      if (request.method === "PATCH") {
        return new Response(null, { status: 202, headers: { Location: `/v2/${repo}/blobs/uploads/${id}` } });
      }
      const bytes = concat(parts);
      const digest = digestOf(bytes);
      if (digest !== url.searchParams.get("digest")) return new Response(null, { status: 400 });
      blobs.set(digest, bytes);
      return new Response(null, { status: 201, headers: { "Docker-Content-Digest": digest } });
    }
    if ((match = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(url.pathname))) {
      const bytes = blobs.get(match[2]!);
      if (!bytes) return new Response(null, { status: 404 });
      const range = /^bytes=(\d+)-$/.exec(request.headers.get("Range") ?? "");
      const from = range ? Number(range[1]) : 0;
      return new Response(request.method === "HEAD" ? null : bytes.slice(from), {
        status: range ? 206 : 200,
        headers: { "Content-Length": String(bytes.byteLength - from), "Docker-Content-Digest": match[2]! },
      });
    }
    if ((match = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname))) {
      return await manifest(request, match[1]!, match[2]!);
    }
    if ((match = /^\/v2\/(.+)\/referrers\/(sha256:[0-9a-f]{64})$/.exec(url.pathname))) {
      if (options.referrers === false) return new Response(null, { status: 404 });
      return referrers(match[1]!, match[2]!);
    }
    if ((match = /^\/v2\/(.+)\/tags\/list$/.exec(url.pathname))) {
      const tags = [...(manifests.get(match[1]!)?.keys() ?? [])].filter((t) => !t.startsWith("sha256:"));
      return Response.json({ name: match[1], tags: tags.sort() });
    }
    return new Response(null, { status: 404 });
  };

  const manifest = async (request: Request, repo: string, reference: string): Promise<Response> => {
    const stored = manifests.get(repo) ?? new Map();
    manifests.set(repo, stored);
    if (request.method === "PUT") {
      const bytes = new Uint8Array(await request.arrayBuffer());
      const entry = { bytes, mediaType: request.headers.get("Content-Type") ?? "" };
      const digest = digestOf(bytes);
      stored.set(digest, entry);
      stored.set(reference, entry);
      return new Response(null, { status: 201, headers: { "Docker-Content-Digest": digest } });
    }
    const entry = stored.get(reference);
    if (!entry) return new Response(null, { status: 404 });
    return new Response(request.method === "HEAD" ? null : entry.bytes, {
      headers: {
        "Content-Type": entry.mediaType,
        "Content-Length": String(entry.bytes.byteLength),
        "Docker-Content-Digest": digestOf(entry.bytes),
      },
    });
  };

  const referrers = (repo: string, subject: string): Response => {
    const found = [];
    for (const [reference, entry] of manifests.get(repo) ?? []) {
      if (!reference.startsWith("sha256:")) continue;
      const parsed = JSON.parse(new TextDecoder().decode(entry.bytes));
      if (parsed.subject?.digest !== subject) continue;
      found.push({
        mediaType: entry.mediaType,
        digest: reference,
        size: entry.bytes.byteLength,
        artifactType: parsed.artifactType ?? parsed.config?.mediaType,
      });
    }
    return new Response(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: found,
      }),
      { headers: { "Content-Type": "application/vnd.oci.image.index.v1+json" } },
    );
  };

  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
    ...(options.tls && { cert: options.tls.cert, key: options.tls.key }),
  }, handler);
  const host = `127.0.0.1:${server.addr.port}`;
  Object.assign(self, {
    host,
    origin: `${options.tls ? "https" : "http"}://${host}`,
    seen,
    manifests,
    tokens: 0,
    restart: () => {
      issued.clear();
      generation++;
    },
    silence: (request: Request) =>
      new Promise<Response>((resolve) => {
        const hangUp = () => resolve(new Response(null, { status: 499 }));
        request.signal.addEventListener("abort", hangUp, { once: true });
        closing.signal.addEventListener("abort", hangUp, { once: true });
      }),
    close: () => {
      closing.abort();
      return server.shutdown();
    },
  });
  return self;
}

/** A third-party origin: answers every request with `answer` (default 202) and records it. */
export function startSink(
  answer: (request: Request) => Response = () => new Response(null, { status: 202 }),
): { origin: string; seen: Seen[]; close(): Promise<void> } {
  const seen: Seen[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const url = new URL(request.url);
    seen.push({
      method: request.method,
      url: url.pathname + url.search,
      authorization: request.headers.get("Authorization"),
    });
    await request.body?.cancel();
    return answer(request);
  });
  return { origin: `http://127.0.0.1:${server.addr.port}`, seen, close: () => server.shutdown() };
}
