/**
 * The embedded registry's errors: the distribution spec's error codes, their HTTP statuses, and the JSON body
 * `{"errors":[{"code","message","detail"}]}` every failed request answers with.
 *
 * @module
 */

/**
 * The error codes of the OCI distribution spec, and distribution's `UNKNOWN` (an internal failure) and
 * `UNAVAILABLE` (shutting down).
 */
export type DistributionCode =
  | "BLOB_UNKNOWN"
  | "BLOB_UPLOAD_INVALID"
  | "BLOB_UPLOAD_UNKNOWN"
  | "DIGEST_INVALID"
  | "MANIFEST_BLOB_UNKNOWN"
  | "MANIFEST_INVALID"
  | "MANIFEST_UNKNOWN"
  | "NAME_INVALID"
  | "NAME_UNKNOWN"
  | "SIZE_INVALID"
  | "UNAUTHORIZED"
  | "DENIED"
  | "UNSUPPORTED"
  | "TAG_INVALID"
  | "RANGE_INVALID"
  | "TOOMANYREQUESTS"
  | "UNAVAILABLE"
  | "UNKNOWN";

/** The status each code answers with unless a route says otherwise. */
const STATUS: Record<DistributionCode, number> = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TAG_INVALID: 400,
  RANGE_INVALID: 416,
  TOOMANYREQUESTS: 429,
  UNAVAILABLE: 503,
  UNKNOWN: 500,
};

/**
 * A request the registry refuses: thrown anywhere below the router, turned into the spec's JSON answer.
 *
 * @example throw new DistributionError("BLOB_UNKNOWN", `Cannot find blob "sha256:…" in "x/y"`)
 */
export class DistributionError extends Error {
  override name = "DistributionError";
  /** The spec's error code. */
  readonly code: DistributionCode;
  /** The HTTP status of the answer. */
  readonly status: number;
  /** Machine-readable detail (the spec's `detail` field). */
  readonly detail: unknown;
  /** Extra response headers (e.g. `Range` on a 416, `WWW-Authenticate` on a 401). */
  readonly headers: Record<string, string>;

  /**
   * @param code the spec's error code
   * @param message one line naming what and where
   * @param options `status` (default: the code's usual status), `detail`, `headers`
   */
  constructor(
    code: DistributionCode,
    message: string,
    options: { status?: number; detail?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.code = code;
    this.status = options.status ?? STATUS[code];
    this.detail = options.detail;
    this.headers = options.headers ?? {};
  }
}

/**
 * The JSON answer for an error (a body-less one for HEAD requests, as the spec asks).
 *
 * @param error the refusal
 * @param head true for a HEAD request
 * @returns the response, with `Docker-Distribution-API-Version` set by the caller
 */
export function errorResponse(error: DistributionError, head = false): Response {
  const body = JSON.stringify({
    errors: [{ code: error.code, message: error.message, detail: error.detail ?? null }],
  });
  const headers = new Headers(error.headers);
  headers.set("Content-Type", "application/json; charset=utf-8");
  if (head) headers.set("Content-Length", String(new TextEncoder().encode(body).byteLength));
  return new Response(head ? null : body, { status: error.status, headers });
}
