/**
 * `kpm artifact copy|tag|tags|manifest|blob`: moving and inspecting artifacts in registries and OCI layout
 * folders, as `oras cp`, `oras tag`, `oras repo tags`, `oras manifest fetch` and `oras blob fetch` do.
 *
 * @module
 */

import { resolve } from "node:path";
import { copyGraph } from "../oci/copy.ts";
import { ArtifactError } from "../artifact/files.ts";
import { formatTarget, targetReference } from "../artifact/target.ts";
import { isValidTag } from "../oci/reference.ts";
import type { CommandContext } from "./command.ts";
import { flagOption, stringOption, UsageError } from "./command.ts";
import { concurrencyOption, parseTargetArg, targetStore } from "./artifact.ts";

/** Runs `kpm artifact copy`. */
export async function copy(ctx: CommandContext): Promise<void> {
  const source = parseTargetArg(ctx, ctx.args[0]!);
  const destination = parseTargetArg(ctx, ctx.args[1]!, true);
  const sourceStore = await targetStore(ctx, source);
  const targetStoreOpened = await targetStore(ctx, destination, true);
  const root = await sourceStore.resolve(targetReference(source, "latest")!);
  const tags = destination.tags.length ? destination.tags : source.digest ? [] : [source.tags[0] ?? "latest"];
  const result = await copyGraph(sourceStore, targetStoreOpened, root, {
    tags,
    referrers: flagOption(ctx, "recursive"),
    concurrency: concurrencyOption(ctx),
  });
  if (ctx.global.json) {
    ctx.json({
      source: formatTarget(source),
      destination: formatTarget({ ...destination, tags }),
      ...root,
      copied: result.copied,
      skipped: result.skipped,
      referrers: result.referrers,
    });
    return;
  }
  ctx.log(`Copied ${result.copied} and skipped ${result.skipped} existing blob(s) and manifest(s)`);
  ctx.out(`Copied ${formatTarget(source)} => ${formatTarget({ ...destination, tags })}`);
  ctx.out(`Digest: ${root.digest}`);
}

/** Runs `kpm artifact tag`. */
export async function tag(ctx: CommandContext): Promise<void> {
  const target = parseTargetArg(ctx, ctx.args[0]!);
  const store = await targetStore(ctx, target);
  const descriptor = await store.resolve(targetReference(target, "latest")!);
  const tags = ctx.args.slice(1);
  for (const name of tags) {
    if (!isValidTag(name)) {
      throw new UsageError(`Invalid tag "${name}": it must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`);
    }
  }
  for (const name of tags) {
    await store.tag(descriptor, name);
  }
  if (ctx.global.json) {
    ctx.json({ reference: formatTarget(target), ...descriptor, tags });
    return;
  }
  for (const name of tags) ctx.out(`Tagged ${name}`);
  ctx.out(`Digest: ${descriptor.digest}`);
}

/** Runs `kpm artifact tags`. */
export async function tags(ctx: CommandContext): Promise<void> {
  const target = parseTargetArg(ctx, ctx.args[0]!);
  const store = await targetStore(ctx, target);
  const list = await store.tags();
  if (ctx.global.json) ctx.json({ repository: store.name, tags: list });
  else for (const name of list) ctx.out(name);
}

/** Runs `kpm artifact manifest`. */
export async function manifest(ctx: CommandContext): Promise<void> {
  const target = parseTargetArg(ctx, ctx.args[0]!);
  const store = await targetStore(ctx, target);
  const fetched = await store.fetchManifest(targetReference(target, "latest")!);
  if (ctx.global.json) {
    ctx.json({ descriptor: fetched.descriptor, manifest: fetched.manifest });
  } else if (flagOption(ctx, "descriptor")) {
    ctx.write(`${JSON.stringify(fetched.descriptor)}\n`);
  } else {
    ctx.write(new TextDecoder().decode(fetched.bytes));
  }
}

/** Runs `kpm artifact blob`. */
export async function blob(ctx: CommandContext): Promise<void> {
  const target = parseTargetArg(ctx, ctx.args[0]!);
  if (!target.digest) {
    throw new UsageError(`Usage: kpm artifact blob REF@DIGEST -o FILE (no digest in "${ctx.args[0]}")`);
  }
  const output = stringOption(ctx, "output");
  if (!output) throw new UsageError("Usage: kpm artifact blob REF@DIGEST -o FILE (-o is required)");
  const store = await targetStore(ctx, target);
  const descriptor = await store.statBlob(target.digest);
  if (!descriptor) {
    throw new ArtifactError(`Cannot fetch blob "${target.digest}" from "${store.name}": not found`);
  }
  const path = resolve(ctx.cwd, output);
  await store.downloadBlob(descriptor, path);
  if (ctx.global.json) ctx.json({ path, ...descriptor });
  else ctx.out(`Downloaded ${target.digest} to ${path}`);
}
