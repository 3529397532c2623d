/**
 * Paginated listings of a registry (tags, the catalog, referrers): the `Link: <url>; rel="next"` pages, read
 * with bounds on pages, entries and bytes, so that a registry that always sends another page cannot keep kpm
 * busy or fill its memory.
 *
 * @module
 */

import type { RegistryClient } from "./client.ts";
import { readCapped } from "./read_capped.ts";
import { RegistryError } from "./registry_error.ts";

/** The most pages kpm follows in one listing (tags, catalog, referrers). */
export const MAX_PAGES = 1000;
/** The most entries kpm keeps from one listing. */
export const MAX_ENTRIES = 100_000;
/** The most bytes read from one page. */
const MAX_PAGE_BYTES = 16 * 1024 * 1024;

/** The first request of a listing. */
export interface Listing<T> {
  registry: string;
  repository?: string;
  /** The first page, relative to the registry (`/v2/…`). */
  path: string;
  headers?: HeadersInit;
  scopes: string[];
  what: string;
  /** The entries of one parsed page. */
  entries: (page: T) => unknown[] | null | undefined;
  /** The first answer is no listing at all (e.g. no referrers API): returns undefined instead. */
  absent?: (response: Response) => boolean;
}

/**
 * Reads a listing across its pages, bounded to MAX_PAGES pages and MAX_ENTRIES entries.
 *
 * @returns every entry, or undefined when `absent` says the first answer is no listing
 * @throws {RegistryError} on invalid JSON, or when a bound is passed (the error names it)
 */
export async function readListing<T>(
  client: RegistryClient,
  listing: Listing<T>,
): Promise<unknown[] | undefined> {
  const entries: unknown[] = [];
  const seen = new Set<string>();
  const fail = (why: string): never => {
    throw new RegistryError(`Cannot ${listing.what}: ${why}`, {
      status: 200,
      registry: listing.registry,
      repository: listing.repository,
    });
  };
  let url: string | undefined = listing.path;
  while (url && !seen.has(url)) {
    if (seen.size === MAX_PAGES) fail(`the registry sent more than ${MAX_PAGES} pages, the most kpm follows`);
    seen.add(url);
    const response = await client.send({
      registry: listing.registry,
      repository: listing.repository,
      url,
      headers: listing.headers,
      scopes: listing.scopes,
      expect: listing.absent ? [200, 404] : [200],
      what: listing.what,
    });
    if (seen.size === 1 && listing.absent?.(response)) {
      await response.body?.cancel();
      return undefined;
    }
    url = nextLink(response.headers.get("Link"));
    const more = await pageEntries(response, listing.entries, fail);
    if (entries.length + more.length > MAX_ENTRIES) {
      fail(`the registry sent more than ${MAX_ENTRIES} entries, the most kpm keeps`);
    }
    entries.push(...more);
  }
  return entries;
}

/** The entries of one page: its JSON (bounded), handed to `entries`, which must give an array. */
async function pageEntries<T>(
  response: Response,
  entries: (page: T) => unknown[] | null | undefined,
  fail: (why: string) => never,
): Promise<unknown[]> {
  let page: T;
  try {
    page = JSON.parse(
      new TextDecoder().decode(await readCapped(response, { limit: MAX_PAGE_BYTES, truncate: true })),
    ) as T;
  } catch {
    return fail("the registry answered invalid JSON");
  }
  let more: unknown[];
  try {
    more = entries(page) ?? [];
  } catch (error) {
    return fail((error as Error).message);
  }
  if (!Array.isArray(more)) fail("the registry answered a list that is not an array");
  return more;
}

/** Parses a `Link` header's `rel="next"` target (relative to the registry). */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(",")) {
    const match = /<([^>]*)>\s*;(?:.*;)?\s*rel="?next"?/i.exec(part.trim());
    if (match) return match[1];
  }
  return undefined;
}

/** The strings of a list (a registry's list is data: anything else in it is dropped). */
export function strings(list: unknown[] | undefined): string[] {
  return (list ?? []).filter((item): item is string => typeof item === "string");
}
