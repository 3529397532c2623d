/**
 * The origin record of a cache entry, `HOME/.kpm/origin/NAME_VERSION.json`: what kpm itself verified when it
 * fetched the entry under a trust policy (registry, repository, tag, manifest digest, the key that signed
 * the manifest) and the checksum of the content it verified. The cache is named by NAME_VERSION only, so a copy
 * pulled from one registry sits where a package of the same name and version from any other would; a locked
 * package the policy covers is used from the cache without asking its registry only when this record vouches
 * for that very content from that very place (kcl.mod.lock's `signed_by` is a claim of whoever wrote the
 * lock, not evidence). The record is bound to the content by its checksum, so a copy that anything else
 * replaced (another registry, a git clone, the reference kpm sharing the cache) is no longer vouched for.
 *
 * @module
 */

import { join } from "node:path";
import { writeFileAtomic } from "../oci/atomic_file.ts";
import { containedPath } from "../oci/contained_path.ts";
import { readCappedFile } from "../oci/read_capped.ts";

/** Where a cached package came from and what kpm verified. */
export interface EntryOrigin {
  registry: string;
  repository: string;
  tag: string;
  /** The digest of the manifest whose signature was verified. */
  manifest: string;
  /** The checksum of the content verified. */
  sum: string;
  /** The fingerprint of the key that signed the manifest. */
  signedBy: string;
}

/** The most bytes of an origin record read: it is a few hundred; a larger file is not one kpm wrote. */
const MAX_ORIGIN_BYTES = 4096;

const FIELDS = ["registry", "repository", "tag", "manifest", "sum", "signedBy"] as const;

function originPath(home: string, full: string): string {
  return containedPath(join(home, ".kpm", "origin"), [`${full}.json`], "origin record");
}

/** Records what kpm verified of cache entry `full` (`NAME_VERSION`, checked by fullName or checkFullName). */
export async function writeOrigin(home: string, full: string, origin: EntryOrigin): Promise<void> {
  const path = originPath(home, full);
  await Deno.mkdir(join(path, ".."), { recursive: true });
  const record = Object.fromEntries(FIELDS.map((field) => [field, origin[field]]));
  await writeFileAtomic(path, `${JSON.stringify(record)}\n`);
}

/** The origin record of cache entry `full`; undefined when there is none, or it is unreadable or malformed. */
export async function readOrigin(home: string, full: string): Promise<EntryOrigin | undefined> {
  try {
    const bytes = await readCappedFile(originPath(home, full), { limit: MAX_ORIGIN_BYTES });
    const record = JSON.parse(new TextDecoder().decode(bytes));
    return FIELDS.every((field) => typeof record?.[field] === "string") ? record as EntryOrigin : undefined;
  } catch {
    return undefined;
  }
}
