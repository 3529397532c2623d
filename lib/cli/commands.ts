/**
 * The command table: every command group's list, in the order help shows them.
 *
 * @module
 */

import type { Command } from "./command.ts";
import { loginCommand, logoutCommand } from "./registry.ts";
import { artifactPullCommand, artifactPushCommand } from "./artifact.ts";
import { artifactAdminCommands } from "./artifact_admin.ts";
import { artifactRefCommands } from "./artifact_refs.ts";
import { modCommands } from "./mod.ts";
import { runCommand } from "./run.ts";
import { chartRepoServeCommand } from "./chart_repo.ts";
import { registryServeCommand } from "./registry_serve.ts";

/** Every command kpm knows. */
export const COMMANDS: Command[] = [
  loginCommand,
  logoutCommand,
  registryServeCommand,
  ...modCommands,
  runCommand,
  artifactPushCommand,
  artifactPullCommand,
  ...artifactAdminCommands,
  ...artifactRefCommands,
  chartRepoServeCommand,
];
