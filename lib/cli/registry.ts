/**
 * `kpm registry login|logout` (and `kpm login|logout`).
 *
 * @module
 */

import type { Command, CommandContext } from "./command.ts";
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

async function login(ctx: CommandContext): Promise<void> {
  const registry = registryArgument(ctx.args[0]!);
  let username = stringOption(ctx, "username");
  let password = stringOption(ctx, "password");
  if (flagOption(ctx, "password-stdin")) {
    if (password !== undefined) {
      throw new UsageError("--password and --password-stdin cannot be used together");
    }
    password = await readStdin(ctx);
  }
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

async function logout(ctx: CommandContext): Promise<void> {
  const registry = registryArgument(ctx.args[0]!);
  const removed = await credentialStore(ctx, await commandSettings(ctx)).erase(registry);
  if (ctx.global.json) ctx.json({ registry, loggedOut: removed });
  if (removed) ctx.out("Logout succeeded");
  else ctx.log(`Not logged in to "${registry}"`);
}

/** `kpm registry login`. */
export const loginCommand: Command = {
  path: ["registry", "login"],
  aliases: [["login"]],
  summary: "Log in to a registry and store the credentials",
  usage: "registry login [-u USER] [-p PASS | --password-stdin] REGISTRY",
  options: {
    username: { type: "string", short: "u", value: "USER", description: "user name (asked when missing)" },
    password: {
      type: "string",
      short: "p",
      value: "PASS",
      description: "password (asked, hidden, when missing)",
    },
    "password-stdin": { type: "boolean", description: "read the password from stdin" },
  },
  args: { min: 1, max: 1 },
  run: login,
};

/** `kpm registry logout`. */
export const logoutCommand: Command = {
  path: ["registry", "logout"],
  aliases: [["logout"]],
  summary: "Remove a registry's stored credentials",
  usage: "registry logout REGISTRY",
  args: { min: 1, max: 1 },
  run: logout,
};
