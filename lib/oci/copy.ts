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
import { type ConcurrencyOptions, operationLimiter } from "./concurrency.ts";
import { attachedTags } from "./sign/cosign.ts";
import { ReferrerWalk } from "./referrer_walk.ts";

/** What happened to one node of the graph. */
export type CopyOutcome = "copied" | "skipped";

/** Options of copyGraph. */
export interface CopyOptions extends ConcurrencyOptions {
  /** Tags the root gets in the target (the first is used for the push itself). */
  tags?: string[];
  /**
   * Also copy the referrers (signatures, SBOMs…) and cosign's tags of every copied manifest, recursively (within
   * the bounds of lib/oci/referrer_walk.ts).
   */
  referrers?: boolean;
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
 * Copies the graph rooted at `root` from `source` to `target`. At most `concurrency` requests run at once
 * over the whole graph (one limiter for the operation; only leaf requests take a slot, so no depth deadlocks).
 * After the first failure no further request starts (those running finish).
 *
 * @param root the root manifest (or index) in the source, e.g. from `source.resolve("v1")`
 * @throws whatever the stores throw: RegistryError, LayoutError, DigestError on corrupt content; the signal's
 *   reason when it is aborted; ReferrerWalkError when the referrers go deeper or wider than kpm follows
 * @example await copyGraph(new Repository(client, ref), await openLayout("out", { create: true }), root, { tags: ["v1"] })
 */
export async function copyGraph(
  source: Store,
  target: Store,
  root: Descriptor,
  options: CopyOptions = {},
): Promise<CopyResult> {
  const copy = new GraphCopy(source, target, root, options);
  const [first, ...more] = options.tags ?? [];
  await copy.node(root, first);
  for (const tag of more) await target.tag(root, tag);
  return copy.result;
}

/** One copy in progress: each node is copied once (children first), each request in a slot of the limiter. */
class GraphCopy {
  readonly result: CopyResult;
  #source: Store;
  #target: Store;
  #options: CopyOptions;
  /** Runs one request in a slot of the operation's limiter; after a failure the copy starts no more. */
  #slot: <T>(task: () => Promise<T>) => Promise<T>;
  #nodes = new Map<string, Promise<void>>();
  #sourceTags?: Promise<Set<string>>;
  #walk: ReferrerWalk;

  constructor(source: Store, target: Store, root: Descriptor, options: CopyOptions) {
    this.#source = source;
    this.#target = target;
    this.#options = options;
    this.#slot = operationLimiter(options).group();
    this.result = { root, copied: 0, skipped: 0, referrers: [] };
    this.#walk = new ReferrerWalk(`copy the referrers of "${source.name}@${root.digest}"`);
  }

  /**
   * Copies a node (and what it references) once, however many parents name it.
   *
   * @param level how many referrer links away from the root it is
   */
  node(descriptor: Descriptor, tag?: string, level = 0): Promise<void> {
    const key = `${descriptor.digest}\n${tag ?? ""}`;
    let running = this.#nodes.get(key);
    if (!running) {
      running = isManifestMediaType(descriptor.mediaType)
        ? this.#manifest(descriptor, tag, level)
        : this.#slot(() => this.#blob(descriptor));
      this.#nodes.set(key, running);
    }
    return running;
  }

  #report(descriptor: Descriptor, outcome: CopyOutcome): void {
    if (outcome === "copied") this.result.copied++;
    else this.result.skipped++;
    this.#options.onNode?.(descriptor, outcome);
  }

  /** A blob: pushBlob asks the target once whether it has it, and opens the source only when it has not. */
  async #blob(descriptor: Descriptor): Promise<void> {
    const outcome = await this.#target.pushBlob(descriptor, () => this.#source.fetchBlob(descriptor), {
      from: this.#source,
    });
    this.#report(descriptor, outcome === "exists" ? "skipped" : "copied");
  }

  /** A manifest: its children first, then itself; no slot is held while the children are copied. */
  async #manifest(descriptor: Descriptor, tag: string | undefined, level: number): Promise<void> {
    const slot = this.#slot;
    if (await slot(() => this.#target.exists(descriptor))) {
      if (tag !== undefined) await slot(() => this.#target.tag(descriptor, tag));
      this.#report(descriptor, "skipped");
    } else {
      const { bytes, manifest, descriptor: fetched } = await slot(() =>
        this.#source.fetchManifest(descriptor)
      );
      await Promise.all(referencedDescriptors(manifest).map((child) => this.node(child, undefined, level)));
      await slot(() => this.#target.pushManifest(bytes, fetched.mediaType, { tag }));
      this.#report(descriptor, "copied");
    }
    if (this.#options.referrers) {
      const referrers = await slot(() => this.#attached(descriptor));
      for (const [referrer] of referrers) this.#walk.visit(referrer.digest, level + 1);
      this.result.referrers.push(...referrers.map(([referrer]) => referrer));
      await Promise.all(referrers.map(([referrer, tag]) => this.node(referrer, tag, level + 1)));
    }
  }

  /** The referrers of a manifest, and cosign's tags attached to it (with the tag to give each). */
  async #attached(descriptor: Descriptor): Promise<[Descriptor, string?][]> {
    const referrers = await this.#source.referrers(descriptor);
    this.#sourceTags ??= this.#source.tags().then((tags) => new Set(tags));
    const tags = await this.#sourceTags;
    const found: [Descriptor, string?][] = referrers.map((referrer) => [referrer]);
    for (const tag of attachedTags(descriptor.digest)) {
      if (tags.has(tag)) found.push([await this.#source.resolve(tag), tag]);
    }
    return found;
  }
}
