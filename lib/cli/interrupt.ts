/**
 * Ctrl-C: kpm ends with status 130 wherever it is (a transfer, a prompt); a running server first shuts down
 * gracefully, and a command that took `interruptSignal()` is cancelled through it (requests in flight and
 * transfers not yet started stop, temporary files are removed as the command unwinds). main.ts installs the
 * handler; servers wait in `serveUntilStopped`.
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

/** How long a cancelled command may take to unwind before kpm exits anyway. */
const UNWIND_MS = 1_000;

const stoppers = new Set<() => void>();
const interruption = new AbortController();
let cancellable = false;
let interrupted = false;

/**
 * Makes SIGINT stop the running servers (then main.ts exits with 130), else cancel the command through
 * `interruptSignal()` when it took it (it unwinds, then main.ts exits with 130; a second Ctrl-C, or
 * UNWIND_MS, ends kpm at once), else end the process with 130 at once.
 */
export function installInterruptHandler(): void {
  Deno.addSignalListener("SIGINT", () => {
    const again = interrupted;
    interrupted = true;
    if (stoppers.size > 0) {
      for (const stop of stoppers) stop();
      return;
    }
    if (again || !cancellable) Deno.exit(INTERRUPTED_STATUS);
    interruption.abort(new Interrupted());
    Deno.unrefTimer(setTimeout(() => Deno.exit(INTERRUPTED_STATUS), UNWIND_MS));
  });
}

/**
 * The signal Ctrl-C aborts, with an Interrupted error as its reason: a command passes it to its registry
 * client and to the operations it runs, so that Ctrl-C cancels them instead of killing kpm mid-write.
 */
export function interruptSignal(): AbortSignal {
  cancellable = true;
  return interruption.signal;
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
