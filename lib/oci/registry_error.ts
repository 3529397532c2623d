/**
 * RegistryError: one readable line for whatever a registry answered, with its code, status and repository.
 *
 * @module
 */

import { HintedError, type RegistryHint } from "./hint.ts";
import { readCapped } from "./read_capped.ts";

/** The most bytes read from an error response body. */
export const MAX_ERROR_BODY = 64 * 1024;

/** A failed registry operation. */
export class RegistryError extends HintedError<RegistryHint> {
  /** The error's class name. */
  override name = "RegistryError";
  /** HTTP status, or 0 when no answer came. */
  readonly status: number;
  /** The registry's first error code (e.g. `UNAUTHORIZED`, `MANIFEST_UNKNOWN`), if any. */
  readonly code?: string;
  /** The registry the operation was for. */
  readonly registry?: string;
  /** The repository the operation was for. */
  readonly repository?: string;
  /** The registry answered 404: what was asked for is not there (see `isNotFound` of lib/oci/store.ts). */
  readonly notFound: boolean;

  /**
   * Makes the error.
   *
   * @param message the one-line message
   * @param details status, code, registry, repository, and what the user can do about it
   */
  constructor(
    message: string,
    details: {
      status: number;
      code?: string;
      registry?: string;
      repository?: string;
      cause?: unknown;
      hint?: RegistryHint;
    },
  ) {
    super(message, { cause: details.cause, hint: details.hint });
    this.status = details.status;
    this.code = details.code;
    this.registry = details.registry;
    this.repository = details.repository;
    this.notFound = details.status === 404;
  }
}

/**
 * Builds the RegistryError for an unexpected response, reading the spec's `{"errors":[…]}` body when present.
 *
 * @param response the response (its body is consumed, at most MAX_ERROR_BODY bytes)
 * @param what what was attempted, e.g. `push blob "sha256:…" to "ghcr.io/x/y"`
 * @param context registry and repository, for the error's fields and the login hint
 * @example `Cannot push blob "sha256:…" to "ghcr.io/x/y": registry answered 401 UNAUTHORIZED: authentication required`
 */
export async function errorFromResponse(
  response: Response,
  what: string,
  context: { registry?: string; repository?: string } = {},
): Promise<RegistryError> {
  const text = new TextDecoder().decode(await readCapped(response, { limit: MAX_ERROR_BODY, truncate: true }))
    .trim();
  let code: string | undefined;
  let detail = "";
  try {
    const parsed = JSON.parse(text) as { errors?: { code?: string; message?: string; detail?: unknown }[] };
    const first = parsed.errors?.[0];
    if (first) {
      code = first.code;
      const extra = first.detail && typeof first.detail === "string" ? ` (${first.detail})` : "";
      detail = `${first.message ?? ""}${extra}`;
    }
  } catch {
    detail = text.split("\n")[0]?.slice(0, 200) ?? "";
  }
  const answered = `registry answered ${response.status}${
    code ? ` ${code}` : ` ${response.statusText}`.trimEnd()
  }`;
  const message = `Cannot ${what}: ${answered}${detail ? `: ${detail}` : ""}`;
  const hint = hintFor(response.status, code, context.registry);
  return new RegistryError(message, { status: response.status, code, ...context, hint });
}

function hintFor(status: number, code: string | undefined, registry?: string): RegistryHint | undefined {
  if (status === 401 || code === "UNAUTHORIZED") {
    return registry ? { kind: "login", registry } : { kind: "login" };
  }
  if (status === 403 || code === "DENIED") return { kind: "access" };
  if (code === "NAME_UNKNOWN" || code === "MANIFEST_UNKNOWN") return { kind: "reference" };
  return undefined;
}
