/**
 * `kpm artifact push|pull`: ORAS-style artifacts.
 *
 * @module
 */

import { resolve } from "node:path";
import { parseFileSpec } from "../artifact/files.ts";
import { pullArtifact } from "../artifact/pull.ts";
import { pushArtifact } from "../artifact/push.ts";
import { formatReference, parseReference, type Reference } from "../oci/reference.ts";
import type { Command, CommandContext } from "./command.ts";
import { flagOption, listOption, stringOption, UsageError } from "./command.ts";
import { progress } from "./progress.ts";
import { commandSettings, registryClient } from "./registry_context.ts";

/** Parses `K=V` annotations. */
export function parseAnnotations(values: string[]): Record<string, string> {
  const annotations: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf("=");
    if (eq <= 0) throw new UsageError(`Invalid annotation "${value}": expected KEY=VALUE`);
    annotations[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return annotations;
}

/** Parses a push reference, where `REF:t1,t2` means several tags. */
export function parsePushReference(value: string): { ref: Reference; extraTags: string[] } {
  const lastSlash = value.lastIndexOf("/");
  const colon = value.indexOf(":", lastSlash + 1);
  const tags = colon >= 0 && !value.includes("@") ? value.slice(colon + 1).split(",") : [];
  const ref = parseReference(tags.length > 1 ? `${value.slice(0, colon)}:${tags[0]}` : value);
  for (const tag of tags.slice(1)) parseReference(`${value.slice(0, colon)}:${tag}`);
  return { ref: ref.tag || ref.digest ? ref : { ...ref, tag: "latest" }, extraTags: tags.slice(1) };
}

async function push(ctx: CommandContext): Promise<void> {
  const { ref, extraTags } = parsePushReference(ctx.args[0]!);
  const files = ctx.args.slice(1).map(parseFileSpec);
  if (files.length === 0 && !stringOption(ctx, "config")) {
    throw new UsageError("Nothing to push: name at least one FILE[:TYPE]");
  }
  const client = registryClient(ctx, await commandSettings(ctx));
  const bar = progress(ctx, "Pushing");
  const config = stringOption(ctx, "config");
  const result = await pushArtifact(client, ref, files, {
    cwd: ctx.cwd,
    artifactType: stringOption(ctx, "artifact-type"),
    annotations: parseAnnotations(listOption(ctx, "annotation")),
    config: config ? parseFileSpec(config) : undefined,
    extraTags,
    onProgress: bar.update,
  }).finally(bar.done);
  if (ctx.global.json) {
    ctx.json({
      reference: formatReference(ref),
      tags: [ref.tag, ...extraTags].filter(Boolean),
      ...result.manifest,
      layers: result.layers,
    });
    return;
  }
  for (const layer of result.layers) {
    ctx.log(`Uploaded ${layer.annotations?.["org.opencontainers.image.title"]}`);
  }
  ctx.out(`Pushed ${formatReference(ref)}`);
  ctx.out(`Digest: ${result.manifest.digest}`);
}

async function pull(ctx: CommandContext): Promise<void> {
  const ref = parseReference(ctx.args[0]!);
  const client = registryClient(ctx, await commandSettings(ctx));
  const bar = progress(ctx, "Pulling");
  const result = await pullArtifact(client, ref.tag || ref.digest ? ref : { ...ref, tag: "latest" }, {
    outDir: resolve(ctx.cwd, stringOption(ctx, "output") ?? "."),
    mediaTypes: flagOption(ctx, "allow-all") ? [] : listOption(ctx, "media-type"),
    keepOldFiles: flagOption(ctx, "keep-old-files"),
    allowPathTraversal: flagOption(ctx, "allow-path-traversal"),
    onProgress: bar.update,
  }).finally(bar.done);
  if (ctx.global.json) {
    ctx.json({
      reference: formatReference(ref),
      ...result.manifest,
      files: result.files.map((f) => ({ path: f.path, ...f.descriptor })),
      skipped: result.skipped,
    });
    return;
  }
  for (const layer of result.skipped) ctx.log(`Skipped layer ${layer.digest} (no title)`);
  for (const file of result.files) ctx.log(`Downloaded ${file.path}`);
  ctx.out(`Pulled ${formatReference(ref)}`);
  ctx.out(`Digest: ${result.manifest.digest}`);
}

/** `kpm artifact push`. */
export const artifactPushCommand: Command = {
  path: ["artifact", "push"],
  summary: "Push files to a registry as an OCI artifact",
  usage:
    "artifact push REF[:TAG[,TAG…]] FILE[:TYPE]… [--artifact-type T] [--annotation K=V]… [--config FILE[:TYPE]]",
  options: {
    "artifact-type": { type: "string", value: "TYPE", description: "the manifest's artifactType" },
    annotation: {
      type: "string",
      short: "a",
      multiple: true,
      value: "K=V",
      description: "manifest annotation",
    },
    config: { type: "string", value: "FILE[:TYPE]", description: "config blob (default: the empty config)" },
  },
  args: { min: 1, max: Infinity },
  run: push,
};

/** `kpm artifact pull`. */
export const artifactPullCommand: Command = {
  path: ["artifact", "pull"],
  summary: "Pull an artifact's files from a registry",
  usage: "artifact pull REF [-o DIR] [--media-type T]… [--allow-all]",
  options: {
    output: { type: "string", short: "o", value: "DIR", description: "output folder (default: current)" },
    "media-type": { type: "string", multiple: true, value: "TYPE", description: "only layers of this type" },
    "allow-all": { type: "boolean", description: "pull layers of every media type (ignores --media-type)" },
    "keep-old-files": { type: "boolean", short: "k", description: "fail instead of overwriting files" },
    "allow-path-traversal": { type: "boolean", description: "allow titles outside the output folder" },
  },
  args: { min: 1, max: 1 },
  run: pull,
};
