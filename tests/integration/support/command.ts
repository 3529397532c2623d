/**
 * Runs a command to completion for a test: arguments, folder, environment, stdin text; collects the outcome.
 *
 * @module
 */

/** The outcome of one process. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command args…` with stdin from `options.stdin` (or closed) and collects its exit status and output.
 *
 * @param options `cwd`, `env`, `clearEnv` (inherit nothing but `env`), `stdin` text, `signal` to kill it,
 *   `interrupt`: when it settles the process gets SIGINT (as Ctrl-C sends)
 */
export async function runCommand(
  command: string,
  args: string[],
  options: {
    cwd?: string;
    env?: Record<string, string>;
    clearEnv?: boolean;
    stdin?: string;
    signal?: AbortSignal;
    interrupt?: Promise<unknown>;
  } = {},
): Promise<CommandResult> {
  const child = new Deno.Command(command, {
    args,
    cwd: options.cwd,
    env: options.env,
    clearEnv: options.clearEnv,
    signal: options.signal,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  options.interrupt?.then(() => child.kill("SIGINT"));
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}
