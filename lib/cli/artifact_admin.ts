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
import { concurrencyOption, parseTargetArg, platformOption, targetStore } from "./artifact.ts";
import { selectManifest } from "../artifact/platform.ts";
import { isIndex } from "../oci/manifest.ts";
import { writeFileAtomic } from "../oci/atomic_file.ts";
import { interruptSignal } from "./interrupt.ts";

/** Runs `kpm artifact copy`. */
export async function copy(ctx: CommandContext): Promise<void> {
  const source = parseTargetArg(ctx, ctx.args[0]!, { layoutFlag: "from-oci-layout" });
  const destination = parseTargetArg(ctx, ctx.args[1]!, { multipleTags: true, layoutFlag: "to-oci-layout" });
  const sourceStore = await targetStore(ctx, source);
  const targetStoreOpened = await targetStore(ctx, destination, true);
  const root = await sourceStore.resolve(targetReference(source, "latest")!);
  const tags = destination.tags.length ? destination.tags : source.digest ? [] : [source.tags[0] ?? "latest"];
  const result = await copyGraph(sourceStore, targetStoreOpened, root, {
    tags,
    referrers: flagOption(ctx, "recursive"),
    concurrency: concurrencyOption(ctx),
    signal: interruptSignal(),
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

/** Runs `kpm artifact tags` (and `repo tags`; `--last T`: only the tags after T, as oras pages them). */
export async function tags(ctx: CommandContext): Promise<void> {
  const target = parseTargetArg(ctx, ctx.args[0]!);
  const store = await targetStore(ctx, target);
  const list = after(await store.tags(), stringOption(ctx, "last"));
  if (ctx.global.json) ctx.json({ repository: store.name, tags: list });
  else for (const name of list) ctx.out(name);
}

/** The names after `last` in sorted order (all of them without `last`), as `--last` pages lists. */
export function after(names: string[], last: string | undefined): string[] {
  return last === undefined ? names : names.filter((name) => name > last);
}

/** Runs `kpm artifact manifest [fetch]`: the manifest's bytes (or descriptor) on stdout or into `-o FILE`. */
export async function manifest(ctx: CommandContext): Promise<void> {
  const target = parseTargetArg(ctx, ctx.args[0]!);
  const store = await targetStore(ctx, target);
  let fetched = await store.fetchManifest(targetReference(target, "latest")!);
  const platform = platformOption(ctx);
  if (platform && isIndex(fetched.manifest)) {
    fetched = await store.fetchManifest(selectManifest(fetched.manifest, formatTarget(target), platform));
  }
  if (ctx.global.json) {
    ctx.json({ descriptor: fetched.descriptor, manifest: fetched.manifest });
    return;
  }
  const text = flagOption(ctx, "descriptor")
    ? `${JSON.stringify(fetched.descriptor, null, flagOption(ctx, "pretty") ? 2 : undefined)}\n`
    : flagOption(ctx, "pretty")
    ? `${JSON.stringify(fetched.manifest, null, 2)}\n`
    : new TextDecoder().decode(fetched.bytes);
  const output = stringOption(ctx, "output");
  if (output === undefined || output === "-") ctx.write(text);
  else await writeFileAtomic(resolve(ctx.cwd, output), text);
}

/** Runs `kpm artifact blob [fetch]`: a blob, verified, into `-o FILE` or onto stdout with `-o -`. */
export async function blob(ctx: CommandContext): Promise<void> {
  const target = parseTargetArg(ctx, ctx.args[0]!);
  if (!target.digest) {
    throw new UsageError(
      `Usage: kpm artifact blob fetch REF@DIGEST -o FILE|- (no digest in "${ctx.args[0]}")`,
    );
  }
  const output = stringOption(ctx, "output");
  const describeOnly = flagOption(ctx, "descriptor");
  if (!output && !describeOnly) {
    throw new UsageError(
      "Usage: kpm artifact blob fetch REF@DIGEST -o FILE|- (-o or --descriptor is required)",
    );
  }
  const store = await targetStore(ctx, target);
  const descriptor = await store.statBlob(target.digest);
  if (!descriptor) {
    throw new ArtifactError(`Cannot fetch blob "${target.digest}" from "${store.name}": not found`);
  }
  if (describeOnly && !output) {
    if (ctx.global.json) ctx.json(descriptor);
    else ctx.write(`${JSON.stringify(descriptor)}\n`);
    return;
  }
  if (output === "-") {
    // verified as it streams: a mismatch ends the stream with an error (and exit status 1)
    for await (const chunk of await store.fetchBlob(descriptor)) ctx.write(chunk);
    return;
  }
  const path = resolve(ctx.cwd, output!);
  await store.downloadBlob(descriptor, path);
  if (ctx.global.json) ctx.json({ path, ...descriptor });
  else ctx.out(`Downloaded ${target.digest} to ${path}`);
}
