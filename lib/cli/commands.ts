/**
 * The command table: every command group's list, in the order help shows them. The entries are plain data
 * (words, aliases, help, options); each command's `run` imports its implementation only when it is chosen, so
 * that `kpm --help`, `kpm --version` and each command load no more than they need.
 *
 * @module
 */

import { type Command, command } from "./command.ts";
import {
  chartRepoServeCommand,
  loginCommand,
  logoutCommand,
  registryGcCommand,
  registryServeCommand,
} from "./registry_commands.ts";
import { artifactCommands } from "./artifact_commands.ts";
import { modCommands, runCommand } from "./mod_commands.ts";

/** Every command kpm knows. */
export const COMMANDS: Command[] = [
  loginCommand,
  logoutCommand,
  registryServeCommand,
  registryGcCommand,
  ...modCommands,
  runCommand,
  ...artifactCommands,
  chartRepoServeCommand,
  command({
    path: ["completion"],
    summary: "Print a shell completion script (bash, zsh or fish)",
    usage: "completion bash|zsh|fish",
    args: { min: 1, max: 1 },
    run: (ctx) => import("./completion.ts").then((m) => m.completion(ctx)),
  }),
];
