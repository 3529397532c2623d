/**
 * kpm: the KCL package manager and OCI artifact client. Hands the arguments to the CLI and sets the exit code;
 * the only place that prints a final error. `kpm --version` is answered before the CLI is loaded (its modules
 * cost ~7 ms of start-up that the version does not need).
 *
 * @module
 */

import { asksForVersion, VERSION } from "./lib/version.ts";

async function main(args: string[]): Promise<void> {
  const [
    { asksForJson, runCli },
    { UsageError },
    { denoIO, OutputClosed },
    { terminalSafe },
    interrupt,
    { errorHint },
  ] = await Promise
    .all([
      import("./lib/cli/cli.ts"),
      import("./lib/cli/command.ts"),
      import("./lib/cli/io.ts"),
      import("./lib/cli/terminal_text.ts"),
      import("./lib/cli/interrupt.ts"),
      import("./lib/cli/hints.ts"),
    ]);
  const verbose = args.includes("--verbose") || args.includes("-v");
  interrupt.installInterruptHandler();
  try {
    const status = await runCli(args, denoIO());
    Deno.exitCode = interrupt.wasInterrupted() ? interrupt.INTERRUPTED_STATUS : status;
  } catch (error) {
    if (error instanceof OutputClosed) {
      Deno.exitCode = 0; // the reader closed stdout (`| head -1`): end quietly
    } else if (error instanceof interrupt.Interrupted || interrupt.wasInterrupted()) {
      Deno.exitCode = interrupt.INTERRUPTED_STATUS;
    } else {
      const message = error instanceof Error ? error.message : String(error);
      const status = error instanceof UsageError ? 2 : 1;
      const hint = errorHint(error);
      console.error(`error: ${terminalSafe(message)}`);
      if (hint) console.error(`hint: ${terminalSafe(hint.text)}`);
      if (verbose && error instanceof Error && error.stack) console.error(terminalSafe(error.stack));
      if (asksForJson(args)) console.log(JSON.stringify({ error: { message, status, hint } }, null, 2));
      Deno.exitCode = status;
    }
  }
}

if (import.meta.main) {
  if (asksForVersion(Deno.args)) console.log(`kpm ${VERSION}`);
  else await main(Deno.args);
}
