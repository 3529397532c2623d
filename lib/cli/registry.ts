/**
 * `kpm registry login|logout` (and `kpm login|logout`).
 *
 * @module
 */

import { type CommandContext, type Output, output, UsageError } from "./command.ts";
import type { LOGIN_OPTIONS } from "./registry_commands.ts";
import { prompt } from "./prompt.ts";
import { passwordOption } from "./credential_options.ts";
import { clientSettings, credentialStore, registryClient } from "./registry_context.ts";
import { isValidHost } from "../oci/reference.ts";
import { normalizeRegistryKey } from "../oci/credentials.ts";
import { RegistryError } from "../oci/registry_error.ts";
import { Registry } from "../oci/repository.ts";

/** Reduces `https://ghcr.io/`, `ghcr.io/path`, `index.docker.io` … to the registry host kpm stores. */
function registryArgument(value: string): string {
  const registry = normalizeRegistryKey(value.trim());
  if (!isValidHost(registry)) throw new UsageError(`Invalid registry "${value}": expected HOST[:PORT]`);
  return registry;
}

/** Runs `kpm registry login`. */
export async function login(ctx: CommandContext<typeof LOGIN_OPTIONS>): Promise<Output> {
  const registry = registryArgument(ctx.args[0]!);
  let username = ctx.options.username;
  let password = await passwordOption(ctx);
  if (username === undefined) username = await prompt(ctx, "Username: ");
  if (password === undefined) password = await prompt(ctx, "Password: ", { hidden: true });
  if (username === "" || password === "") throw new UsageError("Username and password must not be empty");
  const credential = { username, password };
  const settings = clientSettings(ctx);
  const client = registryClient(ctx, settings, { credential });
  await new Registry(client, registry).ping({ what: `log in to "${registry}"` }).catch((error) => {
    if (!(error instanceof RegistryError) || (error.status !== 401 && error.status !== 403)) throw error;
    throw new RegistryError(
      `Login to "${registry}" as "${username}" failed: wrong username or password (${error.message})`,
      {
        status: error.status,
        code: error.code,
        registry,
        cause: error,
      },
    );
  });
  await credentialStore(ctx, settings).store(registry, credential);
  return output({ registry, username, status: "Login succeeded" }, (v) => [v.status]);
}

/** Runs `kpm registry logout`. */
export async function logout(ctx: CommandContext): Promise<Output> {
  const registry = registryArgument(ctx.args[0]!);
  const removed = await credentialStore(ctx, clientSettings(ctx)).erase(registry);
  if (!removed) ctx.log(`Not logged in to "${registry}"`);
  return output({ registry, loggedOut: removed }, (v) => v.loggedOut ? ["Logout succeeded"] : []);
}
