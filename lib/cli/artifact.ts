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
import { ArtifactError, type FileSpec, parseFileSpec } from "../artifact/files.ts";
import { pullFromStore, type PullResult } from "../artifact/pull.ts";
import { parsePlatform, type PlatformSpec } from "../artifact/platform.ts";
import type { UploadOutcome } from "../oci/blob_upload.ts";
import { writeFileAtomic } from "../oci/atomic_file.ts";
import { pushToStore, titleOf } from "../artifact/push.ts";
import {
  formatTarget,
  LAYOUT_PREFIX,
  openTarget,
  parseTarget,
  type Target,
  targetReference,
} from "../artifact/target.ts";
import { isDigest } from "../oci/digest.ts";
import { ReferrerWalk } from "../oci/referrer_walk.ts";
import { credentialOptions } from "./credential_options.ts";
import { isLayoutArchive, unpackLayoutArchive } from "./layout_archive.ts";
import type { RegistryClient } from "../oci/client.ts";
import { ReferenceFormatError } from "../oci/reference.ts";
import type { Store } from "../oci/store.ts";
import {
  asUsageError,
  type CommandContext,
  type OptionValues,
  type Output,
  output,
  UsageError,
} from "./command.ts";
import type { TARGET_OPTIONS } from "./artifact_options.ts";
import type { ARTIFACT_PULL_OPTIONS, ARTIFACT_PUSH_OPTIONS } from "./artifact_commands.ts";
import { progress } from "./progress.ts";
import { clientSettings, registryClient } from "./registry_context.ts";
import { interruptSignal } from "./interrupt.ts";

/**
 * What the target helpers read of a command's options: those of TARGET_OPTIONS the command has (a package
 * command naming a layout has only `--oci-layout`; the others are then not given).
 */
export type TargetContext = CommandContext & { options: Partial<OptionValues<typeof TARGET_OPTIONS>> };

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
 * Parses a REF argument (`host/repo[:tag|@digest]` or `oci-layout:DIR[:tag|@digest]`); with `--oci-layout`
 * (or `layout`, e.g. copy's `--from-oci-layout`) REF is a layout folder, with `--oci-layout-path DIR` a tag
 * or digest in that layout, as oras spells them.
 *
 * @throws {UsageError} for a malformed reference (exit status 2: it was typed on the command line)
 */
export function parseTargetArg(
  ctx: TargetContext,
  value: string,
  options: { multipleTags?: boolean; layout?: boolean } = {},
): Target {
  const layoutPath = ctx.options["oci-layout-path"];
  const spelled = layoutPath !== undefined
    ? `${LAYOUT_PREFIX}${layoutPath}${isDigest(value) ? "@" : ":"}${value}`
    : (options.layout ?? ctx.options["oci-layout"]) && !value.startsWith(LAYOUT_PREFIX)
    ? `${LAYOUT_PREFIX}${value}`
    : value;
  return asUsageError(() => parseTarget(spelled, { cwd: ctx.cwd, multipleTags: options.multipleTags }), [
    ArtifactError,
    ReferenceFormatError,
  ]);
}

/** One registry client per command, so that every store of a command (copy's source and target) shares tokens. */
const clients = new WeakMap<TargetContext, Promise<RegistryClient>>();

/**
 * Opens the store of a target; the registry client (with -u/-p/--identity-token when given) is made only for
 * registry targets. A layout given as a tar archive is unpacked to read it.
 *
 * @throws {UsageError} when a layout archive would be written
 */
export async function targetStore(ctx: TargetContext, target: Target, create = false): Promise<Store> {
  if (target.kind === "layout" && await isLayoutArchive(target.dir)) {
    if (create) {
      throw new UsageError(
        `Cannot write to OCI layout archive "${target.dir}": write to a folder and tar it`,
      );
    }
    target = { ...target, dir: await unpackLayoutArchive(target.dir) };
  }
  return await openTarget(target, { create, client: () => commandClient(ctx) });
}

/** The command's one registry client, with the credential of -u/-p/--identity-token when given. */
export function commandClient(ctx: TargetContext): Promise<RegistryClient> {
  let client = clients.get(ctx);
  if (!client) {
    client = credentialOptions(ctx).then((credential) =>
      registryClient(ctx, clientSettings(ctx), { credential })
    );
    clients.set(ctx, client);
  }
  return client;
}

/** Reads `--concurrency` (default 3, like oras). */
export function concurrencyOption(value: string | undefined): number {
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
  ctx: CommandContext & {
    options: {
      annotation: string[];
      "annotation-file": string | undefined;
      "disable-path-validation"?: boolean;
    };
  },
  files: FileSpec[],
): Promise<ArtifactAnnotations> {
  const annotationFile = ctx.options["annotation-file"];
  const fromFile = annotationFile
    ? parseAnnotationFile(await readText(resolve(ctx.cwd, annotationFile), annotationFile), annotationFile)
    : undefined;
  const disablePathValidation = ctx.options["disable-path-validation"] === true;
  const titles = files.map((f) => titleOf(f.path, { disablePathValidation }));
  return mergeAnnotations(parseAnnotations(ctx.options.annotation), fromFile, titles);
}

/** How a file's upload is reported, in oras's words. */
const OUTCOME_WORDS: Record<UploadOutcome, string> = {
  uploaded: "Uploaded",
  exists: "Exists",
  mounted: "Mounted",
};

/** Runs `kpm artifact push`. */
export async function push(ctx: CommandContext<typeof ARTIFACT_PUSH_OPTIONS>): Promise<Output> {
  const target = parseTargetArg(ctx, ctx.args[0]!, { multipleTags: true });
  if (target.digest) throw new UsageError(`Cannot push to a digest "${ctx.args[0]}": name a tag`);
  const tags = target.tags.length ? target.tags : ["latest"];
  const files = ctx.args.slice(1).map(parseFileSpec);
  const config = ctx.options.config;
  if (files.length === 0 && !config) throw new UsageError("Nothing to push: name at least one FILE[:TYPE]");
  const annotations = await annotationOptions(ctx, files);
  const store = await targetStore(ctx, target, true);
  const bar = progress(ctx, "Pushing");
  const outcomes: [string, UploadOutcome][] = [];
  const result = await pushToStore(store, files, {
    cwd: ctx.cwd,
    artifactType: ctx.options["artifact-type"],
    annotations: annotations.manifest,
    configAnnotations: annotations.config,
    fileAnnotations: annotations.files,
    config: config ? parseFileSpec(config) : undefined,
    tags,
    concurrency: concurrencyOption(ctx.options.concurrency),
    signal: interruptSignal(),
    disablePathValidation: ctx.options["disable-path-validation"],
    onProgress: bar.update,
    onOutcome: (title, outcome) => outcomes.push([title, outcome]),
  }).finally(bar.done);
  const exportTo = ctx.options["export-manifest"];
  if (exportTo !== undefined) await writeFileAtomic(resolve(ctx.cwd, exportTo), result.manifestBytes);
  // oras's states: a blob the registry had is reported as existing, not uploaded
  for (const [title, outcome] of outcomes) ctx.log(`${OUTCOME_WORDS[outcome].padEnd(9)} ${title}`);
  const value = {
    reference: formatTarget({ ...target, tags }),
    tags,
    ...result.manifest,
    layers: result.layers,
  };
  return output(value, pushedText);
}

/** The human form of a push: what was pushed and its digest. */
export function pushedText(value: { reference: string; digest: string }): string[] {
  return [`Pushed ${value.reference}`, `Digest: ${value.digest}`];
}

async function readText(path: string, name: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new ArtifactError(`Cannot read "${name}": ${(error as Error).message}`);
  }
}

/** Runs `kpm artifact pull` (with --include-subject, then the manifests it refers to, into the same folder). */
export async function pull(ctx: CommandContext<typeof ARTIFACT_PULL_OPTIONS>): Promise<Output> {
  const target = parseTargetArg(ctx, ctx.args[0]!);
  const store = await targetStore(ctx, target);
  const platform = platformOption(ctx.options.platform);
  const { options } = ctx;
  const bar = progress(ctx, "Pulling");
  const results: PullResult[] = [];
  const walk = new ReferrerWalk(`pull the subjects of "${formatTarget(target)}"`);
  try {
    let reference: string | undefined = targetReference(target, "latest")!;
    while (reference !== undefined) {
      const result: PullResult = await pullFromStore(store, reference, {
        outDir: resolve(ctx.cwd, options.output ?? "."),
        mediaTypes: options["allow-all"] ? [] : options["media-type"],
        keepOldFiles: options["keep-old-files"],
        allowPathTraversal: options["allow-path-traversal"],
        concurrency: concurrencyOption(options.concurrency),
        signal: interruptSignal(),
        platform,
        onProgress: bar.update,
      });
      results.push(result);
      if (results.length === 1) walk.visit(result.manifest.digest, 0);
      const next = options["include-subject"] ? result.subject?.digest : undefined;
      reference = next && walk.visit(next, results.length) ? next : undefined;
    }
  } finally {
    bar.done();
  }
  for (const r of results) {
    for (const layer of r.skipped) ctx.log(`Skipped layer ${layer.digest} (no title)`);
    for (const file of r.files) ctx.log(`Downloaded ${file.path}`);
  }
  const [result, ...subjects] = results;
  const describe = (r: PullResult) => ({
    ...r.manifest,
    files: r.files.map((f) => ({ path: f.path, ...f.descriptor })),
    skipped: r.skipped,
  });
  const value = { reference: formatTarget(target), ...describe(result!), subjects: subjects.map(describe) };
  return output(value, (v) => [`Pulled ${v.reference}`, `Digest: ${v.digest}`]);
}

/** Reads `--platform OS/ARCH[/VARIANT]`; a malformed one is a usage error. */
export function platformOption(value: string | undefined): PlatformSpec | undefined {
  return value === undefined ? undefined : asUsageError(() => parsePlatform(value), [ArtifactError]);
}
