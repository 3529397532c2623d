/**
 * Graph copy between any two stores (registry↔registry, registry↔layout, layout↔layout): manifests, indexes
 * (recursively), configs and layers, children before parents, skipping what the target has, mounting across
 * repositories of the same registry, and optionally the referrers of every copied manifest (both the OCI 1.1
 * referrers and cosign's `sha256-<hex>.sig|.att|.sbom` tags). Blobs stream from source to target, verified on
 * the fly.
 *
 * @module
 */

import type { Descriptor } from "./manifest.ts";
import { isManifestMediaType, referencedDescriptors } from "./manifest.ts";
import type { Store } from "./store.ts";
import { mapLimit } from "./concurrency.ts";
import { attachedTags } from "./sign/cosign.ts";

/** What happened to one node of the graph. */
export type CopyOutcome = "copied" | "skipped";

/** Options of copyGraph. */
export interface CopyOptions {
  /** Tags the root gets in the target (the first is used for the push itself). */
  tags?: string[];
  /** Also copy the referrers (signatures, SBOMs…) and cosign's tags of every copied manifest, recursively. */
  referrers?: boolean;
  /** Parallel transfers per level (default 3). */
  concurrency?: number;
  /** Called once per node copied or skipped. */
  onNode?: (descriptor: Descriptor, outcome: CopyOutcome) => void;
}

/** What a copy did. */
export interface CopyResult {
  root: Descriptor;
  copied: number;
  skipped: number;
  referrers: Descriptor[];
}

/**
 * Copies the graph rooted at `root` from `source` to `target`.
 *
 * @param root the root manifest (or index) in the source, e.g. from `source.resolve("v1")`
 * @throws whatever the stores throw: RegistryError, LayoutError, DigestError on corrupt content
 * @example await copyGraph(new RegistryStore(client, ref), await openLayout("out", { create: true }), root, { tags: ["v1"] })
 */
export async function copyGraph(
  source: Store,
  target: Store,
  root: Descriptor,
  options: CopyOptions = {},
): Promise<CopyResult> {
  const limit = Math.max(1, options.concurrency ?? 3);
  const inFlight = new Map<string, Promise<void>>();
  const result: CopyResult = { root, copied: 0, skipped: 0, referrers: [] };
  const report = (descriptor: Descriptor, outcome: CopyOutcome) => {
    if (outcome === "copied") result.copied++;
    else result.skipped++;
    options.onNode?.(descriptor, outcome);
  };

  let sourceTags: Promise<Set<string>> | undefined;
  /** The referrers of a manifest, and cosign's tags attached to it (with the tag to give each). */
  const attached = async (descriptor: Descriptor): Promise<[Descriptor, string?][]> => {
    const referrers = await source.referrers(descriptor);
    sourceTags ??= source.tags().then((tags) => new Set(tags));
    const tags = await sourceTags;
    const found: [Descriptor, string?][] = referrers.map((referrer) => [referrer]);
    for (const tag of attachedTags(descriptor.digest)) {
      if (tags.has(tag)) found.push([await source.resolve(tag), tag]);
    }
    return found;
  };

  const copyNode = (descriptor: Descriptor, tag?: string): Promise<void> => {
    const key = `${descriptor.digest}\n${tag ?? ""}`;
    let running = inFlight.get(key);
    if (!running) {
      running = copyOne(descriptor, tag);
      inFlight.set(key, running);
    }
    return running;
  };

  const copyOne = async (descriptor: Descriptor, tag?: string): Promise<void> => {
    if (!isManifestMediaType(descriptor.mediaType)) {
      if (await target.exists(descriptor)) return report(descriptor, "skipped");
      await target.pushBlob(descriptor, () => source.fetchBlob(descriptor), { from: source });
      return report(descriptor, "copied");
    }
    if (await target.exists(descriptor)) {
      if (tag !== undefined) await target.tag(descriptor, tag);
      report(descriptor, "skipped");
    } else {
      const { bytes, manifest, descriptor: fetched } = await source.fetchManifest(descriptor);
      await mapLimit(referencedDescriptors(manifest), limit, (child) => copyNode(child));
      await target.pushManifest(bytes, fetched.mediaType, { tag });
      report(descriptor, "copied");
    }
    if (options.referrers) {
      const referrers = await attached(descriptor);
      result.referrers.push(...referrers.map(([referrer]) => referrer));
      await mapLimit(referrers, limit, ([referrer, tag]) => copyNode(referrer, tag));
    }
  };

  const [first, ...more] = options.tags ?? [];
  await copyNode(root, first);
  for (const tag of more) await target.tag(root, tag);
  return result;
}
