/**
 * The chart-repo server for tests: in-process on a free loopback port (`serveCharts`), or as a
 * `kpm chart-repo serve` child process (`startChartRepoCli`) for the tests that check its command line.
 *
 * @module
 */

import { RegistryClient } from "../../../lib/oci/client.ts";
import { type ChartRepoServer, startChartRepo } from "../../../lib/server/chartrepo.ts";

/**
 * Starts the chart repository in-process on 127.0.0.1 over `registry`, with a fresh RegistryClient.
 *
 * @param options `refreshSeconds` (default 30)
 * @returns the server, the client (for pushes that share its tokens) and the lines it logged
 */
export async function serveCharts(
  registry: string,
  options: { refreshSeconds?: number } = {},
): Promise<{ repo: ChartRepoServer; client: RegistryClient; logs: string[] }> {
  const client = new RegistryClient();
  const logs: string[] = [];
  const repo = await startChartRepo({
    hostname: "127.0.0.1",
    port: 0,
    registry,
    client,
    refreshSeconds: options.refreshSeconds,
    log: (line) => logs.push(line),
  });
  return { repo, client, logs };
}

const MAIN = new URL("../../../main.ts", import.meta.url).pathname;

/** This Deno's cache folder, handed to the child so that it neither downloads nor needs the network. */
async function denoDir(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
}

/** A running `kpm chart-repo serve`. */
export interface ChartRepoProcess {
  /** The URL from its `Listening on` line. */
  url: string;
  /** Sends SIGTERM and waits: the exit code and everything it wrote on stderr. */
  stop(): Promise<{ code: number; stderr: string }>;
}

/**
 * Starts `kpm chart-repo serve ARGS…` (through `command`, e.g. `["unshare", "-m", …]`, when given).
 *
 * @param args the arguments after `chart-repo serve`
 * @param options `env` for the child (added to a clean HOME/DOCKER_CONFIG/KCL_PKG_PATH in a temp folder, and
 *   this Deno's DENO_DIR); `command` wraps the Deno invocation
 * @throws when the process ends before printing its address, with its stderr
 */
export async function startChartRepoCli(
  args: string[],
  options: { env?: Record<string, string>; command?: string[] } = {},
): Promise<ChartRepoProcess> {
  const home = await Deno.makeTempDir({ prefix: "kpm-chartrepo-cli-" });
  const deno = [Deno.execPath(), "run", "-A", MAIN, "chart-repo", "serve", ...args];
  const [program, ...rest] = [...(options.command ?? []), ...deno];
  const child = new Deno.Command(program!, {
    args: rest,
    stdout: "piped",
    stderr: "piped",
    env: { HOME: home, DOCKER_CONFIG: home, KCL_PKG_PATH: home, DENO_DIR: await denoDir(), ...options.env },
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  reader.releaseLock();
  const finish = async () => {
    const status = await child.status;
    await child.stdout.cancel().catch(() => {});
    await Deno.remove(home, { recursive: true });
    return { code: status.code, stderr: await stderr };
  };
  const url = /^Listening on (\S+)\n/.exec(out)?.[1];
  if (!url) {
    const ended = await finish();
    throw new Error(`chart-repo serve did not start (${ended.code}): ${out}${ended.stderr}`);
  }
  return {
    url,
    stop: () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already stopped */ }
      return finish();
    },
  };
}
