/**
 * kpm's embedded OCI registry: the distribution API v1.1 over a folder, with optional accounts (Basic and a
 * Bearer token endpoint). `kpm registry serve`, the demo and the tests start it with `startRegistry`.
 *
 * Routing works on the raw request path (not a normalised URL), so `..`, `%2e`, backslashes and empty
 * segments in a repository name are refused with NAME_INVALID instead of being resolved.
 *
 * @module
 */

import { isValidRepository } from "../oci/reference.ts";
import {
  cancelUpload,
  deleteBlob,
  finishUpload,
  getBlob,
  patchUpload,
  startUpload,
  uploadStatus,
} from "./blob_routes.ts";
import {
  catalog,
  deleteManifest,
  getManifest,
  listReferrers,
  listTags,
  putManifest,
} from "./manifest_routes.ts";
import { type Access, RegistryAuth, type RegistryUser } from "./registry_auth.ts";
import { DistributionError, errorResponse } from "./registry_errors.ts";
import type { RouteContext } from "./registry_http.ts";
import { RegistryStorage } from "./storage.ts";
import { UploadSessions } from "./uploads.ts";

/** Options of startRegistry. */
export interface RegistryOptions {
  /** Address to listen on (default 127.0.0.1). */
  hostname?: string;
  /** Port (default 0: a free port). */
  port?: number;
  /** The storage folder (created when missing); data survives restarts. */
  root: string;
  /** Accounts; with none and no htpasswd, access is anonymous. */
  users?: RegistryUser[];
  /** Path of an htpasswd file with bcrypt entries (`htpasswd -B`). */
  htpasswd?: string;
  /** Receives one line per request. */
  log?: (line: string) => void;
}

/** A running registry. */
export interface RunningRegistry {
  /** The port it listens on. */
  port: number;
  /** `HOST:PORT`, e.g. `127.0.0.1:5000`. */
  host: string;
  /** `http://HOST:PORT`. */
  url: string;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
  /** Stops accepting requests, waits for those in flight and drops unfinished uploads. */
  close(): Promise<void>;
}

const API_VERSION = "registry/2.0";

const ROUTE = new RegExp(
  "^/v2/(.+?)/(?:(blobs/uploads)/?([^/]*)|blobs/([^/]+)|manifests/([^/]+)|(tags/list)|referrers/([^/]+))$",
);

/** The path of the request line as sent, without normalisation, and its query. */
function rawTarget(url: string): { path: string; query: URLSearchParams } {
  const afterScheme = url.indexOf("//") + 2;
  const slash = url.indexOf("/", afterScheme);
  const target = slash < 0 ? "/" : url.slice(slash);
  const question = target.indexOf("?");
  return question < 0
    ? { path: target, query: new URLSearchParams() }
    : { path: target.slice(0, question), query: new URLSearchParams(target.slice(question + 1)) };
}

function repositoryAccess(name: string, method: string): Access {
  if (method === "GET" || method === "HEAD") return { type: "repository", name, actions: ["pull"] };
  if (method === "DELETE") return { type: "repository", name, actions: ["delete"] };
  return { type: "repository", name, actions: ["pull", "push"] };
}

/**
 * Starts the registry.
 *
 * @param options where to listen, the storage folder, accounts and a request log
 * @returns the running registry (`host`, `url`, `close`)
 * @throws {Error} when the folder cannot be created, the htpasswd file is invalid, or the port is taken
 * @example
 * const registry = await startRegistry({ root: "./registry-data", users: [{ username: "test", password: "1234" }] });
 * console.log(registry.url); // http://127.0.0.1:40123
 * await registry.close();
 */
export async function startRegistry(options: RegistryOptions): Promise<RunningRegistry> {
  const storage = new RegistryStorage(options.root);
  await storage.init();
  const uploads = new UploadSessions(storage);
  const auth = await RegistryAuth.create({ users: options.users, htpasswd: options.htpasswd });
  const log = options.log;

  const handle = async (request: Request): Promise<Response> => {
    const { path, query } = rawTarget(request.url);
    const method = request.method;
    const head = method === "HEAD";
    // Behind a TLS-terminating proxy the token endpoint is reached over https.
    const scheme = request.headers.get("X-Forwarded-Proto") === "https" ? "https" : "http";
    const realm = `${scheme}://${request.headers.get("Host") ?? "localhost"}/token`;
    const check = async (needed: Access[]) => {
      if (auth) await auth.authorize(request.headers.get("Authorization"), { needed, realm });
    };
    if (path === "/token" && auth) return await auth.token(request);
    if (path === "/v2" || path === "/v2/") {
      await check([]);
      return head ? new Response(null, { status: 200 }) : Response.json({});
    }
    if (path === "/v2/_catalog") {
      await check([{ type: "registry", name: "catalog", actions: ["*"] }]);
      if (method !== "GET") throw unsupported(method, path);
      return await catalog(storage, query);
    }
    const match = ROUTE.exec(path);
    if (!match) {
      if (path.startsWith("/v2/")) {
        throw new DistributionError("NAME_INVALID", `Invalid repository name or route "${path}"`, {
          status: path.includes("/blobs/") || path.includes("/manifests/") ? 400 : 404,
        });
      }
      throw new DistributionError("UNSUPPORTED", `No route "${path}"`, { status: 404 });
    }
    const name = match[1]!;
    if (!isValidRepository(name)) {
      throw new DistributionError("NAME_INVALID", `Invalid repository name "${name}"`, { detail: { name } });
    }
    await check([repositoryAccess(name, method)]);
    const ctx: RouteContext = {
      request,
      name,
      query,
      storage,
      uploads,
      authorizeAlso: (other, actions) => check([{ type: "repository", name: other, actions }]),
    };
    const [, , uploadsPart, uploadId, blob, manifest, tags, referrers] = match;
    if (uploadsPart) {
      if (!uploadId) {
        if (method === "POST") return await startUpload(ctx);
      } else if (method === "PATCH") return await patchUpload(ctx, uploadId);
      else if (method === "PUT") return await finishUpload(ctx, uploadId);
      else if (method === "GET") return await uploadStatus(ctx, uploadId);
      else if (method === "DELETE") return await cancelUpload(ctx, uploadId);
    } else if (blob) {
      if (method === "GET" || head) return await getBlob(ctx, blob, head);
      if (method === "DELETE") return await deleteBlob(ctx, blob);
    } else if (manifest) {
      if (method === "GET" || head) return await getManifest(ctx, manifest, head);
      if (method === "PUT") return await putManifest(ctx, manifest);
      if (method === "DELETE") return await deleteManifest(ctx, manifest);
    } else if (tags) {
      if (method === "GET") return await listTags(ctx);
    } else if (referrers) {
      if (method === "GET") return await listReferrers(ctx, referrers);
    }
    throw unsupported(method, path);
  };

  const server = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    onListen() {},
  }, async (request, info) => {
    const started = performance.now();
    let response: Response;
    try {
      response = await handle(request);
    } catch (error) {
      if (!(error instanceof DistributionError)) {
        log?.(`error: ${request.method} ${rawTarget(request.url).path}: ${(error as Error).message}`);
      }
      const refusal = error instanceof DistributionError ? error : new DistributionError(
        "UNKNOWN",
        `Cannot ${request.method} "${rawTarget(request.url).path}": ${(error as Error).message}`,
      );
      await request.body?.cancel().catch(() => {});
      response = errorResponse(refusal, request.method === "HEAD");
    }
    response.headers.set("Docker-Distribution-API-Version", API_VERSION);
    if (log) {
      const ms = (performance.now() - started).toFixed(1);
      const from = "hostname" in info.remoteAddr ? info.remoteAddr.hostname : "-";
      log(`${from} ${request.method} ${rawTarget(request.url).path} ${response.status} ${ms}ms`);
    }
    return response;
  });

  const hostname = server.addr.hostname;
  const display = hostname.includes(":") ? `[${hostname}]` : hostname;
  const host = `${
    display === "0.0.0.0" ? "127.0.0.1" : display === "[::]" ? "[::1]" : display
  }:${server.addr.port}`;
  let closing: Promise<void> | undefined;
  return {
    port: server.addr.port,
    host,
    url: `http://${host}`,
    finished: server.finished,
    close() {
      closing ??= (async () => {
        await server.shutdown();
        await uploads.cancelAll();
      })();
      return closing;
    },
  };
}

function unsupported(method: string, path: string): DistributionError {
  return new DistributionError("UNSUPPORTED", `Cannot ${method} "${path}"`, { status: 405 });
}
