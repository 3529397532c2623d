/**
 * `kpm registry serve` as a real process for integration tests: spawned with `deno run -A main.ts`, on a free
 * port (`--addr 127.0.0.1:0` unless the arguments say otherwise), ready when it prints `Listening on URL`.
 * Its stderr (diagnostics and the access log) is collected line by line.
 *
 * @module
 */

import { join } from "node:path";

/** A running `kpm registry serve` process. */
export interface KpmServe {
  /** `http://127.0.0.1:PORT` (or `https://…` with TLS). */
  url: string;
  /** `127.0.0.1:PORT`. */
  host: string;
  pid: number;
  /** The stderr lines so far. */
  stderr: string[];
  /** Sends a signal (default SIGTERM) and waits for the exit; returns the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number>;
}

const MAIN = join(import.meta.dirname!, "..", "..", "..", "main.ts");

/**
 * Starts `kpm registry serve ARGS…`.
 *
 * @param args the options after `registry serve`; `--addr 127.0.0.1:0` is added unless `--addr` or `--config`
 *   is among them
 * @param options `env` of the process (default: inherited), `cwd`
 * @throws {Error} with its stderr when it exits before listening
 */
export async function startKpmServe(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<KpmServe> {
  const addr = args.includes("--addr") || args.includes("--config") ? [] : ["--addr", "127.0.0.1:0"];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "registry", "serve", ...addr, ...args],
    env: options.env,
    clearEnv: options.env !== undefined,
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr: string[] = [];
  const stderrDone = (async () => {
    let pending = "";
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
      pending += text;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      stderr.push(...lines);
    }
    if (pending) stderr.push(pending);
  })();
  const exited = child.status.then(async (status) => {
    await stderrDone;
    return status.code;
  });
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) {
      await exited;
      throw new Error(`kpm registry serve exited before listening:\n${stderr.join("\n")}`);
    }
    text += value;
  }
  reader.cancel().catch(() => {});
  const url = /Listening on (\S+)/.exec(text)?.[1];
  if (!url) throw new Error(`Unexpected first line of kpm registry serve: ${text}`);
  return {
    url,
    host: new URL(url).host,
    pid: child.pid,
    stderr,
    exited,
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
      return await exited;
    },
  };
}
