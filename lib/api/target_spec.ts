/**
 * What push, pull and copy accept as a place: a reference string (`host[:port]/repo[:tag|@digest]`,
 * `oci-layout:DIR[:tag|@digest]`, `:t1,t2` for several tags) or an opened Target.
 *
 * @module
 */

import type { Digest } from "../oci/digest.ts";
import { openTarget, parseTarget } from "../artifact/target.ts";
import { Client, registryClientOf } from "./client.ts";
import { storeOf, type Target } from "./target.ts";
import type { Store } from "../oci/store.ts";

/** A place: a reference string or an opened Target. */
export type TargetSpec = string | Target;

/** An opened place, with the tags and digest its reference string named. */
export interface OpenedSpec {
  store: Store;
  tags: string[];
  digest?: Digest;
}

/**
 * Opens a place; a string naming a registry uses `options.client` (an anonymous Client when absent).
 *
 * @param options `create` makes a missing layout folder (for places written to)
 */
export async function openSpec(
  spec: TargetSpec,
  options: { client?: Client; create?: boolean; multipleTags?: boolean },
): Promise<OpenedSpec> {
  if (typeof spec !== "string") return { store: storeOf(spec), tags: [] };
  const parsed = parseTarget(spec, { cwd: ".", multipleTags: options.multipleTags });
  const store = await openTarget(parsed, {
    create: options.create,
    client: () => registryClientOf(options.client ?? new Client()),
  });
  return { store, tags: parsed.tags, ...(parsed.digest && { digest: parsed.digest }) };
}

/**
 * The tag or digest to read from an opened source: the digest its reference string named, else its first tag,
 * else `fallback` (the caller's `reference` option), else `latest`.
 */
export function sourceReference(place: OpenedSpec, fallback?: string): string {
  return place.digest ?? place.tags[0] ?? fallback ?? "latest";
}
