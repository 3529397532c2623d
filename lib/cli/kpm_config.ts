/**
 * `kpm config`: each setting kpm resolved (default registry, repository, plain HTTP), and where its value came
 * from (flag, env, kpm.json or default; `--json` also names the flag, variable or file), and the trust policy's
 * entries. Only `kpm config set|unset` write kpm.json.
 *
 * @module
 */

import { kpmJsonPath, writeSetting } from "../config/kpm_json.ts";
import type { CommandContext } from "./command.ts";
import { kpmSettings } from "./kpm_context.ts";
import { clientSettings } from "./registry_context.ts";
import { readTrustPolicy } from "../kpm/trust_policy.ts";

/** Runs `kpm config set KEY VALUE`: persists a default in kpm.json. */
export async function configSet(ctx: CommandContext): Promise<void> {
  await changeSetting(ctx, ctx.args[0]!, ctx.args[1]!);
}

/** Runs `kpm config unset KEY`: removes a default from kpm.json. */
export async function configUnset(ctx: CommandContext): Promise<void> {
  await changeSetting(ctx, ctx.args[0]!, undefined);
}

async function changeSetting(ctx: CommandContext, key: string, value: string | undefined): Promise<void> {
  const path = kpmJsonPath(clientSettings(ctx).home.value);
  await writeSetting(path, key, value);
  if (ctx.global.json) ctx.json({ settingsFile: path, key, value: value ?? null });
  ctx.out(value === undefined ? `unset ${key} in ${path}` : `set ${key} = ${value} in ${path}`);
}

/** Runs `kpm config`. */
export async function config(ctx: CommandContext): Promise<void> {
  const settings = await kpmSettings(ctx);
  const rows = {
    DefaultOciRegistry: settings.registry,
    DefaultOciRepo: settings.repository,
    DefaultOciPlainHttp: settings.plainHttp,
  };
  const policy = (await readTrustPolicy(settings.settingsFile))?.entries ?? [];
  if (ctx.global.json) {
    ctx.json({
      home: settings.home.value,
      settingsFile: settings.settingsFile,
      ...rows,
      TrustPolicy: policy,
    });
    return;
  }
  ctx.out(`KCL_PKG_PATH = ${settings.home.value}`);
  ctx.out(`settings file = ${settings.settingsFile}`);
  for (const [key, setting] of Object.entries(rows)) {
    ctx.out(`${key} = ${setting.value} (from ${setting.source})`);
  }
  policy.forEach((entry, i) =>
    ctx.out(
      `TrustPolicy[${i}] = ${entry.scope} signed by ${
        entry.keys.map((k) => k.includes("-----BEGIN") ? "(inline PEM)" : k).join(", ")
      }`,
    )
  );
}
