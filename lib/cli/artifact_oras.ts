/**
 * The ORAS-only artifact commands: `manifest delete|push`, `blob delete|push`, `repo ls` and `resolve`, on
 * registries (and, where a layout can do it, OCI layouts).
 *
 * @module
 */

import { resolve as resolvePath } from "node:path";
import { ArtifactError } from "../artifact/files.ts";
import { selectManifest } from "../artifact/platform.ts";
import { formatTarget, type Target, targetReference } from "../artifact/target.ts";
import type { BlobContent } from "../oci/blob_upload.ts";
import { digestOf, digestStream } from "../oci/digest.ts";
import { type Descriptor, isIndex, parseManifest } from "../oci/manifest.ts";
import { isValidHost } from "../oci/reference.ts";
import { Registry, Repository } from "../oci/repository.ts";
import { type CommandContext, type Output, output, UsageError } from "./command.ts";
import type {
  BLOB_PUSH_OPTIONS,
  DELETE_OPTIONS,
  MANIFEST_PUSH_OPTIONS,
  REPO_LIST_OPTIONS,
  RESOLVE_OPTIONS,
} from "./oras_commands.ts";
import {
  commandClient,
  parseTargetArg,
  platformOption,
  pushedText,
  type TargetContext,
  targetStore,
} from "./artifact.ts";
import { after } from "./artifact_admin.ts";
import { prompt } from "./prompt.ts";

/** What `manifest delete` and `blob delete` receive. */
type DeleteContext = CommandContext<typeof DELETE_OPTIONS>;

/** The registry store of a target; deleting is a registry operation. */
async function registryTarget(ctx: TargetContext, target: Target, what: string): Promise<Repository> {
  const store = await targetStore(ctx, target);
  if (!(store instanceof Repository)) {
    throw new UsageError(`Cannot ${what} in an OCI layout: kpm deletes only from registries`);
  }
  return store;
}

/** Asks before deleting unless -f; without a terminal, -f is required. */
async function confirmDelete(ctx: DeleteContext, what: string): Promise<void> {
  if (ctx.options.force) return;
  if (!ctx.stdinIsTerminal) throw new UsageError(`Refusing to delete ${what} without asking: add -f`);
  const answer = await prompt(ctx, `Are you sure you want to delete ${what}? [y/N] `);
  if (!/^y(es)?$/i.test(answer.trim())) throw new UsageError("Deletion cancelled");
}

/** Reads FILE, or stdin for `-`. */
async function readInput(ctx: CommandContext, file: string): Promise<Uint8Array> {
  if (file === "-") return new Uint8Array(await new Response(ctx.stdin).arrayBuffer());
  try {
    return await Deno.readFile(resolvePath(ctx.cwd, file));
  } catch (error) {
    throw new ArtifactError(`Cannot read "${file}": ${(error as Error).message}`);
  }
}

/** Runs `kpm artifact manifest delete`. */
export async function manifestDelete(ctx: DeleteContext): Promise<Output> {
  const target = parseTargetArg(ctx, ctx.args[0]!);
  const store = await registryTarget(ctx, target, "delete a manifest");
  const descriptor = await store.resolve(targetReference(target, "latest")!);
  await confirmDelete(ctx, `the manifest "${formatTarget(target)}" (${descriptor.digest})`);
  await store.manifests.delete(descriptor.digest);
  return output(
    { reference: formatTarget(target), deleted: descriptor },
    (v) => [`Deleted ${store.name}@${v.deleted.digest}`],
  );
}

/** Runs `kpm artifact manifest push`: a manifest file as it is, under each tag given (or by digest). */
export async function manifestPush(ctx: CommandContext<typeof MANIFEST_PUSH_OPTIONS>): Promise<Output> {
  const target = parseTargetArg(ctx, ctx.args[0]!, { multipleTags: true });
  const bytes = await readInput(ctx, ctx.args[1]!);
  let mediaType = ctx.options["media-type"];
  if (mediaType === undefined) {
    try {
      mediaType = JSON.parse(new TextDecoder().decode(bytes)).mediaType;
    } catch {
      throw new ArtifactError(`Cannot push "${ctx.args[1]}": it is not JSON`);
    }
    if (typeof mediaType !== "string") {
      throw new UsageError(`"${ctx.args[1]}" has no mediaType field: give --media-type`);
    }
  }
  parseManifest(bytes, mediaType); // refuse what no registry would take, before sending it
  const store = await targetStore(ctx, target, true);
  if (target.digest && target.digest !== digestOf(bytes)) {
    throw new UsageError(`"${ctx.args[1]}" has digest ${digestOf(bytes)}, not ${target.digest}`);
  }
  const tags = target.tags.length ? target.tags : [undefined];
  let pushed;
  for (const tag of tags) pushed = await store.pushManifest(bytes, mediaType, { tag });
  return output({ reference: formatTarget(target), ...pushed! }, pushedText);
}

/** Runs `kpm artifact blob delete`. */
export async function blobDelete(ctx: DeleteContext): Promise<Output> {
  const target = parseTargetArg(ctx, ctx.args[0]!);
  if (!target.digest) {
    throw new UsageError(`Usage: kpm artifact blob delete REF@DIGEST (no digest in "${ctx.args[0]}")`);
  }
  const store = await registryTarget(ctx, target, "delete a blob");
  await confirmDelete(ctx, `the blob "${store.name}@${target.digest}"`);
  await store.blobs.delete(target.digest);
  return output(
    { reference: formatTarget(target), deleted: target.digest },
    (v) => [`Deleted ${store.name}@${v.deleted}`],
  );
}

/**
 * A blob to push and its descriptor: FILE is read twice, hashed and then sent, so memory stays flat whatever its
 * size; stdin (`-`) cannot be read again and is held in memory.
 */
async function blobInput(
  ctx: CommandContext,
  file: string,
  mediaType: string,
): Promise<{ descriptor: Descriptor; content: BlobContent }> {
  if (file === "-") {
    const bytes = await readInput(ctx, file);
    return { descriptor: { mediaType, digest: digestOf(bytes), size: bytes.byteLength }, content: bytes };
  }
  const path = resolvePath(ctx.cwd, file);
  const open = async () => (await Deno.open(path)).readable;
  try {
    const { digest, size } = await digestStream(await open());
    return { descriptor: { mediaType, digest, size }, content: open };
  } catch (error) {
    throw new ArtifactError(`Cannot read "${file}": ${(error as Error).message}`);
  }
}

/** Runs `kpm artifact blob push`: a file (or stdin) as a blob; prints its descriptor with --json. */
export async function blobPush(ctx: CommandContext<typeof BLOB_PUSH_OPTIONS>): Promise<Output> {
  const target = parseTargetArg(ctx, ctx.args[0]!);
  const mediaType = ctx.options["media-type"] ?? "application/octet-stream";
  const { descriptor, content } = await blobInput(ctx, ctx.args[1]!, mediaType);
  if (target.digest && target.digest !== descriptor.digest) {
    throw new UsageError(`"${ctx.args[1]}" has digest ${descriptor.digest}, not ${target.digest}`);
  }
  const store = await targetStore(ctx, target, true);
  const outcome = await store.pushBlob(descriptor, content);
  ctx.log(`${outcome === "exists" ? "Exists" : "Uploaded"} ${descriptor.digest}`);
  return output(descriptor, (v) => pushedText({ reference: `${store.name}@${v.digest}`, digest: v.digest }));
}

/** Runs `kpm artifact repo ls REGISTRY[/NAMESPACE]`: the catalog, under a namespace if given. */
export async function repoList(ctx: CommandContext<typeof REPO_LIST_OPTIONS>): Promise<Output> {
  const [registry, ...rest] = ctx.args[0]!.replace(/\/+$/, "").split("/");
  if (!registry || !isValidHost(registry)) {
    throw new UsageError(`Invalid registry "${ctx.args[0]}": expected HOST[:PORT][/NAMESPACE]`);
  }
  const namespace = rest.join("/");
  const all = await new Registry(await commandClient(ctx), registry).repositories();
  const inside = namespace
    ? all.filter((r) => r.startsWith(`${namespace}/`)).map((r) => r.slice(namespace.length + 1))
    : all;
  const list = after(inside, ctx.options.last);
  return output({ registry, namespace, repositories: list }, (v) => v.repositories);
}

/** Runs `kpm artifact resolve`: the digest of a tag (of the platform's manifest for an index). */
export async function resolve(ctx: CommandContext<typeof RESOLVE_OPTIONS>): Promise<Output> {
  const target = parseTargetArg(ctx, ctx.args[0]!);
  const store = await targetStore(ctx, target);
  let descriptor = await store.resolve(targetReference(target, "latest")!);
  const platform = platformOption(ctx.options.platform);
  if (platform) {
    const { manifest } = await store.fetchManifest(descriptor);
    if (isIndex(manifest)) descriptor = selectManifest(manifest, formatTarget(target), platform);
  }
  const full = ctx.options["full-reference"];
  return output(descriptor, (v) => [full ? `${store.name}@${v.digest}` : v.digest]);
}
