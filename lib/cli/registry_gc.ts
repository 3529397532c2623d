/**
 * `kpm registry gc`: frees the space of content nothing references any more in an embedded registry's folder
 * (after deletes), with `--dry-run` to report only. It refuses to run while a server uses the folder.
 *
 * @module
 */

import { resolve } from "node:path";
import { collectGarbage } from "../server/gc.ts";
import type { CommandContext } from "./command.ts";
import { flagOption, stringOption } from "./command.ts";
import { DEFAULT_ROOT } from "./registry_commands.ts";

/** Runs `kpm registry gc`. */
export async function gc(ctx: CommandContext): Promise<void> {
  const root = resolve(ctx.cwd, stringOption(ctx, "root") ?? DEFAULT_ROOT);
  const report = await collectGarbage(root, { dryRun: flagOption(ctx, "dry-run") });
  if (ctx.global.json) {
    ctx.json({ root, ...report });
    return;
  }
  for (const entry of report.removed) {
    ctx.log(`${report.dryRun ? "would remove" : "removed"} ${entry.digest} (${entry.size} bytes)`);
  }
  const verb = report.dryRun ? "Would free" : "Freed";
  ctx.out(
    `${verb} ${report.bytes} bytes: ${report.removed.length} blobs, ${report.uploads} uploads, ${report.links} repository links`,
  );
}
