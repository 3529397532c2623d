/**
 * What the embedded registry's route handlers share: the request context, digest parameters, capped bodies
 * and streamed file responses.
 *
 * @module
 */

import { type Digest, parseDigest } from "../oci/digest.ts";
import { BodyTooLargeError, readCapped } from "../oci/read_capped.ts";
import { type DistributionCode, DistributionError } from "./registry_errors.ts";
import type { ProxyCache } from "./proxy_cache.ts";
import type { ServerStorage } from "./storage.ts";
import type { UploadSessions } from "./uploads.ts";

/** One request as a route handler sees it. */
export interface RouteContext {
  request: Request;
  /** The repository name, already validated. */
  name: string;
  /** Who asks: `account "NAME"`, or `address IP` for an anonymous caller (upload sessions count by it). */
  client: string;
  /** The query string's parameters. */
  query: URLSearchParams;
  storage: ServerStorage;
  uploads: UploadSessions;
  /** Counts request body bytes a route read itself (a manifest), for metrics. */
  received(bytes: number): void;
  /** In pull-through cache mode: fetches what the storage lacks from the upstream. */
  proxy?: ProxyCache;
  /** Checks that the request may also do `actions` on another repository (a mount's source). */
  authorizeAlso(name: string, actions: string[]): Promise<void>;
}

/** Bytes read from disk per read when serving a blob. */
const READ_BYTES = 1024 * 1024;

/**
 * Parses a digest from a path or query parameter.
 *
 * @throws {DistributionError} DIGEST_INVALID when it is not a supported digest
 */
export function digestParam(value: string | null, where: string): Digest {
  try {
    return parseDigest(value ?? "");
  } catch {
    throw new DistributionError("DIGEST_INVALID", `Invalid digest "${value ?? ""}" in ${where}`);
  }
}

/**
 * Reads a request body of at most `limit` bytes.
 *
 * @param options `limit` in bytes, `what` names the body in the error (e.g. `a manifest in "x/y"`), `code` of
 *   a body over the limit (default MANIFEST_INVALID)
 * @throws {DistributionError} `code` with status 413 when the body is longer
 */
export async function readBodyCapped(
  request: Request,
  options: { limit: number; what: string; code?: DistributionCode },
): Promise<Uint8Array> {
  const { limit, what, code = "MANIFEST_INVALID" } = options;
  try {
    return await readCapped(request, { limit, what });
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw new DistributionError(code, error.message, { status: 413 });
    throw error;
  }
}

/**
 * A stream of `range.length` bytes of a file from `range.start`, read in 1 MiB pieces; closes the file at the
 * end or when the reader cancels.
 */
export function fileStream(
  file: Deno.FsFile,
  range: { start: number; length: number },
): ReadableStream<Uint8Array> {
  const { start, length } = range;
  let left = length;
  let positioned = start === 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (!positioned) {
          await file.seek(start, Deno.SeekMode.Start);
          positioned = true;
        }
        if (left <= 0) {
          file.close();
          controller.close();
          return;
        }
        const buffer = new Uint8Array(Math.min(READ_BYTES, left));
        const read = await file.read(buffer);
        if (read === null) {
          file.close();
          controller.error(new Error("file ended early"));
          return;
        }
        left -= read;
        controller.enqueue(read === buffer.byteLength ? buffer : buffer.subarray(0, read));
      } catch (error) {
        try {
          file.close();
        } catch { /* already closed */ }
        controller.error(error);
      }
    },
    cancel() {
      try {
        file.close();
      } catch { /* already closed */ }
    },
  }, { highWaterMark: 2 });
}

/**
 * Parses a `Range: bytes=a-b` (or `bytes=a-`, `bytes=-n`) request header against a size.
 *
 * @returns the first byte and the length, or undefined when there is no Range header
 * @throws {DistributionError} RANGE_INVALID (416) when it is malformed or not satisfiable
 */
export function parseRange(
  header: string | null,
  size: number,
): { start: number; length: number } | undefined {
  if (header === null) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  const invalid = () =>
    new DistributionError("RANGE_INVALID", `Cannot serve range "${header}" of a ${size} byte blob`, {
      status: 416,
      headers: { "Content-Range": `bytes */${size}` },
    });
  if (!match || (match[1] === "" && match[2] === "")) throw invalid();
  let start: number;
  let end: number;
  if (match[1] === "") {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || end < start) throw invalid();
  return { start, length: end - start + 1 };
}
