/**
 * `kpm artifact push|pull`: ORAS-style artifacts, to and from registries and OCI layout folders; and the
 * helpers the other artifact command files share (targets, stores, --concurrency).
 *
 * @module
 */

import { resolve } from "node:path";
import {
  type ArtifactAnnotations,
  mergeAnnotations,
  parseAnnotationFile,
  parseAnnotationFlags,
} from "../artifact/annotations.ts";
import { ArtifactError, type FileSpec, fileTitle, parseFileSpec } from "../artifact/files.ts";
import { pullFromStore } from "../artifact/pull.ts";
import { pushToStore } from "../artifact/push.ts";
import { formatTarget, openTarget, parseTarget, type Target, targetReference } from "../artifact/target.ts";
import type { RegistryClient } from "../oci/client.ts";
import { ReferenceFormatError } from "../oci/reference.ts";
import type { Store } from "../oci/store.ts";
import type { CommandContext } from "./command.ts";
import { asUsageError, flagOption, listOption, stringOption, UsageError } from "./command.ts";
import { progress } from "./progress.ts";
import { commandSettings, registryClient } from "./registry_context.ts";

/** Parses `K=V` annotations; a malformed one is a usage error. */
export function parseAnnotations(values: string[]): Record<string, string> {
  try {
    return parseAnnotationFlags(values);
  } catch (error) {
    if (error instanceof ArtifactError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * Parses a REF argument (`host/repo[:tag|@digest]` or `oci-layout:DIR[:tag|@digest]`).
 *
 * @throws {UsageError} for a malformed reference (exit status 2: it was typed on the command line)
 */
export function parseTargetArg(ctx: CommandContext, value: string, multipleTags = false): Target {
  return asUsageError(() => parseTarget(value, { cwd: ctx.cwd, multipleTags }), [
    ArtifactError,
    ReferenceFormatError,
  ]);
}

/** One registry client per command, so that every store of a command (copy's source and target) shares tokens. */
const clients = new WeakMap<CommandContext, Promise<RegistryClient>>();

/** Opens the store of a target; the registry client is made only for registry targets. */
export async function targetStore(ctx: CommandContext, target: Target, create = false): Promise<Store> {
  return await openTarget(target, {
    create,
    client: () => {
      let client = clients.get(ctx);
      if (!client) {
        client = commandSettings(ctx).then((settings) => registryClient(ctx, settings));
        clients.set(ctx, client);
      }
      return client;
    },
  });
}

/** Reads `--concurrency` (default 3, like oras). */
export function concurrencyOption(ctx: CommandContext): number {
  const value = stringOption(ctx, "concurrency");
  if (value === undefined) return 3;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(`Invalid --concurrency "${value}": expected a whole number ≥ 1`);
  }
  return n;
}

/**
 * The annotations of `--annotation K=V` and `--annotation-file F`, merged and checked against the files pushed.
 *
 * @throws {UsageError} for a malformed K=V; {ArtifactError} for an unreadable file or a conflict
 */
export async function annotationOptions(
  ctx: CommandContext,
  files: FileSpec[],
): Promise<ArtifactAnnotations> {
  const annotationFile = stringOption(ctx, "annotation-file");
  const fromFile = annotationFile
    ? parseAnnotationFile(await readText(resolve(ctx.cwd, annotationFile), annotationFile), annotationFile)
    : undefined;
  const titles = files.map((f) => fileTitle(f.path));
  return mergeAnnotations(parseAnnotations(listOption(ctx, "annotation")), fromFile, titles);
}

/** Runs `kpm artifact push`. */
export async function push(ctx: CommandContext): Promise<void> {
  const target = parseTargetArg(ctx, ctx.args[0]!, true);
  if (target.digest) throw new UsageError(`Cannot push to a digest "${ctx.args[0]}": name a tag`);
  const tags = target.tags.length ? target.tags : ["latest"];
  const files = ctx.args.slice(1).map(parseFileSpec);
  const config = stringOption(ctx, "config");
  if (files.length === 0 && !config) throw new UsageError("Nothing to push: name at least one FILE[:TYPE]");
  const annotations = await annotationOptions(ctx, files);
  const store = await targetStore(ctx, target, true);
  const bar = progress(ctx, "Pushing");
  const result = await pushToStore(store, files, {
    cwd: ctx.cwd,
    artifactType: stringOption(ctx, "artifact-type"),
    annotations: annotations.manifest,
    configAnnotations: annotations.config,
    fileAnnotations: annotations.files,
    config: config ? parseFileSpec(config) : undefined,
    tags,
    concurrency: concurrencyOption(ctx),
    onProgress: bar.update,
  }).finally(bar.done);
  const pushed = formatTarget({ ...target, tags });
  if (ctx.global.json) {
    ctx.json({ reference: pushed, tags, ...result.manifest, layers: result.layers });
    return;
  }
  for (const layer of result.layers) {
    ctx.log(`Uploaded ${layer.annotations?.["org.opencontainers.image.title"]}`);
  }
  ctx.out(`Pushed ${pushed}`);
  ctx.out(`Digest: ${result.manifest.digest}`);
}

async function readText(path: string, name: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new ArtifactError(`Cannot read "${name}": ${(error as Error).message}`);
  }
}

/** Runs `kpm artifact pull`. */
export async function pull(ctx: CommandContext): Promise<void> {
  const target = parseTargetArg(ctx, ctx.args[0]!);
  const store = await targetStore(ctx, target);
  const bar = progress(ctx, "Pulling");
  const result = await pullFromStore(store, targetReference(target, "latest")!, {
    outDir: resolve(ctx.cwd, stringOption(ctx, "output") ?? "."),
    mediaTypes: flagOption(ctx, "allow-all") ? [] : listOption(ctx, "media-type"),
    keepOldFiles: flagOption(ctx, "keep-old-files"),
    allowPathTraversal: flagOption(ctx, "allow-path-traversal"),
    concurrency: concurrencyOption(ctx),
    onProgress: bar.update,
  }).finally(bar.done);
  const pulled = formatTarget(target);
  if (ctx.global.json) {
    ctx.json({
      reference: pulled,
      ...result.manifest,
      files: result.files.map((f) => ({ path: f.path, ...f.descriptor })),
      skipped: result.skipped,
    });
    return;
  }
  for (const layer of result.skipped) ctx.log(`Skipped layer ${layer.digest} (no title)`);
  for (const file of result.files) ctx.log(`Downloaded ${file.path}`);
  ctx.out(`Pulled ${pulled}`);
  ctx.out(`Digest: ${result.manifest.digest}`);
}
