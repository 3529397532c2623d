/**
 * Ctrl-C: kpm ends with status 130 wherever it is (a transfer, a prompt); a running server first shuts down
 * gracefully. main.ts installs the handler; servers wait in `serveUntilStopped`.
 *
 * @module
 */

import type { CommandContext } from "./command.ts";

/** Thrown when the user interrupts (Ctrl-C typed at a prompt in raw mode); main.ts exits with 130. */
export class Interrupted extends Error {
  override name = "Interrupted";
  constructor() {
    super("Interrupted");
  }
}

/** The exit status after Ctrl-C, as shells report a SIGINT (128 + 2). */
export const INTERRUPTED_STATUS = 130;

const stoppers = new Set<() => void>();
let interrupted = false;

/** Makes SIGINT end the process with 130, or stop the running servers (then main.ts exits with 130). */
export function installInterruptHandler(): void {
  Deno.addSignalListener("SIGINT", () => {
    interrupted = true;
    if (stoppers.size === 0) Deno.exit(INTERRUPTED_STATUS);
    for (const stop of stoppers) stop();
  });
}

/** Whether SIGINT arrived (a server stopped by Ctrl-C). */
export function wasInterrupted(): boolean {
  return interrupted;
}

/** Waits until a server finishes; Ctrl-C or SIGTERM closes it first ("Shutting down…" on stderr). */
export async function serveUntilStopped(
  ctx: CommandContext,
  server: { close(): unknown; finished: Promise<unknown> },
): Promise<void> {
  const stop = () => {
    ctx.log("Shutting down: finishing requests in flight");
    server.close();
  };
  stoppers.add(stop);
  const term = Deno.build.os === "windows" ? undefined : "SIGTERM";
  if (term) Deno.addSignalListener(term, stop);
  try {
    await server.finished;
  } finally {
    stoppers.delete(stop);
    if (term) Deno.removeSignalListener(term, stop);
  }
}
