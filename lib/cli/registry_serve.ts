/**
 * `kpm registry serve`: runs kpm's embedded OCI registry in the foreground until SIGINT or SIGTERM.
 *
 * Storage defaults to `./registry-data` in the current folder (like distribution's `/var/lib/registry`, a
 * plain folder you can see, back up and delete); `--root` chooses another.
 *
 * @module
 */

import { resolve } from "node:path";
import { isLoopback } from "../oci/reference.ts";
import type { RegistryUser } from "../server/registry_auth.ts";
import { startRegistry } from "../server/registry.ts";
import type { CommandContext } from "./command.ts";
import { listOption, stringOption, UsageError } from "./command.ts";
import { DEFAULT_ADDR, DEFAULT_ROOT } from "./registry_commands.ts";

/**
 * Parses `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (all interfaces).
 *
 * @throws {UsageError} on anything else
 */
export function parseAddr(value: string): { hostname: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]*)):(\d{1,5})$/.exec(value.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new UsageError(`Invalid address "${value}": expected HOST:PORT`);
  return { hostname: match[1] ?? (match[2] || "0.0.0.0"), port };
}

function parseUser(value: string): RegistryUser {
  const colon = value.indexOf(":");
  if (colon <= 0 || colon === value.length - 1) {
    throw new UsageError(`Invalid --user "${value.slice(0, Math.max(colon, 0))}:…": expected USER:PASS`);
  }
  return { username: value.slice(0, colon), password: value.slice(colon + 1) };
}

/** Runs `kpm registry serve`. */
export async function serve(ctx: CommandContext): Promise<void> {
  const { hostname, port } = parseAddr(stringOption(ctx, "addr") ?? DEFAULT_ADDR);
  const root = resolve(ctx.cwd, stringOption(ctx, "root") ?? DEFAULT_ROOT);
  const users = listOption(ctx, "user").map(parseUser);
  const htpasswd = stringOption(ctx, "htpasswd");
  const loopback = isLoopback(hostname.includes(":") ? `[${hostname}]` : hostname);
  if (!loopback && users.length === 0 && !htpasswd) {
    ctx.writeError(
      `warning: serving "${hostname}:${port}" without authentication; anyone who can reach it may push and delete (use --user or --htpasswd)\n`,
    );
  }
  const registry = await startRegistry({
    hostname,
    port,
    root,
    users,
    htpasswd: htpasswd === undefined ? undefined : resolve(ctx.cwd, htpasswd),
    log: ctx.global.verbose ? (line) => ctx.writeError(`${line}\n`) : undefined,
  });
  ctx.out(`Listening on ${registry.url}`);
  ctx.log(`Storage: ${root}${users.length || htpasswd ? "" : " (no authentication)"}`);
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  const stop = () => {
    ctx.log("Shutting down");
    registry.close();
  };
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  try {
    await registry.finished;
    await registry.close();
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
  }
}
