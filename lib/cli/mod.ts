/**
 * `kpm mod init|add|push|pull|update|graph|metadata|pkg|remove` and `kpm config`, with the old `kpm init|…`
 * spellings.
 *
 * @module
 */

import { basename, join, relative, resolve } from "node:path";
import { writeFileAtomic } from "../oci/atomic_file.ts";
import { PackageError } from "../kpm/errors.ts";
import { LOCK_FILE, type LockedDependency, readLockFile, writeLockFile } from "../kpm/lockfile.ts";
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
import { fetchGitPackage } from "../kpm/git_package.ts";
import { isPackageName } from "../kpm/names.ts";
import { pushPackage } from "../kpm/oci_package.ts";
import { Repository } from "../oci/repository.ts";
import { packPackage, unpackPackage } from "../kpm/package.ts";
import { resolveDependencies } from "../kpm/resolve.ts";
import { type CommandContext, type Output, output, UsageError } from "./command.ts";
import type {
  MOD_ADD_OPTIONS,
  MOD_INIT_OPTIONS,
  MOD_METADATA_OPTIONS,
  MOD_PKG_OPTIONS,
  MOD_PUSH_OPTIONS,
  MOD_UPDATE_OPTIONS,
} from "./mod_commands.ts";
import { isLayoutInput, layoutTarget, materialize } from "./mod_pull.ts";
import { vendorPackages } from "./mod_vendor.ts";
import { progress } from "./progress.ts";
import { exists } from "../oci/if_found.ts";
import { type KpmContext, kpmContext } from "./kpm_context.ts";
import { interruptSignal } from "./interrupt.ts";

/** Runs `kpm mod init`. */
export async function init(ctx: CommandContext<typeof MOD_INIT_OPTIONS>): Promise<Output> {
  const name = ctx.args[0] ?? basename(ctx.cwd);
  if (!isPackageName(name)) {
    throw new UsageError(
      `Invalid package name "${name}": use letters, digits, "_", "-" and "." (at most 128)`,
    );
  }
  const dir = ctx.args[0] ? resolve(ctx.cwd, name) : ctx.cwd;
  await Deno.mkdir(dir, { recursive: true });
  const files: [string, string][] = [
    [
      MOD_FILE,
      formatModFile({ name, edition: DEFAULT_EDITION, version: ctx.options.version ?? "0.0.1" }),
    ],
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
  return output({ name, path: dir, created }, (v) => [`package '${v.name}' init finished`]);
}

/**
 * Runs `kpm mod push`: the package in the current folder (or in `--tar_path FILE`), with `--vendor` its
 * dependencies copied into `vendor/` first, to the argument or to oci://REG/REPO/NAME from the settings.
 */
export async function push(ctx: CommandContext<typeof MOD_PUSH_OPTIONS>): Promise<Output> {
  const kc = await kpmContext(ctx);
  const tarPath = ctx.options.tar_path;
  if (tarPath === undefined) return await pushFolder(ctx, kc, ctx.cwd);
  const dir = join(kc.tempDir, `push-${crypto.randomUUID().slice(0, 8)}`);
  try {
    const path = resolve(ctx.cwd, tarPath);
    await unpackPackage((await Deno.open(path)).readable, dir, { name: path });
    return await pushFolder(ctx, kc, dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function pushFolder(
  ctx: CommandContext<typeof MOD_PUSH_OPTIONS>,
  kc: KpmContext,
  dir: string,
): Promise<Output> {
  const mod = await readModFile(dir);
  if (ctx.options.vendor) await vendorPackages(dir, (await relock(ctx, kc, dir)).packages);
  for (const pulled of ["oci", "git"]) {
    if (await exists(join(dir, pulled))) {
      ctx.log(
        `note: "${pulled}/" (packages pulled here) is packed too, as the reference does; ` +
          `leave it out with exclude = ["${pulled}/"] under [package] in kcl.mod`,
      );
    }
  }
  const { store, url } = await pushTarget(ctx, kc, mod.package.name);
  // the key (and its password) first, so that a wrong one fails before anything is pushed
  const signKey = ctx.options.sign;
  const key = signKey === undefined
    ? undefined
    : await import("./artifact_sign.ts").then((m) => m.signingKey(ctx, signKey));
  ctx.log(`package '${mod.package.name}' will be pushed`);
  const bar = progress(ctx, "Pushing");
  const pushed = await pushPackage(store, dir, {
    tag: url.tag,
    force: ctx.options.force,
    tempDir: kc.tempDir,
    onProgress: bar.update,
  }).finally(bar.done);
  const reference = `${url.base}:${pushed.tag}`;
  const signed = key &&
    await import("../oci/sign/cosign.ts").then((m) => m.signManifest(store, pushed.manifest, key));
  const value = {
    reference,
    name: pushed.name,
    version: pushed.version,
    tag: pushed.tag,
    sum: pushed.sum,
    ...pushed.manifest,
    layer: pushed.layer,
    ...(signed && { signature: { tag: signed.tag, ...signed.signatures } }),
  };
  return output(value, (v) => [
    `Pushed ${v.reference}`,
    `Digest: ${v.digest}`,
    ...(v.signature ? [`Signed: ${store.name}:${v.signature.tag}`] : []),
  ]);
}

/**
 * Where `mod push` writes: an OCI layout (`oci-layout:DIR[:TAG]`, or DIR with `--oci-layout`, as `kpm artifact
 * push` spells it) or an OCI source (the argument, else oci://REG/REPO/NAME from the settings); the tag given
 * (`:TAG` or `--tag`), and how the pushed reference is shown (`oci://HOST/REPO`, `oci-layout:DIR`).
 *
 * @throws {UsageError} for a malformed target, or a target that is not an OCI source or layout
 */
async function pushTarget(ctx: CommandContext<typeof MOD_PUSH_OPTIONS>, kc: KpmContext, name: string) {
  const tag = ctx.options.tag;
  const input = ctx.args[0] ?? `oci://${kc.settings.registry.value}/${kc.settings.repository.value}/${name}`;
  if (isLayoutInput(ctx, input)) {
    if (ctx.args[0] === undefined) throw new UsageError("Usage: kpm mod push --oci-layout DIR[:TAG]");
    const layout = await layoutTarget(ctx, input, { tag, create: true });
    return { store: layout.store, url: { base: layout.store.name, tag: layout.tag } };
  }
  const source = kc.source(input, tag);
  if (source.kind !== "oci") throw new UsageError(`Cannot push to "${input}": expected an oci:// URL`);
  const store = new Repository(kc.client, source);
  return { store, url: { base: `oci://${source.registry}/${source.repository}`, tag: source.tag } };
}

/**
 * Resolves the graph with `modText` as kcl.mod, then writes kcl.mod (if changed) and the lock. The current
 * lock's checksums are enforced unless `fresh` (mod update: take what the registry has now, still verified
 * against each package's own checksum annotation).
 */
async function relock(
  ctx: CommandContext & { options: { no_sum_check?: boolean } },
  kc: KpmContext,
  dir: string,
  modText?: string,
  fresh = false,
) {
  const current = await readModFile(dir);
  const root = modText === undefined ? current : parseModFile(modText, current.path);
  // --no_sum_check (the KCL CLI's): neither check the lock's checksums nor rewrite the lock
  const noSumCheck = ctx.options.no_sum_check === true;
  const resolution = await resolveDependencies(kc.client, dir, {
    defaults: { registry: kc.settings.registry.value, repository: kc.settings.repository.value },
    home: kc.home,
    lock: fresh || noSumCheck ? withoutSums(await readLockFile(dir)) : await readLockFile(dir),
    log: ctx.log,
    root,
    concurrency: kc.concurrency,
    signal: interruptSignal(),
    verify: kc.verify,
    git: kc.git,
  });
  if (modText !== undefined && modText !== current.text) await writeModFile(dir, modText);
  if (!noSumCheck) await writeLockFile(dir, resolution.lock);
  return resolution;
}

/** The lock with its checksums dropped: it still says where each package came from, but pins no content. */
function withoutSums(lock: Map<string, LockedDependency>): Map<string, LockedDependency> {
  return new Map([...lock].map(([name, entry]) => [name, { ...entry, sum: undefined }]));
}

/** The dependency `mod add` writes for an OCI, path or git SOURCE, and the package's name and version. */
async function addedDependency(
  ctx: CommandContext<typeof MOD_ADD_OPTIONS>,
  kc: KpmContext,
  dir: string,
): Promise<{ spec: DependencySpec; name: string; version: string }> {
  const { git: gitUrl, tag } = ctx.options;
  if (gitUrl !== undefined) {
    const refs = { tag, commit: ctx.options.commit, branch: ctx.options.branch };
    const given = Object.entries(refs).filter(([, v]) => v !== undefined);
    if (given.length > 1 || ctx.args.length > 0) {
      throw new UsageError("Usage: kpm mod add --git URL [--tag T | --commit C | --branch B]");
    }
    const git = { url: gitUrl, ...Object.fromEntries(given) };
    const cached = await fetchGitPackage(git, { home: kc.home, ...kc.git });
    return { spec: { kind: "git", git: gitUrl, ...Object.fromEntries(given) }, ...cached };
  }
  const input = ctx.options.oci ?? ctx.options.path ?? ctx.args[0];
  if (!input) {
    throw new UsageError("Usage: kpm mod add SOURCE [--tag T] | --oci URL | --git URL | --path DIR");
  }
  if (isLayoutInput(ctx, input)) {
    throw new UsageError(
      `Cannot add "${input}": kcl.mod cannot name an OCI layout; copy it into a registry (kpm artifact copy) and add that`,
    );
  }
  if (kc.source(input).kind === "archive") {
    throw new UsageError(`Cannot add "${input}": add a package folder or an OCI source, not an archive`);
  }
  const dep = await materialize(kc, ctx, { input, tag });
  const { source } = dep;
  if (source.kind === "oci") {
    const isDefault = source.registry === kc.settings.registry.value &&
      source.repository === `${kc.settings.repository.value}/${dep.name}`.toLowerCase();
    const spec: DependencySpec = isDefault
      ? { kind: "registry", version: dep.tag! }
      : { kind: "oci", oci: `oci://${source.registry}/${source.spelled}`, tag: dep.tag };
    return { spec, name: dep.name, version: dep.version };
  }
  return {
    spec: { kind: "path", path: relative(dir, dep.dir) || "." },
    name: dep.name,
    version: dep.version,
  };
}

/** Runs `kpm mod add`. */
export async function add(ctx: CommandContext<typeof MOD_ADD_OPTIONS>): Promise<Output> {
  const kc = await kpmContext(ctx);
  const dir = ctx.cwd;
  const mod = await readModFile(dir);
  const added = await addedDependency(ctx, kc, dir);
  const name = ctx.options.rename ?? added.name;
  // under another name, kcl.mod says which package it is (the alias form)
  const spec: DependencySpec = name === added.name ? added.spec : { ...added.spec, package: added.name };
  ctx.log(`adding dependency '${name}'`);
  await relock(ctx, kc, dir, editDependency(mod.text, name, spec));
  return output(
    { name, version: added.version, dependency: spec },
    (v) => [`add dependency '${v.name}:${v.version}' successfully`],
  );
}

/** Runs `kpm mod remove`. */
export async function remove(ctx: CommandContext): Promise<Output> {
  const kc = await kpmContext(ctx);
  const mod = await readModFile(ctx.cwd);
  const name = ctx.args[0]!;
  if (!mod.dependencies.has(name)) throw new PackageError(`No dependency "${name}" in "${mod.path}"`);
  await relock(ctx, kc, ctx.cwd, editDependency(mod.text, name, undefined));
  return output({ name, removed: true }, (v) => [`removed dependency '${v.name}'`]);
}

/** Runs `kpm mod update`. */
export async function update(ctx: CommandContext<typeof MOD_UPDATE_OPTIONS>): Promise<Output> {
  const kc = await kpmContext(ctx);
  const resolution = await relock(ctx, kc, ctx.cwd, undefined, true);
  return output(
    { lock: Object.fromEntries(resolution.lock) },
    (v) => [`updated ${LOCK_FILE} (${Object.keys(v.lock).length} dependencies)`],
  );
}

/** Runs `kpm mod graph`. */
export async function graph(ctx: CommandContext): Promise<Output> {
  const kc = await kpmContext(ctx);
  const resolution = await relock(ctx, kc, ctx.cwd);
  return output(
    { edges: resolution.edges.map(([from, to]) => ({ from, to })) },
    (v) => v.edges.map(({ from, to }) => `${from} ${to}`),
  );
}

/** Runs `kpm mod metadata`. */
export async function metadata(ctx: CommandContext<typeof MOD_METADATA_OPTIONS>): Promise<Output> {
  const kc = await kpmContext(ctx);
  const resolution = await relock(ctx, kc, ctx.cwd);
  const resolved = ctx.options.vendor
    ? await vendorPackages(ctx.cwd, resolution.packages)
    : resolution.packages;
  const packages: Record<string, { name: string; manifest_path: string }> = {};
  // keyed and named as KCL imports them (`-` as `_`), like the reference's GetAliasName
  for (const [key, pkg] of resolved) {
    const name = key.replaceAll("-", "_");
    packages[name] = { name, manifest_path: pkg.dir };
  }
  // one line, as the KCL tool chain reads it (with --json: the indented document, as for every command)
  return output({ packages }, (v) => new TextEncoder().encode(`${JSON.stringify(v)}\n`));
}

/** Runs `kpm mod pkg`. */
export async function pkg(ctx: CommandContext<typeof MOD_PKG_OPTIONS>): Promise<Output> {
  const target = ctx.options.target;
  if (!target) throw new UsageError("Usage: kpm mod pkg --target FILE");
  const mod = await readModFile(ctx.cwd);
  if (ctx.options.vendor) {
    await vendorPackages(ctx.cwd, (await relock(ctx, await kpmContext(ctx), ctx.cwd)).packages);
  }
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
  return output(
    { name: mod.package.name, version: mod.package.version, path },
    (v) => [`packaged ${v.name} ${v.version ?? ""} into ${v.path}`],
  );
}
