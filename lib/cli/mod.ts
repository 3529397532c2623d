/**
 * `kpm mod init|add|push|pull|update|graph|metadata|pkg|remove` and `kpm config`, with the old `kpm init|…`
 * spellings.
 *
 * @module
 */

import { basename, join, relative, resolve } from "node:path";
import { writeFileAtomic } from "../oci/atomic_file.ts";
import { PackageError } from "../kpm/errors.ts";
import { LOCK_FILE, readLockFile, writeLockFile } from "../kpm/lockfile.ts";
import {
  DEFAULT_EDITION,
  type DependencySpec,
  editDependency,
  formatModFile,
  MOD_FILE,
  parseModFile,
  readModFile,
  writeModFile,
} from "../kpm/modfile.ts";
import { fetchPackage, pushPackage } from "../kpm/oci_package.ts";
import { packPackage } from "../kpm/package.ts";
import { resolveDependencies } from "../kpm/resolve.ts";
import type { Command, CommandContext } from "./command.ts";
import { flagOption, stringOption, UsageError } from "./command.ts";
import { type KpmContext, kpmContext } from "./kpm_context.ts";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function init(ctx: CommandContext): Promise<void> {
  const name = ctx.args[0] ?? basename(ctx.cwd);
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) {
    throw new UsageError(`Invalid package name "${name}": use letters, digits, "_", "-" and "."`);
  }
  const dir = ctx.args[0] ? resolve(ctx.cwd, name) : ctx.cwd;
  await Deno.mkdir(dir, { recursive: true });
  const files: [string, string][] = [
    [MOD_FILE, formatModFile({ name, edition: DEFAULT_EDITION, version: "0.0.1" })],
    [LOCK_FILE, ""],
    // no trailing newline, as the reference writes it (the package checksum depends on it)
    ["main.k", "The_first_kcl_program = 'Hello World!'"],
  ];
  const created: string[] = [];
  for (const [file, content] of files) {
    const path = join(dir, file);
    if (await exists(path)) {
      ctx.log(`'${path}' already exists, kept`);
      continue;
    }
    await writeFileAtomic(path, content);
    created.push(path);
    ctx.log(`creating new :${path}`);
  }
  if (ctx.global.json) ctx.json({ name, path: dir, created });
  ctx.out(`package '${name}' init finished`);
}

/** Pushes the current package to the argument, or to oci://REG/REPO/NAME from the settings. */
async function push(ctx: CommandContext): Promise<void> {
  const kc = await kpmContext(ctx);
  const dir = ctx.cwd;
  const mod = await readModFile(dir);
  const tag = stringOption(ctx, "tag");
  const input = ctx.args[0] ??
    `oci://${kc.settings.registry.value}/${kc.settings.repository.value}/${mod.package.name}`;
  const source = kc.source(input, tag);
  if (source.kind !== "oci") throw new UsageError(`Cannot push to "${input}": expected an oci:// URL`);
  ctx.log(`package '${mod.package.name}' will be pushed`);
  const pushed = await pushPackage(kc.client, dir, source, {
    force: flagOption(ctx, "force"),
    tempDir: kc.tempDir,
  });
  const url = `oci://${source.registry}/${source.repository}:${pushed.tag}`;
  if (ctx.global.json) {
    ctx.json({
      reference: url,
      name: pushed.name,
      version: pushed.version,
      tag: pushed.tag,
      sum: pushed.sum,
      ...pushed.manifest,
      layer: pushed.layer,
    });
    return;
  }
  ctx.out(`Pushed ${url}`);
  ctx.out(`Digest: ${pushed.manifest.digest}`);
}

/** Fetches a SOURCE (OCI or local) and returns its folder. */
async function materialize(kc: KpmContext, ctx: CommandContext, input: string, tag?: string) {
  const source = kc.source(input, tag);
  if (source.kind === "path") {
    const mod = await readModFile(source.path);
    return { dir: source.path, name: mod.package.name, version: mod.package.version ?? "", source };
  }
  if (source.kind === "archive") {
    const { unpackPackage } = await import("../kpm/package.ts");
    const dir = join(kc.tempDir, `archive-${crypto.randomUUID().slice(0, 8)}`);
    await unpackPackage((await Deno.open(source.path)).readable, dir, { name: source.path });
    const mod = await readModFile(dir).catch(async (error) => {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw error;
    });
    return { dir, name: mod.package.name, version: mod.package.version ?? "", source, temporary: dir };
  }
  const cached = await fetchPackage(kc.client, source, { home: kc.home, log: ctx.log });
  return { dir: cached.dir, name: cached.name, version: cached.version, tag: cached.tag, source };
}

async function pull(ctx: CommandContext): Promise<void> {
  const kc = await kpmContext(ctx);
  const oci = stringOption(ctx, "oci");
  const [input, dest] = oci !== undefined ? [oci, ctx.args[0]] : [ctx.args[0], ctx.args[1]];
  if (!input || (oci !== undefined && ctx.args.length > 1)) {
    throw new UsageError("Usage: kpm mod pull SOURCE [DEST] [--tag T] | --oci URL [DEST]");
  }
  const pulled = await materialize(kc, ctx, input, stringOption(ctx, "tag"));
  const base = resolve(ctx.cwd, dest ?? ".");
  const target = pulled.source.kind === "oci"
    ? join(base, "oci", pulled.source.registry, pulled.source.spelled, pulled.tag!)
    : join(base, `${pulled.name}_${pulled.version}`);
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

/**
 * Resolves the graph with `modText` as kcl.mod, then writes kcl.mod (if changed) and the lock. The current
 * lock's checksums are enforced unless `fresh` (mod update: take what the registry has now, still verified
 * against each package's own checksum annotation).
 */
async function relock(ctx: CommandContext, kc: KpmContext, dir: string, modText?: string, fresh = false) {
  const current = await readModFile(dir);
  const root = modText === undefined ? current : parseModFile(modText, current.path);
  const resolution = await resolveDependencies(kc.client, dir, {
    defaults: { registry: kc.settings.registry.value, repository: kc.settings.repository.value },
    home: kc.home,
    lock: fresh ? undefined : await readLockFile(dir),
    log: ctx.log,
    root,
    concurrency: kc.concurrency,
  });
  if (modText !== undefined && modText !== current.text) await writeModFile(dir, modText);
  await writeLockFile(dir, resolution.lock);
  return resolution;
}

async function add(ctx: CommandContext): Promise<void> {
  const kc = await kpmContext(ctx);
  const dir = ctx.cwd;
  const mod = await readModFile(dir);
  const input = stringOption(ctx, "oci") ?? ctx.args[0];
  if (!input) throw new UsageError("Usage: kpm mod add SOURCE [--tag T]");
  if (kc.source(input).kind === "archive") {
    throw new UsageError(`Cannot add "${input}": add a package folder or an OCI source, not an archive`);
  }
  const dep = await materialize(kc, ctx, input, stringOption(ctx, "tag"));
  let spec: DependencySpec;
  const { source } = dep;
  if (source.kind === "oci") {
    const isDefault = source.registry === kc.settings.registry.value &&
      source.repository === `${kc.settings.repository.value}/${dep.name}`.toLowerCase();
    spec = isDefault
      ? { kind: "registry", version: dep.tag! }
      : { kind: "oci", oci: `oci://${source.registry}/${source.spelled}`, tag: dep.tag };
  } else if (source.kind === "path") {
    spec = { kind: "path", path: relative(dir, source.path) || "." };
  } else {
    throw new UsageError(`Cannot add "${input}": add a package folder or an OCI source, not an archive`);
  }
  const name = stringOption(ctx, "rename") ?? dep.name;
  ctx.log(`adding dependency '${name}'`);
  await relock(ctx, kc, dir, editDependency(mod.text, name, spec));
  if (ctx.global.json) ctx.json({ name, version: dep.version, dependency: spec });
  ctx.out(`add dependency '${name}:${dep.version}' successfully`);
}

async function remove(ctx: CommandContext): Promise<void> {
  const kc = await kpmContext(ctx);
  const mod = await readModFile(ctx.cwd);
  const name = ctx.args[0]!;
  if (!mod.dependencies.has(name)) throw new PackageError(`No dependency "${name}" in "${mod.path}"`);
  await relock(ctx, kc, ctx.cwd, editDependency(mod.text, name, undefined));
  ctx.out(`removed dependency '${name}'`);
}

async function update(ctx: CommandContext): Promise<void> {
  const kc = await kpmContext(ctx);
  const resolution = await relock(ctx, kc, ctx.cwd, undefined, true);
  if (ctx.global.json) ctx.json({ lock: Object.fromEntries(resolution.lock) });
  ctx.out(`updated ${LOCK_FILE} (${resolution.lock.size} dependencies)`);
}

async function graph(ctx: CommandContext): Promise<void> {
  const kc = await kpmContext(ctx);
  const resolution = await relock(ctx, kc, ctx.cwd);
  if (ctx.global.json) {
    ctx.json({ edges: resolution.edges.map(([from, to]) => ({ from, to })) });
    return;
  }
  for (const [from, to] of resolution.edges) ctx.out(`${from} ${to}`);
}

async function metadata(ctx: CommandContext): Promise<void> {
  const kc = await kpmContext(ctx);
  const resolution = await relock(ctx, kc, ctx.cwd);
  const packages: Record<string, { name: string; manifest_path: string }> = {};
  // keyed and named as KCL imports them (`-` as `_`), like the reference's GetAliasName
  for (const [key, pkg] of resolution.packages) {
    const name = key.replaceAll("-", "_");
    packages[name] = { name, manifest_path: pkg.dir };
  }
  ctx.write(`${JSON.stringify({ packages })}\n`);
}

async function pkg(ctx: CommandContext): Promise<void> {
  const target = stringOption(ctx, "target");
  if (!target) throw new UsageError("Usage: kpm mod pkg --target FILE");
  const mod = await readModFile(ctx.cwd);
  const path = resolve(ctx.cwd, target);
  const gzip = /\.(tgz|gz)$/i.test(path);
  const temp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    const file = await Deno.open(temp, { write: true, createNew: true });
    await packPackage(ctx.cwd, { include: mod.package.include, exclude: mod.package.exclude, gzip }).pipeTo(
      file.writable,
    );
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
  if (ctx.global.json) ctx.json({ name: mod.package.name, version: mod.package.version, path });
  ctx.out(`packaged ${mod.package.name} ${mod.package.version ?? ""} into ${path}`);
}

async function config(ctx: CommandContext): Promise<void> {
  const { settings } = await kpmContext(ctx);
  const rows = {
    DefaultOciRegistry: settings.registry,
    DefaultOciRepo: settings.repository,
    DefaultOciPlainHttp: settings.plainHttp,
  };
  if (ctx.global.json) {
    ctx.json({ home: settings.home, settingsFile: settings.settingsFile, ...rows });
    return;
  }
  ctx.out(`KCL_PKG_PATH = ${settings.home}`);
  ctx.out(`settings file = ${settings.settingsFile}`);
  for (const [key, setting] of Object.entries(rows)) {
    ctx.out(`${key} = ${setting.value} (from ${setting.source})`);
  }
}

const tag = { type: "string", value: "TAG", description: "the tag (default: the version)" } as const;
const oci = { type: "string", value: "URL", description: "an oci:// URL (instead of SOURCE)" } as const;
const concurrency = {
  type: "string",
  value: "N",
  description: "packages downloaded at once (default 8, or $KPM_CONCURRENCY)",
} as const;

/** The package commands. */
export const modCommands: Command[] = [
  {
    path: ["mod", "init"],
    aliases: [["init"]],
    summary: "Create a KCL package (kcl.mod, kcl.mod.lock, main.k)",
    usage: "mod init [NAME]",
    args: { min: 0, max: 1 },
    run: init,
  },
  {
    path: ["mod", "add"],
    aliases: [["add"]],
    summary: "Add a dependency and lock the whole graph",
    usage: "mod add SOURCE [--tag T] | --oci URL",
    options: {
      tag,
      oci,
      rename: { type: "string", value: "NAME", description: "the name to import it as" },
      concurrency,
    },
    args: { min: 0, max: 1 },
    run: add,
  },
  {
    path: ["mod", "push"],
    aliases: [["push"]],
    summary: "Push the package in the current folder to an OCI registry",
    usage: "mod push [OCI_URL] [--tag T] [--force]",
    options: { tag, force: { type: "boolean", description: "overwrite an existing tag" } },
    args: { min: 0, max: 1 },
    run: push,
  },
  {
    path: ["mod", "pull"],
    aliases: [["pull"]],
    summary: "Download a package (into DEST/oci/REGISTRY/REPO/TAG)",
    usage: "mod pull SOURCE [DEST] [--tag T] | --oci URL [DEST]",
    options: { tag, oci },
    args: { min: 0, max: 2 },
    run: pull,
  },
  {
    path: ["mod", "update"],
    aliases: [["update"]],
    summary: "Re-resolve the dependencies and rewrite kcl.mod.lock",
    usage: "mod update [--concurrency N]",
    options: { concurrency },
    args: { min: 0, max: 0 },
    run: update,
  },
  {
    path: ["mod", "graph"],
    aliases: [["graph"]],
    summary: "Print the dependency graph as `a@v b@v` lines",
    usage: "mod graph",
    args: { min: 0, max: 0 },
    run: graph,
  },
  {
    path: ["mod", "metadata"],
    aliases: [["metadata"]],
    summary: "Print the resolved packages as JSON",
    usage: "mod metadata [--update]",
    options: {
      // accepted for the KCL tool chain (its language server runs `kcl mod metadata --update`)
      update: { type: "boolean", description: "download missing packages (kpm always does)" },
    },
    args: { min: 0, max: 0 },
    run: metadata,
  },
  {
    path: ["mod", "pkg"],
    aliases: [["pkg"]],
    summary: "Write the package as a tar (or .tgz) file",
    usage: "mod pkg --target FILE",
    options: { target: { type: "string", value: "FILE", description: "the archive to write" } },
    args: { min: 0, max: 0 },
    run: pkg,
  },
  {
    path: ["mod", "remove"],
    summary: "Remove a dependency and re-lock",
    usage: "mod remove NAME",
    args: { min: 1, max: 1 },
    run: remove,
  },
  {
    path: ["config"],
    summary: "Print kpm's settings and where each value comes from",
    usage: "config",
    args: { min: 0, max: 0 },
    run: config,
  },
];
