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
import type { CommandContext } from "./command.ts";
import { stringOption, UsageError } from "./command.ts";
import { annotationOptions, concurrencyOption, parseTargetArg, targetStore } from "./artifact.ts";
import { progress } from "./progress.ts";

/** The target with its digest, written once (`host/repo:tag@sha256:…`, or as given when it had one). */
function pinned(target: Target, digest: string): string {
  return target.digest ? formatTarget(target) : `${formatTarget(target)}@${digest}`;
}

/** Runs `kpm artifact attach`. */
export async function attach(ctx: CommandContext): Promise<void> {
  const target = parseTargetArg(ctx, ctx.args[0]!);
  const artifactType = stringOption(ctx, "artifact-type");
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
    concurrency: concurrencyOption(ctx),
    onProgress: bar.update,
  }).finally(bar.done);
  if (ctx.global.json) {
    ctx.json({
      reference: formatTarget(target),
      subject,
      ...result.manifest,
      artifactType,
      layers: result.layers,
    });
    return;
  }
  ctx.out(`Attached to ${pinned(target, subject.digest)}`);
  ctx.out(`Digest: ${result.manifest.digest}`);
}

/** Runs `kpm artifact discover`. */
export async function discover(ctx: CommandContext): Promise<void> {
  const target = parseTargetArg(ctx, ctx.args[0]!);
  const store = await targetStore(ctx, target);
  const subject = await store.resolve(targetReference(target, "latest")!);
  const referrers = await store.referrers(subject, { artifactType: stringOption(ctx, "artifact-type") });
  if (ctx.global.json) {
    ctx.json({ subject, manifests: referrers });
    return;
  }
  ctx.out(pinned(target, subject.digest));
  referrers.forEach((referrer, i) => {
    const last = i === referrers.length - 1;
    ctx.out(`${last ? "└──" : "├──"} ${referrer.artifactType ?? referrer.mediaType}`);
    ctx.out(`${last ? "    " : "│   "}└── ${referrer.digest}`);
  });
}
