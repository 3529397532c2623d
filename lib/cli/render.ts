/**
 * What the router writes: a command's result on stdout (one JSON document with --json, else its human text or
 * its stream), and a failure as an `error:` line (and its hint) on stderr plus, with --json, one
 * `{"error": {message, status, hint}}` document on stdout. Nothing else in kpm writes stdout.
 *
 * @module
 */

import { type CliIO, type CommandResult, UsageError } from "./command.ts";
import { Interrupted, INTERRUPTED_STATUS, wasInterrupted } from "./interrupt.ts";
import { OutputClosed } from "./io.ts";
import { terminalSafe } from "./terminal_text.ts";

/** How the command line asked for output: one JSON document on stdout, and stack traces on failures. */
export interface OutputMode {
  json: boolean;
  verbose: boolean;
}

/**
 * Writes a command's result on stdout and waits until the command is done.
 *
 * @returns the exit status
 */
export async function writeResult(result: CommandResult, mode: OutputMode, io: CliIO): Promise<number> {
  if ("status" in result) return result.status;
  if ("stream" in result) {
    for await (const chunk of result.stream) io.write(chunk);
    return 0;
  }
  const text = mode.json ? [JSON.stringify(result.value, null, 2)] : result.text(result.value);
  if (text instanceof Uint8Array) io.write(text);
  else if (text.length > 0) io.write(text.map((line) => `${terminalSafe(line)}\n`).join(""));
  await result.until;
  return 0;
}

/**
 * Reports a failure: `error: MESSAGE` on stderr, then `hint: …` when the error carries a hint (worded by
 * lib/cli/hints.ts, loaded only on failure), the stack trace with --verbose, and with --json the error document
 * on stdout (its `hint` the hint's data and words).
 *
 * @returns the exit status: 2 for a usage error, 130 after Ctrl-C (reported by nothing), else 1
 * @throws {OutputClosed} when the reader closed stdout (not a failure: main.ts ends quietly)
 */
export async function reportFailure(error: unknown, mode: OutputMode, io: CliIO): Promise<number> {
  if (error instanceof OutputClosed) throw error;
  // after Ctrl-C the command unwinds with whatever its cancelled work threw: not a failure to report
  if (error instanceof Interrupted || wasInterrupted()) return INTERRUPTED_STATUS;
  const message = error instanceof Error ? error.message : String(error);
  const hint = (await import("./hints.ts")).errorHint(error);
  const status = error instanceof UsageError ? 2 : 1;
  io.writeError(`error: ${terminalSafe(message)}\n`);
  if (hint) io.writeError(`hint: ${terminalSafe(hint.text)}\n`);
  if (mode.verbose && error instanceof Error && error.stack) io.writeError(`${terminalSafe(error.stack)}\n`);
  if (mode.json) io.write(`${JSON.stringify({ error: { message, status, hint } }, null, 2)}\n`);
  return status;
}
