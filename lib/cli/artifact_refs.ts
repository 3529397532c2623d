/**
 * `kpm artifact attach|discover`: artifacts that refer to another manifest through `subject` (signatures,
 * SBOMs…), as `oras attach` and `oras discover` do; the referrers API, or the `sha256-<hex>` tag schema on
 * registries without it.
 *
 * @module
 */

import { parseFileSpec } from "../artifact/files.ts";
import { pushToStore } from "../artifact/push.ts";
import { formatTarget, type Target, targetReference } from "../artifact/target.ts";
import type { Descriptor } from "../oci/manifest.ts";
import type { Store } from "../oci/store.ts";
import { ReferrerWalk } from "../oci/referrer_walk.ts";
import { type CommandContext, type Output, output, UsageError } from "./command.ts";
import type { ARTIFACT_ATTACH_OPTIONS, ARTIFACT_DISCOVER_OPTIONS } from "./artifact_commands.ts";
import { annotationOptions, concurrencyOption, parseTargetArg, targetStore } from "./artifact.ts";
import { progress } from "./progress.ts";
import { interruptSignal } from "./interrupt.ts";

/** The target with its digest, written once (`host/repo:tag@sha256:…`, or as given when it had one). */
function pinned(target: Target, digest: string): string {
  return target.digest ? formatTarget(target) : `${formatTarget(target)}@${digest}`;
}

/** Runs `kpm artifact attach`. */
export async function attach(ctx: CommandContext<typeof ARTIFACT_ATTACH_OPTIONS>): Promise<Output> {
  const target = parseTargetArg(ctx, ctx.args[0]!);
  const artifactType = ctx.options["artifact-type"];
  if (!artifactType) {
    throw new UsageError(
      "Usage: kpm artifact attach --artifact-type T REF FILE… (--artifact-type is required)",
    );
  }
  const files = ctx.args.slice(1).map(parseFileSpec);
  const annotations = await annotationOptions(ctx, files);
  if (files.length === 0 && Object.keys(annotations.manifest).length === 0) {
    throw new UsageError("Nothing to attach: name a FILE or give --annotation");
  }
  const store = await targetStore(ctx, target);
  const subject = await store.resolve(targetReference(target, "latest")!);
  const bar = progress(ctx, "Attaching");
  const result = await pushToStore(store, files, {
    cwd: ctx.cwd,
    artifactType,
    annotations: annotations.manifest,
    configAnnotations: annotations.config,
    fileAnnotations: annotations.files,
    subject,
    concurrency: concurrencyOption(ctx.options.concurrency),
    signal: interruptSignal(),
    onProgress: bar.update,
  }).finally(bar.done);
  const value = {
    reference: formatTarget(target),
    subject,
    ...result.manifest,
    artifactType,
    layers: result.layers,
  };
  return output(value, (v) => [`Attached to ${pinned(target, v.subject.digest)}`, `Digest: ${v.digest}`]);
}

/** A referrer and, as far as --depth goes, its own referrers. */
interface ReferrerNode extends Descriptor {
  referrers: ReferrerNode[];
}

/**
 * The referrers of `subject`, and theirs, down to `depth` levels (signatures of SBOMs…); each manifest is
 * listed once, and the walk keeps to its bounds (lib/oci/referrer_walk.ts).
 */
async function referrerTree(
  store: Store,
  subject: Descriptor,
  options: { artifactType?: string; depth: number; level: number; walk: ReferrerWalk },
): Promise<ReferrerNode[]> {
  const referrers = await store.referrers(subject, { artifactType: options.artifactType });
  const level = options.level + 1;
  // the whole listing is counted before any of it is followed
  const follow = referrers.map((referrer) => options.walk.visit(referrer.digest, level) && options.depth > 1);
  return await Promise.all(referrers.map(async (referrer, i) => ({
    ...referrer,
    referrers: follow[i]
      ? await referrerTree(store, referrer, { ...options, depth: options.depth - 1, level })
      : [],
  })));
}

/** Referrers as oras's tree: the type, then the digest, then the referrers of that one. */
function treeLines(nodes: ReferrerNode[], indent: string): string[] {
  return nodes.flatMap((node, i) => {
    const last = i === nodes.length - 1;
    const inner = `${indent}${last ? "    " : "│   "}`;
    return [
      `${indent}${last ? "└──" : "├──"} ${node.artifactType ?? node.mediaType}`,
      `${inner}└── ${node.digest}`,
      ...treeLines(node.referrers, `${inner}    `),
    ];
  });
}

/** Runs `kpm artifact discover`: every level of referrers, as a tree (`--depth N` to stop earlier). */
export async function discover(ctx: CommandContext<typeof ARTIFACT_DISCOVER_OPTIONS>): Promise<Output> {
  const target = parseTargetArg(ctx, ctx.args[0]!);
  const depthText = ctx.options.depth;
  const depth = depthText === undefined ? Infinity : Number(depthText);
  if (!(depth >= 1) || (depth !== Infinity && !Number.isInteger(depth))) {
    throw new UsageError(`Invalid --depth "${depthText}": expected a whole number of 1 or more`);
  }
  const store = await targetStore(ctx, target);
  const subject = await store.resolve(targetReference(target, "latest")!);
  const walk = new ReferrerWalk(`discover the referrers of "${pinned(target, subject.digest)}"`);
  walk.visit(subject.digest, 0);
  const tree = await referrerTree(store, subject, {
    artifactType: ctx.options["artifact-type"],
    depth,
    level: 0,
    walk,
  });
  return output(
    { subject, manifests: tree },
    (v) => [pinned(target, v.subject.digest), ...treeLines(v.manifests, "")],
  );
}
