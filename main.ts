/**
 * kpm: the KCL package manager and OCI artifact client. Hands the arguments to the CLI (which writes the output
 * and reports a failure) and sets the exit code. `kpm --version` is answered before the CLI is loaded (its
 * modules cost ~7 ms of start-up that the version does not need).
 *
 * @module
 */

import { asksForVersion, VERSION } from "./lib/version.ts";

async function main(args: string[]): Promise<void> {
  const [{ runCli }, { denoIO, OutputClosed }, interrupt] = await Promise.all([
    import("./lib/cli/cli.ts"),
    import("./lib/cli/io.ts"),
    import("./lib/cli/interrupt.ts"),
  ]);
  interrupt.installInterruptHandler();
  try {
    const status = await runCli(args, denoIO());
    Deno.exitCode = interrupt.wasInterrupted() ? interrupt.INTERRUPTED_STATUS : status;
  } catch (error) {
    if (!(error instanceof OutputClosed)) throw error;
    Deno.exitCode = 0; // the reader closed stdout (`| head -1`): end quietly
  }
}

if (import.meta.main) {
  if (asksForVersion(Deno.args)) console.log(`kpm ${VERSION}`);
  else await main(Deno.args);
}
