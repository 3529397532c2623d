/**
 * `kpm config`: each setting kpm resolved (default registry, repository, plain HTTP), and where its value came
 * from (flag, env, kpm.json or default; `--json` also names the flag, variable or file, and adds the credentials
 * file and the KCL compiler), and the trust policy's entries. Only `kpm config set|unset` write kpm.json.
 *
 * @module
 */

import { kpmJsonPath, writeSetting } from "../config/kpm_json.ts";
import { type CommandContext, type Output, output } from "./command.ts";
import { kpmSettings } from "./kpm_context.ts";
import { kpmHome } from "../config/client_settings.ts";
import { readTrustPolicy } from "../kpm/trust_policy.ts";

/** Runs `kpm config set KEY VALUE`: persists a default in kpm.json. */
export function configSet(ctx: CommandContext): Promise<Output> {
  return changeSetting(ctx, ctx.args[0]!, ctx.args[1]!);
}

/** Runs `kpm config unset KEY`: removes a default from kpm.json. */
export function configUnset(ctx: CommandContext): Promise<Output> {
  return changeSetting(ctx, ctx.args[0]!, undefined);
}

async function changeSetting(ctx: CommandContext, key: string, value: string | undefined): Promise<Output> {
  const path = kpmJsonPath(kpmHome(ctx.env).value);
  await writeSetting(path, key, value);
  return output({ settingsFile: path, key, value: value ?? null }, (v) => [
    v.value === null
      ? `unset ${v.key} in ${v.settingsFile}`
      : `set ${v.key} = ${v.value} in ${v.settingsFile}`,
  ]);
}

/** Runs `kpm config`. */
export async function config(ctx: CommandContext): Promise<Output> {
  const settings = await kpmSettings(ctx);
  const rows = {
    DefaultOciRegistry: settings.registry,
    DefaultOciRepo: settings.repository,
    DefaultOciPlainHttp: settings.plainHttp,
  };
  const policy = (await readTrustPolicy(settings.settingsFile))?.entries ?? [];
  const value = {
    home: settings.home.value,
    settingsFile: settings.settingsFile,
    ...rows,
    TrustPolicy: policy,
    credentialsFile: settings.credentialsFile,
    compiler: settings.compiler,
  };
  return output(value, (v) => [
    `KCL_PKG_PATH = ${v.home}`,
    `settings file = ${v.settingsFile}`,
    ...Object.entries(rows).map(([key, setting]) => `${key} = ${setting.value} (from ${setting.source})`),
    ...v.TrustPolicy.map((entry, i) =>
      `TrustPolicy[${i}] = ${entry.scope} signed by ${
        entry.keys.map((k) => k.includes("-----BEGIN") ? "(inline PEM)" : k).join(", ")
      }`
    ),
  ]);
}
