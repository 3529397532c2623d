/**
 * `kpm config`: each setting kpm resolved (default registry, repository, plain HTTP), and where its value came
 * from (flag, env, kpm.json or default).
 *
 * @module
 */

import type { CommandContext } from "./command.ts";
import { kpmContext } from "./kpm_context.ts";

/** Runs `kpm config`. */
export async function config(ctx: CommandContext): Promise<void> {
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
