/**
 * Reading answers from the terminal (with the password hidden) or from stdin.
 *
 * @module
 */

import type { CommandIO } from "./command.ts";
import { UsageError } from "./command.ts";
import { Interrupted } from "./interrupt.ts";

/**
 * Asks a question on stderr and reads one line from the terminal; with `hidden` the typed characters are not
 * echoed.
 *
 * @throws {UsageError} when stdin is not a terminal (scripts must pass the value as a flag or on stdin)
 */
export async function prompt(
  io: CommandIO,
  question: string,
  options: { hidden?: boolean } = {},
): Promise<string> {
  if (!io.stdinIsTerminal) {
    throw new UsageError(
      `Cannot ask for ${question.replace(/:\s*$/, "").toLowerCase()}: stdin is not a terminal`,
    );
  }
  io.writeError(question);
  const raw = options.hidden === true;
  if (raw) Deno.stdin.setRaw(true);
  const reader = io.stdin.getReader();
  const bytes: number[] = [];
  try {
    outer: while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const byte of value) {
        if (byte === 0x0d || byte === 0x0a) break outer;
        if (byte === 0x03) throw new Interrupted();
        if (byte === 0x7f || byte === 0x08) bytes.pop();
        else bytes.push(byte);
      }
    }
  } finally {
    reader.releaseLock();
    if (raw) {
      Deno.stdin.setRaw(false);
      io.writeError("\n");
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** Reads all of stdin as text, without the final line break (for --password-stdin). */
export async function readStdin(io: CommandIO): Promise<string> {
  const text = await new Response(io.stdin).text();
  return text.replace(/\r?\n$/, "");
}
