/**
 * The command table: every command group's list, in the order help shows them.
 *
 * @module
 */

import type { Command } from "./command.ts";
import { loginCommand, logoutCommand } from "./registry.ts";
import { artifactPullCommand, artifactPushCommand } from "./artifact.ts";

/** Every command kpm knows. */
export const COMMANDS: Command[] = [
  loginCommand,
  logoutCommand,
  artifactPushCommand,
  artifactPullCommand,
];
