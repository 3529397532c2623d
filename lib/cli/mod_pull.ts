/**
 * `kpm mod pull SOURCE [DEST]` (and `kpm pull`), and fetching any SOURCE (OCI, folder, archive) to a folder,
 * which `mod add` shares.
 *
 * @module
 */

import { basename, join, resolve } from "node:path";
import { LAYOUT_PREFIX } from "../artifact/target.ts";
import { fetchGitPackage, gitRef, type GitSource } from "../kpm/git_package.ts";
import { readModFile } from "../kpm/modfile.ts";
import { fullName } from "../kpm/names.ts";
import { containedPath } from "../oci/contained_path.ts";
import { fetchPackage, fetchStoredPackage, resolveTag } from "../kpm/oci_package.ts";
import type { Store } from "../oci/store.ts";
import { unpackPackage } from "../kpm/package.ts";
import { type CommandContext, type Output, output, UsageError } from "./command.ts";
import type { MOD_PULL_OPTIONS } from "./mod_commands.ts";
import type { TargetContext } from "./artifact.ts";
import { type KpmContext, kpmContext } from "./kpm_context.ts";
import { replaceTree } from "./tree_copy.ts";
import { progress } from "./progress.ts";

/**
 * Fetches a SOURCE (OCI into the cache, an archive into a temporary folder to remove afterwards, a folder as
 * it is) and returns its folder, name and version.
 *
 * @throws {PackageError} / {SourceError} when the source cannot be understood, fetched or verified
 */
export async function materialize(
  kc: KpmContext,
  ctx: TargetContext,
  { input, tag }: { input: string; tag?: string },
) {
  if (isLayoutInput(ctx, input)) return await materializeLayout(kc, ctx, input, tag);
  const source = kc.source(input, tag);
  if (source.kind === "path") {
    const mod = await readModFile(source.path);
    return { dir: source.path, name: mod.package.name, version: mod.package.version ?? "", source };
  }
  if (source.kind === "archive") {
    const dir = join(kc.tempDir, `archive-${crypto.randomUUID().slice(0, 8)}`);
    await unpackPackage((await Deno.open(source.path)).readable, dir, { name: source.path });
    const mod = await readModFile(dir).catch(async (error) => {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw error;
    });
    return { dir, name: mod.package.name, version: mod.package.version ?? "", source, temporary: dir };
  }
  const bar = progress(ctx, "Pulling");
  const cached = await fetchPackage(kc.client, source, {
    home: kc.home,
    log: ctx.log,
    verify: kc.verify,
    onProgress: bar.update,
  }).finally(bar.done);
  return { dir: cached.dir, name: cached.name, version: cached.version, tag: cached.tag, source };
}

/** Whether a SOURCE (or `mod push` target) names an OCI layout: `oci-layout:DIR[:TAG]`, or DIR with `--oci-layout`. */
export function isLayoutInput(ctx: TargetContext, input: string): boolean {
  return ctx.options["oci-layout"] === true || input.startsWith(LAYOUT_PREFIX);
}

/**
 * Opens the OCI layout a `mod push` target or `mod pull` SOURCE names (`oci-layout:DIR[:TAG]`, or DIR with
 * `--oci-layout`, as `kpm artifact` spells them), and the tag it names there or with `--tag`.
 *
 * @param create make the layout when missing (push)
 * @throws {UsageError} for a malformed reference, a digest, or two different tags
 */
export async function layoutTarget(
  ctx: TargetContext,
  input: string,
  options: { tag?: string; create?: boolean },
): Promise<{ store: Store; tag?: string }> {
  const { parseTargetArg, targetStore } = await import("./artifact.ts");
  const target = parseTargetArg(ctx, input);
  if (target.kind !== "layout" || target.digest) {
    throw new UsageError(`Invalid OCI layout "${input}": expected an OCI layout folder and a tag, DIR[:TAG]`);
  }
  const named = target.tags[0];
  if (options.tag !== undefined && named !== undefined && options.tag !== named) {
    throw new UsageError(`Invalid OCI layout "${input}": it names tag "${named}" and --tag "${options.tag}"`);
  }
  return { store: await targetStore(ctx, target, options.create), tag: named ?? options.tag };
}

/**
 * Fetches a package out of an OCI layout into the cache, verified against its checksum (a layout is a local
 * folder, like a package folder or archive: the trust policy, which names registries, does not cover it).
 */
async function materializeLayout(kc: KpmContext, ctx: TargetContext, input: string, given?: string) {
  const { store, tag } = await layoutTarget(ctx, input, { tag: given });
  const chosen = await resolveTag(store, tag);
  const bar = progress(ctx, "Pulling");
  const cached = await fetchStoredPackage(store, chosen, {
    home: kc.home,
    log: ctx.log,
    onProgress: bar.update,
    where: `${store.name}:${chosen}`,
    fallbackName: basename(store.name),
  }).finally(bar.done);
  const source = { kind: "layout" as const, path: store.name };
  return { dir: cached.dir, name: cached.name, version: cached.version, tag: cached.tag, source };
}

/** The package `mod pull --git URL [--tag|--commit|--branch]` fetches, and its folder under DEST (as the reference). */
async function pullGit(ctx: CommandContext<typeof MOD_PULL_OPTIONS>, kc: KpmContext, url: string) {
  const { tag, commit, branch } = ctx.options;
  const given = Object.entries({ tag, commit, branch }).filter(([, value]) => value !== undefined);
  if (given.length > 1 || ctx.args.length > 1) {
    throw new UsageError("Usage: kpm mod pull --git URL [DEST] [--tag T | --commit C | --branch B]");
  }
  const git: GitSource = { url, ...Object.fromEntries(given) };
  let where: string[];
  try {
    const parsed = new URL(url);
    where = ["git", parsed.host, ...parsed.pathname.split("/"), gitRef(git)].filter(Boolean);
  } catch {
    throw new UsageError(`Invalid --git "${url}": expected a URL`);
  }
  return { ...await fetchGitPackage(git, { home: kc.home, ...kc.git }), where };
}

/** Runs `kpm mod pull`. */
export async function pull(ctx: CommandContext<typeof MOD_PULL_OPTIONS>): Promise<Output> {
  const kc = await kpmContext(ctx);
  const git = ctx.options.git;
  const oci = ctx.options.oci ?? git;
  const [input, dest] = oci !== undefined ? [oci, ctx.args[0]] : [ctx.args[0], ctx.args[1]];
  if (!input || (oci !== undefined && ctx.args.length > 1)) {
    throw new UsageError("Usage: kpm mod pull SOURCE [DEST] [--tag T] | --oci URL [DEST] | --git URL [DEST]");
  }
  const pulled = git !== undefined
    ? await pullGit(ctx, kc, git)
    : await materialize(kc, ctx, { input, tag: ctx.options.tag });
  const base = resolve(ctx.cwd, dest ?? ".");
  const target = "where" in pulled
    ? containedPath(base, pulled.where, "pull target")
    : pulled.source.kind === "oci"
    ? containedPath(base, ["oci", pulled.source.registry, pulled.source.spelled, pulled.tag!], "pull target")
    : containedPath(base, [fullName(pulled.name, pulled.version, input)], "pull target");
  try {
    if (await replaceTree(pulled.dir, target)) {
      ctx.log(`'${target}' existed; replaced it with the pulled package`);
    }
  } finally {
    if ("temporary" in pulled && pulled.temporary) {
      await Deno.remove(pulled.temporary, { recursive: true }).catch(() => {});
    }
  }
  return output(
    { name: pulled.name, version: pulled.version, path: target },
    (v) => [`pulled ${v.name} ${v.version} successfully into ${v.path}`],
  );
}
