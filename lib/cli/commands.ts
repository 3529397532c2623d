/**
 * The command table: every command group's list, in the order help shows them.
 *
 * @module
 */

import type { Command } from "./command.ts";

/** Every command kpm knows. */
export const COMMANDS: Command[] = [];
