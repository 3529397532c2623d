/**
 * `kpm registry gc`: frees the space of content nothing references any more in an embedded registry's folder
 * (after deletes), with `--dry-run` to report only. It refuses to run while a server uses the folder.
 *
 * @module
 */

import { resolve } from "node:path";
import { collectGarbage } from "../server/gc.ts";
import { type CommandContext, type Output, output } from "./command.ts";
import { DEFAULT_ROOT, type GC_OPTIONS } from "./registry_commands.ts";

/** Runs `kpm registry gc`. */
export async function gc(ctx: CommandContext<typeof GC_OPTIONS>): Promise<Output> {
  const root = resolve(ctx.cwd, ctx.options.root ?? DEFAULT_ROOT);
  const report = await collectGarbage(root, { dryRun: ctx.options["dry-run"] });
  for (const entry of report.removed) {
    ctx.log(`${report.dryRun ? "would remove" : "removed"} ${entry.digest} (${entry.size} bytes)`);
  }
  return output({ root, ...report }, (v) => [
    `${
      v.dryRun ? "Would free" : "Freed"
    } ${v.bytes} bytes: ${v.removed.length} blobs, ${v.uploads} uploads, ${v.links} repository links`,
  ]);
}
