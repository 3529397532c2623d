/**
 * `kpm run [SOURCE] [--tag T] [-- ARGS]`: resolve a package and its dependencies into the cache, then run the
 * KCL compiler on it.
 *
 * @module
 */

import { join } from "node:path";
import { unpackPackage } from "../kpm/package.ts";
import { readLockFile, writeLockFile } from "../kpm/lockfile.ts";
import { fetchPackage } from "../kpm/oci_package.ts";
import { resolveDependencies } from "../kpm/resolve.ts";
import { runCompiler } from "../kpm/run.ts";
import { type CommandContext, type Exited, UsageError } from "./command.ts";
import type { RUN_OPTIONS } from "./mod_commands.ts";
import { type KpmContext, kpmContext } from "./kpm_context.ts";
import { interruptSignal } from "./interrupt.ts";

/** Runs `kpm run`. */
export async function run(ctx: CommandContext<typeof RUN_OPTIONS>): Promise<Exited> {
  const kc = await kpmContext(ctx);
  const input = ctx.options.oci ?? ctx.args[0];
  if (ctx.options.oci !== undefined && ctx.args.length > 0) {
    throw new UsageError("Usage: kpm run [SOURCE | --oci URL] [--tag T] [-- ARGS]");
  }
  const source = input ? kc.source(input, ctx.options.tag) : { kind: "path" as const, path: ctx.cwd };
  let dir: string;
  let temporary: string | undefined;
  if (source.kind === "path") dir = source.path;
  else if (source.kind === "oci") {
    dir = (await fetchPackage(kc.client, source, { home: kc.home, log: ctx.log, verify: kc.verify })).dir;
  } else {
    dir = temporary = join(kc.tempDir, `run-${crypto.randomUUID().slice(0, 8)}`);
    await unpackPackage((await Deno.open(source.path)).readable, dir, { name: source.path });
  }
  try {
    return { status: await resolveAndRun(ctx, kc, dir, source.kind === "path") };
  } finally {
    if (temporary) await Deno.remove(temporary, { recursive: true }).catch(() => {});
  }
}

async function resolveAndRun(ctx: CommandContext, kc: KpmContext, dir: string, writeLock: boolean) {
  const lock = await readLockFile(dir);
  const resolution = await resolveDependencies(kc.client, dir, {
    defaults: { registry: kc.settings.registry.value, repository: kc.settings.repository.value },
    home: kc.home,
    lock,
    log: ctx.log,
    concurrency: kc.concurrency,
    signal: interruptSignal(),
    verify: kc.verify,
    git: kc.git,
  });
  if (writeLock) await writeLockFile(dir, resolution.lock);
  const dependencies = [...resolution.packages.values()].map((pkg) => ({ name: pkg.name, path: pkg.dir }));
  return await runCompiler(dir, {
    compiler: kc.settings.compiler.value,
    dependencies,
    args: ctx.passthrough,
    cwd: ctx.cwd,
  });
}
