/**
 * The embedded registry's router: from a request's raw path and method to a route handler, after the access
 * check. Routing works on the raw request path (not a normalised URL), so `..`, `%2e`, backslashes and empty
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
import type { ProxyCache } from "./proxy_cache.ts";
import type { Access, Caller, RegistryAuth } from "./registry_auth.ts";
import { DistributionError } from "./registry_errors.ts";
import type { RouteContext } from "./registry_http.ts";
import type { ServerStorage } from "./storage.ts";
import type { UploadSessions } from "./uploads.ts";

/** What the router works with. */
export interface RouterDeps {
  storage: ServerStorage;
  uploads: UploadSessions;
  /** Undefined: anyone may do anything. */
  auth?: RegistryAuth;
  /** Whether deletes of manifests, tags and blobs are allowed. */
  delete: boolean;
  /** The scheme clients reach the server with (`https` with TLS), for the token realm. */
  scheme: "http" | "https";
  /** Pull-through cache mode: reads fall back to the upstream, writes are refused. */
  proxy?: ProxyCache;
  /** Counts manifest bytes received (uploads count their own). */
  received?: (bytes: number) => void;
}

const ROUTE = new RegExp(
  "^/v2/(.+?)/(?:(blobs/uploads)/?([^/]*)|blobs/([^/]+)|manifests/([^/]+)|(tags/list)|referrers/([^/]+))$",
);

/** The path of the request line as sent, without normalisation, and its query. */
export function rawTarget(url: string): { path: string; query: URLSearchParams } {
  const afterScheme = url.indexOf("//") + 2;
  const slash = url.indexOf("/", afterScheme);
  const target = slash < 0 ? "/" : url.slice(slash);
  const question = target.indexOf("?");
  return question < 0
    ? { path: target, query: new URLSearchParams() }
    : { path: target.slice(0, question), query: new URLSearchParams(target.slice(question + 1)) };
}

/**
 * The route a path belongs to, as metrics label it: `base`, `catalog`, `token`, `metrics`, `blob`, `upload`,
 * `manifest`, `tags`, `referrers` or `other`.
 */
export function routeLabel(path: string): string {
  if (path === "/v2" || path === "/v2/") return "base";
  if (path === "/v2/_catalog") return "catalog";
  if (path === "/token" || path === "/metrics") return path.slice(1);
  const match = ROUTE.exec(path);
  if (!match) return "other";
  const labels = ["upload", "upload", "blob", "manifest", "tags", "referrers"];
  return labels[match.slice(2).findIndex((part) => part !== undefined)] ?? "other";
}

function repositoryAccess(name: string, method: string): Access {
  if (method === "GET" || method === "HEAD") return { type: "repository", name, actions: ["pull"] };
  if (method === "DELETE") return { type: "repository", name, actions: ["delete"] };
  return { type: "repository", name, actions: ["pull", "push"] };
}

function unsupported(method: string, path: string): DistributionError {
  return new DistributionError("UNSUPPORTED", `Cannot ${method} "${path}"`, { status: 405 });
}

/** Refuses what the server's mode forbids: deletes without `--delete`, writes to a pull-through cache. */
function checkMode(deps: RouterDeps, method: string, uploadsPart: boolean, path: string): void {
  const write = method === "PUT" || method === "POST" || method === "PATCH" || method === "DELETE";
  if (deps.proxy && write) {
    throw new DistributionError(
      "UNSUPPORTED",
      `Cannot ${method} "${path}": this registry is a read-only pull-through cache`,
      { status: 405 },
    );
  }
  if (method === "DELETE" && !uploadsPart && !deps.delete) {
    throw new DistributionError(
      "UNSUPPORTED",
      `Cannot ${method} "${path}": deletes are disabled (start the registry with --delete)`,
      { status: 405 },
    );
  }
}

/**
 * Answers one request of the distribution API (and the token endpoint).
 *
 * @param request the request
 * @param deps what the router works with; `seen` is who made the request: `remote`, the client's address
 *   (given), and `caller`, the account the request authenticated as (filled in, for the access log)
 * @throws {DistributionError} for every refusal; the caller turns it into the spec's JSON answer
 */
export async function route(
  request: Request,
  deps: RouterDeps,
  seen: { remote?: string; caller?: string } = {},
): Promise<Response> {
  const { path, query } = rawTarget(request.url);
  const { auth, storage } = deps;
  const method = request.method;
  const head = method === "HEAD";
  // Behind a TLS-terminating proxy the token endpoint is reached over https.
  const scheme = request.headers.get("X-Forwarded-Proto") === "https" ? "https" : deps.scheme;
  // The request URL's host is the Host header (HTTP/1.1) or the :authority (HTTP/2).
  const realm = `${scheme}://${new URL(request.url).host}/token`;
  const check = async (needed: Access[]): Promise<Caller> => {
    if (!auth) return undefined;
    return await auth.authorize(request.headers.get("Authorization"), { needed, realm, seen });
  };
  if (path === "/token" && auth) return await auth.token(request);
  if (path === "/v2" || path === "/v2/") {
    await check([]);
    return head ? new Response(null, { status: 200 }) : Response.json({});
  }
  if (path === "/v2/_catalog") {
    const caller = await check([{ type: "registry", name: "catalog", actions: ["*"] }]);
    if (method !== "GET") throw unsupported(method, path);
    const visible = (name: string) =>
      !auth || auth.permits(caller, { type: "repository", name, actions: ["pull"] });
    return await catalog(storage, { query, visible });
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
  const caller = await check([repositoryAccess(name, method)]);
  checkMode(deps, method, match[2] !== undefined, path);
  const ctx: RouteContext = {
    request,
    name,
    client: caller !== undefined ? `account "${caller}"` : `address ${seen.remote ?? "unknown"}`,
    query,
    storage,
    uploads: deps.uploads,
    proxy: deps.proxy,
    received: (bytes) => deps.received?.(bytes),
    authorizeAlso: async (other, actions) => {
      await check([{ type: "repository", name: other, actions }]);
    },
  };
  return await dispatch(ctx, match, path);
}

async function dispatch(ctx: RouteContext, match: RegExpExecArray, path: string): Promise<Response> {
  const method = ctx.request.method;
  const head = method === "HEAD";
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
}
