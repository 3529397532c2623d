/**
 * Runs kpm's CLI in the test process (no Deno start-up per command) with a given environment and folder.
 *
 * @module
 */

import { runCli } from "../../../lib/cli/cli.ts";
import { describe, type KpmResult } from "../ship_support.ts";

/**
 * Runs `kpm ARGS…` in-process in `cwd` with exactly `env` (a temporary HOME, KCL_PKG_PATH, DOCKER_CONFIG).
 *
 * @returns the exit status, stdout and stderr (a thrown error counts as exit status 1)
 */
export async function kpmInProcess(
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<KpmResult> {
  let stdout = "";
  let stderr = "";
  let code: number;
  const decoder = new TextDecoder();
  try {
    code = await runCli(args, {
      env,
      cwd,
      stdin: new Blob([]).stream(),
      stdinIsTerminal: false,
      stderrIsTerminal: false,
      write: (data) =>
        void (stdout += typeof data === "string" ? data : decoder.decode(data, { stream: true })),
      writeError: (text) => void (stderr += text),
      fetch: globalThis.fetch,
    });
  } catch (error) {
    stderr += `error: ${(error as Error).message}\n`;
    code = 1;
  }
  return { code, stdout, stderr };
}

/**
 * Runs `kpm ARGS…` in-process like kpmInProcess and expects success.
 *
 * @returns the outcome
 * @throws {Error} with the command, its exit status and output when it fails
 */
export async function kpmSucceeds(
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<KpmResult> {
  const out = await kpmInProcess(args, cwd, env);
  if (out.code !== 0) throw new Error(`kpm ${args.join(" ")}: ${describe(out)}`);
  return out;
}
