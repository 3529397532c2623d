/**
 * The real process's IO for the CLI.
 *
 * @module
 */

import type { CliIO } from "./command.ts";

const encoder = new TextEncoder();

/**
 * Thrown when stdout was closed by the reader (`kpm artifact tags REPO | head -1`); main.ts then ends quietly
 * with status 0, as `ls | head -1` does.
 */
export class OutputClosed extends Error {
  override name = "OutputClosed";
}

/** Builds the CliIO of this Deno process (stdout, stderr, stdin, environment, fetch). */
export function denoIO(): CliIO {
  return {
    env: Deno.env.toObject(),
    cwd: Deno.cwd(),
    stdin: Deno.stdin.readable,
    stdinIsTerminal: Deno.stdin.isTerminal(),
    stderrIsTerminal: Deno.stderr.isTerminal(),
    write: (text) => {
      try {
        writeAll(Deno.stdout, typeof text === "string" ? encoder.encode(text) : text);
      } catch (error) {
        if (error instanceof Deno.errors.BrokenPipe) throw new OutputClosed("stdout was closed");
        throw error;
      }
    },
    writeError: (text) => writeAll(Deno.stderr, encoder.encode(text)),
    fetch: globalThis.fetch,
  };
}

function writeAll(file: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += file.writeSync(bytes.subarray(offset));
}
