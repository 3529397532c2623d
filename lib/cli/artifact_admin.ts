/**
 * `kpm artifact copy|tag|tags|manifest|blob`: moving and inspecting artifacts in registries and OCI layout
 * folders, as `oras cp`, `oras tag`, `oras repo tags`, `oras manifest fetch` and `oras blob fetch` do.
 *
 * @module
 */

import { resolve } from "node:path";
import { copyGraph } from "../oci/copy.ts";
import { ArtifactError } from "../artifact/files.ts";
import { formatTarget, type Target, targetReference } from "../artifact/target.ts";
import { isValidTag } from "../oci/reference.ts";
import { type CommandContext, type CommandResult, type Output, output, UsageError } from "./command.ts";
import type {
  ARTIFACT_BLOB_OPTIONS,
  ARTIFACT_COPY_OPTIONS,
  ARTIFACT_MANIFEST_OPTIONS,
  ARTIFACT_TAG_OPTIONS,
  ARTIFACT_TAGS_OPTIONS,
} from "./artifact_commands.ts";
import { concurrencyOption, parseTargetArg, platformOption, targetStore } from "./artifact.ts";
import { selectManifest } from "../artifact/platform.ts";
import { isIndex } from "../oci/manifest.ts";
import { writeFileAtomic } from "../oci/atomic_file.ts";
import { interruptSignal } from "./interrupt.ts";

/** What `kpm artifact copy` receives. */
type CopyContext = CommandContext<typeof ARTIFACT_COPY_OPTIONS>;

/** Runs `kpm artifact copy`. */
export async function copy(ctx: CopyContext): Promise<Output> {
  const source = parseTargetArg(ctx, ctx.args[0]!, { layout: ctx.options["from-oci-layout"] });
  const destination = parseTargetArg(ctx, ctx.args[1]!, {
    multipleTags: true,
    layout: ctx.options["to-oci-layout"],
  });
  oneRegistryForCredential(ctx, source, destination);
  const sourceStore = await targetStore(ctx, source);
  const targetStoreOpened = await targetStore(ctx, destination, true);
  const root = await sourceStore.resolve(targetReference(source, "latest")!);
  const tags = destination.tags.length ? destination.tags : source.digest ? [] : [source.tags[0] ?? "latest"];
  const result = await copyGraph(sourceStore, targetStoreOpened, root, {
    tags,
    referrers: ctx.options.recursive,
    concurrency: concurrencyOption(ctx.options.concurrency),
    signal: interruptSignal(),
  });
  ctx.log(`Copied ${result.copied} and skipped ${result.skipped} existing blob(s) and manifest(s)`);
  const value = {
    source: formatTarget(source),
    destination: formatTarget({ ...destination, tags }),
    ...root,
    copied: result.copied,
    skipped: result.skipped,
    referrers: result.referrers,
  };
  return output(value, (v) => [`Copied ${v.source} => ${v.destination}`, `Digest: ${v.digest}`]);
}

/**
 * A credential typed for this command (`-u`, `-p`, `--password-stdin`, `--identity-token`) is for one registry:
 * refused when SRC and DST are two, each of which would be offered it.
 *
 * @throws {UsageError} for a typed credential with two registries
 */
function oneRegistryForCredential(ctx: CopyContext, source: Target, destination: Target): void {
  const { username, password, "password-stdin": stdin, "identity-token": token } = ctx.options;
  if (username === undefined && password === undefined && !stdin && token === undefined) return;
  if (source.kind !== "registry" || destination.kind !== "registry") return;
  if (source.ref.registry === destination.ref.registry) return;
  throw new UsageError(
    `Cannot use -u/-p/--identity-token to copy between two registries ("${source.ref.registry}" and ` +
      `"${destination.ref.registry}"): it would be offered to both; log in to each with kpm registry login`,
  );
}

/** Runs `kpm artifact tag`. */
export async function tag(ctx: CommandContext<typeof ARTIFACT_TAG_OPTIONS>): Promise<Output> {
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
  return output(
    { reference: formatTarget(target), ...descriptor, tags },
    (v) => [...v.tags.map((name) => `Tagged ${name}`), `Digest: ${v.digest}`],
  );
}

/** Runs `kpm artifact tags` (and `repo tags`; `--last T`: only the tags after T, as oras pages them). */
export async function tags(ctx: CommandContext<typeof ARTIFACT_TAGS_OPTIONS>): Promise<Output> {
  const target = parseTargetArg(ctx, ctx.args[0]!);
  const store = await targetStore(ctx, target);
  const list = after(await store.tags(), ctx.options.last);
  return output({ repository: store.name, tags: list }, (v) => v.tags);
}

/** The names after `last` in sorted order (all of them without `last`), as `--last` pages lists. */
export function after(names: string[], last: string | undefined): string[] {
  return last === undefined ? names : names.filter((name) => name > last);
}

/** Runs `kpm artifact manifest [fetch]`: the manifest's bytes (or descriptor) on stdout or into `-o FILE`. */
export async function manifest(ctx: CommandContext<typeof ARTIFACT_MANIFEST_OPTIONS>): Promise<Output> {
  const target = parseTargetArg(ctx, ctx.args[0]!);
  const store = await targetStore(ctx, target);
  let fetched = await store.fetchManifest(targetReference(target, "latest")!);
  const platform = platformOption(ctx.options.platform);
  if (platform && isIndex(fetched.manifest)) {
    fetched = await store.fetchManifest(selectManifest(fetched.manifest, formatTarget(target), platform));
  }
  const { descriptor, pretty, output: file } = ctx.options;
  // as the registry sent it, unless --descriptor or --pretty asks for JSON of kpm's
  const bytes = descriptor || pretty
    ? new TextEncoder().encode(
      `${JSON.stringify(descriptor ? fetched.descriptor : fetched.manifest, null, pretty ? 2 : undefined)}\n`,
    )
    : fetched.bytes;
  const toStdout = file === undefined || file === "-";
  if (!toStdout) await writeFileAtomic(resolve(ctx.cwd, file), bytes);
  return output(
    { descriptor: fetched.descriptor, manifest: fetched.manifest },
    () => toStdout ? bytes : [],
  );
}

/** Runs `kpm artifact blob [fetch]`: a blob, verified, into `-o FILE` or onto stdout with `-o -`. */
export async function blob(ctx: CommandContext<typeof ARTIFACT_BLOB_OPTIONS>): Promise<CommandResult> {
  const target = parseTargetArg(ctx, ctx.args[0]!);
  if (!target.digest) {
    throw new UsageError(
      `Usage: kpm artifact blob fetch REF@DIGEST -o FILE|- (no digest in "${ctx.args[0]}")`,
    );
  }
  const { output: file, descriptor: describeOnly } = ctx.options;
  if (!file && !describeOnly) {
    throw new UsageError(
      "Usage: kpm artifact blob fetch REF@DIGEST -o FILE|- (-o or --descriptor is required)",
    );
  }
  const store = await targetStore(ctx, target);
  const descriptor = await store.statBlob(target.digest);
  if (!descriptor) {
    throw new ArtifactError(`Cannot fetch blob "${target.digest}" from "${store.name}": not found`);
  }
  if (describeOnly && !file) return output(descriptor, (v) => [JSON.stringify(v)]);
  // verified as it streams: a mismatch ends the stream with an error (and exit status 1)
  if (file === "-") return { stream: await store.fetchBlob(descriptor) };
  const path = resolve(ctx.cwd, file!);
  await store.downloadBlob(descriptor, path);
  return output({ path, ...descriptor }, (v) => [`Downloaded ${v.digest} to ${v.path}`]);
}
