/**
 * kpm: the KCL package manager and OCI artifact client. Hands the arguments to the CLI and sets the exit code;
 * the only place that prints a final error.
 *
 * @module
 */

import { runCli } from "./lib/cli/cli.ts";
import { UsageError } from "./lib/cli/command.ts";
import { denoIO } from "./lib/cli/io.ts";
import { terminalSafe } from "./lib/cli/terminal_text.ts";

if (import.meta.main) {
  const verbose = Deno.args.includes("--verbose") || Deno.args.includes("-v");
  try {
    Deno.exitCode = await runCli(Deno.args, denoIO());
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`error: ${terminalSafe(message)}`);
    if (verbose && error instanceof Error && error.stack) console.error(terminalSafe(error.stack));
    Deno.exitCode = error instanceof UsageError ? 2 : 1;
  }
}
