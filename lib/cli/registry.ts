/**
 * `kpm registry login|logout` (and `kpm login|logout`).
 *
 * @module
 */

import type { CommandContext } from "./command.ts";
import { flagOption, stringOption, UsageError } from "./command.ts";
import { prompt, readStdin } from "./prompt.ts";
import { commandSettings, credentialStore, registryClient } from "./registry_context.ts";
import { isValidHost } from "../oci/reference.ts";
import { normalizeRegistryKey } from "../oci/credentials.ts";
import { RegistryError } from "../oci/registry_error.ts";

/** Reduces `https://ghcr.io/`, `ghcr.io/path`, `index.docker.io` … to the registry host kpm stores. */
function registryArgument(value: string): string {
  const registry = normalizeRegistryKey(value.trim());
  if (!isValidHost(registry)) throw new UsageError(`Invalid registry "${value}": expected HOST[:PORT]`);
  return registry;
}

/** What docker and oras say when a password is typed on the command line (shell history, `ps`). */
export const PASSWORD_FLAG_WARNING =
  "WARNING! Using --password via the CLI is insecure (shell history, process list). Use --password-stdin.";

/** Runs `kpm registry login`. */
export async function login(ctx: CommandContext): Promise<void> {
  const registry = registryArgument(ctx.args[0]!);
  let username = stringOption(ctx, "username");
  let password = stringOption(ctx, "password");
  if (flagOption(ctx, "password-stdin")) {
    if (password !== undefined) {
      throw new UsageError("--password and --password-stdin cannot be used together");
    }
    password = await readStdin(ctx);
  } else if (password !== undefined) ctx.log(PASSWORD_FLAG_WARNING);
  if (username === undefined) username = await prompt(ctx, "Username: ");
  if (password === undefined) password = await prompt(ctx, "Password: ", { hidden: true });
  if (username === "" || password === "") throw new UsageError("Username and password must not be empty");
  const credential = { username, password };
  const settings = await commandSettings(ctx);
  const client = registryClient(ctx, settings, { credential });
  const response = await client.send({
    registry,
    path: "",
    scopes: [],
    expect: [200],
    what: `log in to "${registry}"`,
  }).catch((error) => {
    if (!(error instanceof RegistryError) || (error.status !== 401 && error.status !== 403)) throw error;
    const reason = error.message.split("\n")[0];
    throw new RegistryError(
      `Login to "${registry}" as "${username}" failed: wrong username or password (${reason})`,
      {
        status: error.status,
        code: error.code,
        registry,
        cause: error,
      },
    );
  });
  await response.body?.cancel();
  await credentialStore(ctx, settings).store(registry, credential);
  if (ctx.global.json) ctx.json({ registry, username, status: "Login succeeded" });
  ctx.out("Login succeeded");
}

/** Runs `kpm registry logout`. */
export async function logout(ctx: CommandContext): Promise<void> {
  const registry = registryArgument(ctx.args[0]!);
  const removed = await credentialStore(ctx, await commandSettings(ctx)).erase(registry);
  if (ctx.global.json) ctx.json({ registry, loggedOut: removed });
  if (removed) ctx.out("Logout succeeded");
  else ctx.log(`Not logged in to "${registry}"`);
}
