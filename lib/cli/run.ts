/**
 * `kpm run [SOURCE] [--tag T] [-- ARGS]`: resolve a package and its dependencies into the cache, then run the
 * KCL compiler on it.
 *
 * @module
 */

import { readLockFile, writeLockFile } from "../kpm/lockfile.ts";
import { fetchPackage } from "../kpm/oci_package.ts";
import { resolveDependencies } from "../kpm/resolve.ts";
import { runCompiler } from "../kpm/run.ts";
import type { Command, CommandContext } from "./command.ts";
import { stringOption } from "./command.ts";
import { kpmContext } from "./kpm_context.ts";

async function run(ctx: CommandContext): Promise<number> {
  const kc = await kpmContext(ctx);
  const source = ctx.args[0]
    ? kc.source(ctx.args[0], stringOption(ctx, "tag"))
    : { kind: "path" as const, path: ctx.cwd };
  if (source.kind === "archive") throw new Error(`Cannot run "${source.path}": extract the archive first`);
  const dir = source.kind === "path"
    ? source.path
    : (await fetchPackage(kc.client, source, { home: kc.home, log: ctx.log })).dir;
  const lock = await readLockFile(dir);
  const resolution = await resolveDependencies(kc.client, dir, {
    defaults: { registry: kc.settings.registry.value, repository: kc.settings.repository.value },
    home: kc.home,
    lock,
    log: ctx.log,
  });
  if (source.kind === "path") await writeLockFile(dir, resolution.lock);
  const dependencies = [...resolution.packages.values()].map((pkg) => ({ name: pkg.name, path: pkg.dir }));
  return await runCompiler(dir, { dependencies, args: ctx.passthrough, env: ctx.env });
}

/** `kpm run`. */
export const runCommand: Command = {
  path: ["run"],
  summary: "Resolve a package and run the KCL compiler on it",
  usage: "run [SOURCE] [--tag T] [-- ARGS for the KCL compiler]",
  options: { tag: { type: "string", value: "TAG", description: "the tag of an OCI source" } },
  args: { min: 0, max: 1 },
  run,
};
