/**
 * The real process's IO for the CLI.
 *
 * @module
 */

import type { CliIO } from "./command.ts";

const encoder = new TextEncoder();

/** Builds the CliIO of this Deno process (stdout, stderr, stdin, environment, fetch). */
export function denoIO(): CliIO {
  return {
    env: Deno.env.toObject(),
    cwd: Deno.cwd(),
    stdin: Deno.stdin.readable,
    stdinIsTerminal: Deno.stdin.isTerminal(),
    stderrIsTerminal: Deno.stderr.isTerminal(),
    write: (text) => writeAll(Deno.stdout, encoder.encode(text)),
    writeError: (text) => writeAll(Deno.stderr, encoder.encode(text)),
    fetch: globalThis.fetch,
  };
}

function writeAll(file: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += file.writeSync(bytes.subarray(offset));
}
