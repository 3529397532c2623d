/**
 * `kpm mod pull SOURCE [DEST]` (and `kpm pull`), and fetching any SOURCE (OCI, folder, archive) to a folder,
 * which `mod add` shares.
 *
 * @module
 */

import { join, resolve } from "node:path";
import { PackageError } from "../kpm/errors.ts";
import { readModFile } from "../kpm/modfile.ts";
import { fullName } from "../kpm/names.ts";
import { containedPath } from "../oci/contained_path.ts";
import { fetchPackage } from "../kpm/oci_package.ts";
import { unpackPackage } from "../kpm/package.ts";
import type { CommandContext } from "./command.ts";
import { stringOption, UsageError } from "./command.ts";
import { type KpmContext, kpmContext } from "./kpm_context.ts";

/** Whether a path exists (without following a final symlink). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Fetches a SOURCE (OCI into the cache, an archive into a temporary folder to remove afterwards, a folder as
 * it is) and returns its folder, name and version.
 *
 * @throws {PackageError} / {SourceError} when the source cannot be understood, fetched or verified
 */
export async function materialize(
  kc: KpmContext,
  ctx: CommandContext,
  { input, tag }: { input: string; tag?: string },
) {
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
  const cached = await fetchPackage(kc.client, source, { home: kc.home, log: ctx.log, verify: kc.verify });
  return { dir: cached.dir, name: cached.name, version: cached.version, tag: cached.tag, source };
}

/** Runs `kpm mod pull`. */
export async function pull(ctx: CommandContext): Promise<void> {
  const kc = await kpmContext(ctx);
  const oci = stringOption(ctx, "oci");
  const [input, dest] = oci !== undefined ? [oci, ctx.args[0]] : [ctx.args[0], ctx.args[1]];
  if (!input || (oci !== undefined && ctx.args.length > 1)) {
    throw new UsageError("Usage: kpm mod pull SOURCE [DEST] [--tag T] | --oci URL [DEST]");
  }
  const pulled = await materialize(kc, ctx, { input, tag: stringOption(ctx, "tag") });
  const base = resolve(ctx.cwd, dest ?? ".");
  const target = pulled.source.kind === "oci"
    ? containedPath(base, ["oci", pulled.source.registry, pulled.source.spelled, pulled.tag!], "pull target")
    : containedPath(base, [fullName(pulled.name, pulled.version, input)], "pull target");
  try {
    if (await exists(target)) throw new PackageError(`Cannot pull into "${target}": it exists`);
    await copyTree(pulled.dir, target);
  } finally {
    if (pulled.temporary) await Deno.remove(pulled.temporary, { recursive: true }).catch(() => {});
  }
  if (ctx.global.json) ctx.json({ name: pulled.name, version: pulled.version, path: target });
  ctx.out(`pulled ${pulled.name} ${pulled.version} successfully into ${target}`);
}

/** Copies a folder through a temporary sibling renamed into place. */
async function copyTree(from: string, to: string): Promise<void> {
  const temp = `${to}.${crypto.randomUUID().slice(0, 8)}.partial`;
  await Deno.mkdir(resolve(to, ".."), { recursive: true });
  const copy = async (src: string, dst: string) => {
    await Deno.mkdir(dst, { recursive: true });
    for await (const entry of Deno.readDir(src)) {
      if (entry.isDirectory) await copy(join(src, entry.name), join(dst, entry.name));
      else if (entry.isFile) await Deno.copyFile(join(src, entry.name), join(dst, entry.name));
    }
  };
  try {
    await copy(from, temp);
    await Deno.rename(temp, to);
  } catch (error) {
    await Deno.remove(temp, { recursive: true }).catch(() => {});
    throw error;
  }
}
