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
 * deno task bench kpm -- [--runs 5] [--deps 20] [--file-kib 64]
 * ```
 *
 * Registries: distribution (`docker-registry`, no auth) and kpm's embedded registry when lib/server/registry.ts
 * exists. Prints a Markdown table of median / min / max milliseconds.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { startDockerRegistry } from "../tests/integration/chart_fixture.ts";
import { kpmHome, ROOT, runKpm } from "../tests/integration/ship_support.ts";
import { summary } from "./startup_bench.ts";

const MAIN = join(ROOT, "main.ts");

interface Registry {
  label: string;
  host: string;
  close(): Promise<void>;
}

async function registries(): Promise<Registry[]> {
  const list: Registry[] = [];
  const dist = await startDockerRegistry();
  list.push({ label: "distribution 2.8", host: dist.host, close: dist.close });
  const embedded = new URL("../lib/server/registry.ts", import.meta.url);
  if (await Deno.stat(embedded).then(() => true, () => false)) {
    const { startRegistry } = await import(embedded.href);
    const root = await Deno.makeTempDir({ prefix: "kpm-bench-reg-" });
    const server = await startRegistry({ root, port: 0, hostname: "127.0.0.1" });
    list.push({
      label: "embedded registry",
      host: server.host,
      close: async () => {
        await server.close();
        await Deno.remove(root, { recursive: true });
      },
    });
  }
  return list;
}

/** Writes a package: kcl.mod (with dependencies), main.k and a data file of `kib` KiB of varied text. */
async function writePackage(dir: string, name: string, deps: string[], kib: number): Promise<void> {
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

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      runs: { type: "string", default: "5" },
      deps: { type: "string", default: "20" },
      "file-kib": { type: "string", default: "64" },
    },
  });
  const runs = Number(values.runs);
  const depCount = Number(values.deps);
  const kib = Number(values["file-kib"]);
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

    const cases: [string, number | undefined][] = [["sequential (--concurrency 1)", 1], [
      "parallel (default 8)",
      undefined,
    ]];
    for (const [label, concurrency] of cases) {
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        const run = join(home.dir, `add-${concurrency ?? "default"}-${i}`);
        await writePackage(join(run, "app"), "app", [], 1);
        const runEnv = { ...env, KCL_PKG_PATH: join(run, "cache") };
        const args = [
          "mod",
          "add",
          "hub:0.0.1",
          ...(concurrency ? ["--concurrency", String(concurrency)] : []),
        ];
        times.push(await timed(args, join(run, "app"), runEnv));
      }
      const s = summary(times);
      rows.push(
        `| ${registry.label} | mod add hub (${depCount + 1} packages), ${label} | ${s.median.toFixed(0)} | ${
          s.min.toFixed(0)
        } | ${s.max.toFixed(0)} |`,
      );
    }

    const pulls: number[] = [];
    for (let i = 0; i < runs; i++) {
      const dest = join(home.dir, `pull-${i}`);
      await Deno.mkdir(dest);
      pulls.push(
        await timed(["mod", "pull", "dep0:0.0.1"], dest, { ...env, KCL_PKG_PATH: join(dest, "cache") }),
      );
    }
    const p = summary(pulls);
    rows.push(
      `| ${registry.label} | mod pull dep0:0.0.1 (${kib} KiB package) | ${p.median.toFixed(0)} | ${
        p.min.toFixed(0)
      } | ${p.max.toFixed(0)} |`,
    );

    const compiler = join(home.dir, "kcl");
    await Deno.writeTextFile(compiler, "#!/bin/sh\nexit 0\n");
    await Deno.chmod(compiler, 0o755);
    const app = join(home.dir, `add-default-0`, "app");
    const runEnv = { ...env, KCL_PKG_PATH: join(home.dir, "add-default-0", "cache"), KPM_KCL_BIN: compiler };
    const runsMs: number[] = [];
    for (let i = 0; i < runs; i++) runsMs.push(await timed(["run"], app, runEnv));
    const r = summary(runsMs);
    rows.push(
      `| ${registry.label} | run, ${depCount + 1} locked cached packages | ${r.median.toFixed(0)} | ${
        r.min.toFixed(0)
      } | ${r.max.toFixed(0)} |`,
    );
    await registry.close();
  }
  console.log(`${runs} runs each, whole process (spawn to exit), package data ${kib} KiB each\n`);
  console.log("| registry | command | median ms | min ms | max ms |");
  console.log("| -------- | ------- | --------- | ------ | ------ |");
  for (const row of rows) console.log(row);
}
