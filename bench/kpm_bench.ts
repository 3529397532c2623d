/**
 * KCL package manager benchmark, whole-process times (spawn to exit) of kpm under `deno run` (warm module
 * cache) against a loopback registry:
 *
 * - `kpm mod add hub:0.0.1` where hub depends on 20 packages, with an empty package cache each run, downloading
 *   one package at a time (`--concurrency 1`) and in parallel (the default, 8);
 * - `kpm mod pull NAME:VERSION` of one small package, empty cache each run;
 * - `kpm run` of the package with its 21 locked, cached dependencies (no registry request), with a no-op
 *   stand-in compiler.
 *
 * ```sh
 * deno task bench kpm -- [--runs 5] [--deps 20] [--file-kib 64] [--latency-ms 25]
 * ```
 *
 * With `--latency-ms N` the `mod add` and `mod pull` cases run again through a loopback proxy that holds every
 * registry response back by N ms, as a registry across a network would.
 *
 * Registries: distribution (`docker-registry`, no auth) and kpm's embedded registry. Prints a Markdown table of median / min / max milliseconds.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { startDistribution } from "../tests/integration/support/distribution.ts";
import { startEmbeddedRegistry } from "../tests/integration/support/embedded.ts";
import { kpmHome, ROOT, runKpm } from "../tests/integration/ship_support.ts";
import { summary } from "./startup_bench.ts";

const MAIN = join(ROOT, "main.ts");

interface Registry {
  label: string;
  host: string;
  close(): Promise<void>;
}

async function registries(): Promise<Registry[]> {
  const dist = await startDistribution({ auth: "none" });
  const embedded = await startEmbeddedRegistry();
  return [{ label: "distribution 2.8", ...dist }, { label: "embedded registry", ...embedded }];
}

/** Writes a package: kcl.mod (with dependencies), main.k and a data file of `kib` KiB of varied text. */
export async function writePackage(dir: string, name: string, deps: string[], kib: number): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const depText = deps.length ? `\n[dependencies]\n${deps.map((d) => `${d} = "0.0.1"`).join("\n")}\n` : "";
  await Deno.writeTextFile(
    join(dir, "kcl.mod"),
    `[package]\nname = "${name}"\nversion = "0.0.1"\n${depText}`,
  );
  await Deno.writeTextFile(join(dir, "main.k"), `name = "${name}"\n`);
  let data = "";
  for (let i = 0; data.length < kib * 1024; i++) data += `item_${name}_${i} = "${crypto.randomUUID()}"\n`;
  await Deno.writeTextFile(join(dir, "data.k"), data);
}

async function timed(args: string[], cwd: string, env: Record<string, string>): Promise<number> {
  const start = performance.now();
  const result = await runKpm(MAIN, args, { cwd, env });
  const elapsed = performance.now() - start;
  if (result.code !== 0) throw new Error(`kpm ${args.join(" ")} failed: ${result.stderr}`);
  return elapsed;
}

/** A plain-HTTP forwarding proxy on 127.0.0.1 that answers every request `latencyMs` later. */
function latencyProxy(target: string, latencyMs: number): { host: string; close(): Promise<void> } {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    await new Promise((resolve) => setTimeout(resolve, latencyMs));
    const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
    return await fetch(`http://${target}${url.pathname}${url.search}`, {
      method: request.method,
      headers: request.headers,
      body,
      redirect: "manual",
    });
  });
  return { host: `127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

/** One table row: median / min / max of `times`. */
function row(registry: string, command: string, times: number[]): string {
  const s = summary(times);
  return `| ${registry} | ${command} | ${s.median.toFixed(0)} | ${s.min.toFixed(0)} | ${s.max.toFixed(0)} |`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      runs: { type: "string", default: "5" },
      deps: { type: "string", default: "20" },
      "file-kib": { type: "string", default: "64" },
      "latency-ms": { type: "string", default: "0" },
    },
  });
  const runs = Number(values.runs);
  const depCount = Number(values.deps);
  const kib = Number(values["file-kib"]);
  const latency = Number(values["latency-ms"]);
  const rows: string[] = [];
  for (const registry of await registries()) {
    await using home = await kpmHome();
    const env = { ...home.env, KPM_REG: registry.host, KPM_REPO: "bench" };
    const deps = Array.from({ length: depCount }, (_, i) => `dep${i}`);
    for (const name of deps) {
      await writePackage(join(home.dir, "src", name), name, [], kib);
      await timed(["mod", "push"], join(home.dir, "src", name), env);
    }
    await writePackage(join(home.dir, "src", "hub"), "hub", deps, kib);
    await timed(["mod", "push"], join(home.dir, "src", "hub"), env);

    const proxy = latency > 0 ? latencyProxy(registry.host, latency) : undefined;
    const routes: [string, string][] = [[registry.label, registry.host]];
    if (proxy) routes.push([`${registry.label}, +${latency} ms a response`, proxy.host]);
    let lockedApp: { app: string; cache: string } | undefined;
    for (const [label, reg] of routes) {
      const viaEnv = { ...env, KPM_REG: reg };
      const cases: [string, string[]][] = [
        ["sequential (--concurrency 1)", ["--concurrency", "1"]],
        ["parallel (default 8)", []],
      ];
      for (const [mode, flags] of cases) {
        const times: number[] = [];
        for (let i = 0; i < runs; i++) {
          const run = await Deno.makeTempDir({ dir: home.dir, prefix: "add-" });
          await writePackage(join(run, "app"), "app", [], 1);
          const runEnv = { ...viaEnv, KCL_PKG_PATH: join(run, "cache") };
          times.push(await timed(["mod", "add", "hub:0.0.1", ...flags], join(run, "app"), runEnv));
          lockedApp ??= { app: join(run, "app"), cache: join(run, "cache") };
        }
        rows.push(row(label, `mod add hub (${depCount + 1} packages), ${mode}`, times));
      }
      const pulls: number[] = [];
      for (let i = 0; i < runs; i++) {
        const dest = await Deno.makeTempDir({ dir: home.dir, prefix: "pull-" });
        pulls.push(
          await timed(["mod", "pull", "dep0:0.0.1"], dest, { ...viaEnv, KCL_PKG_PATH: join(dest, "cache") }),
        );
      }
      rows.push(row(label, `mod pull dep0:0.0.1 (${kib} KiB package)`, pulls));
    }
    await proxy?.close();

    const compiler = join(home.dir, "kcl");
    await Deno.writeTextFile(compiler, "#!/bin/sh\nexit 0\n");
    await Deno.chmod(compiler, 0o755);
    const runEnv = { ...env, KCL_PKG_PATH: lockedApp!.cache, KPM_KCL_BIN: compiler };
    const runsMs: number[] = [];
    for (let i = 0; i < runs; i++) runsMs.push(await timed(["run"], lockedApp!.app, runEnv));
    rows.push(row(registry.label, `run, ${depCount + 1} locked cached packages (no request)`, runsMs));
    await registry.close();
  }
  console.log(`${runs} runs each, whole process (spawn to exit), package data ${kib} KiB each\n`);
  console.log("| registry | command | median ms | min ms | max ms |");
  console.log("| -------- | ------- | --------- | ------ | ------ |");
  for (const line of rows) console.log(line);
}
