/**
 * Artifact pull benchmark on loopback against the CNCF `distribution` registry: an artifact of 100 files of
 * 10 KiB and one of 8 layers of 64 MiB, pulled by kpm (a subprocess, `deno run -A main.ts artifact pull`)
 * with the default concurrency (3) and with `--concurrency 1`, side by side with skopeo (`skopeo copy
 * docker://… dir:`) in the same run. Wall time and peak RSS come from `/usr/bin/time -f "%e %M"`; the
 * median of `--runs` runs is shown.
 *
 * Usage: deno run -A bench/artifact_pull_bench.ts [--runs 3] [--files 100] [--file-kib 10] [--layers 8]
 *   [--layer-mib 64] [--only small|big]
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { startDistribution } from "../tests/integration/support/distribution.ts";
import { median, timed } from "./timed.ts";
import { currentDenoDir } from "../tests/integration/ship_support.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "3" },
    files: { type: "string", default: "100" },
    "file-kib": { type: "string", default: "10" },
    layers: { type: "string", default: "8" },
    "layer-mib": { type: "string", default: "64" },
    only: { type: "string" },
  },
});
const runs = Number(values.runs);
const root = new URL("..", import.meta.url).pathname;
const main = join(root, "main.ts");
const deno = Deno.execPath();
const work = await Deno.makeTempDir({ prefix: "kpm_artifact_pull_bench_" });
const env = {
  ...Deno.env.toObject(),
  HOME: work,
  KCL_PKG_PATH: join(work, "kpm"),
  NO_COLOR: "1",
  DENO_DIR: await currentDenoDir(),
};

async function sh(script: string): Promise<void> {
  const out = await new Deno.Command("sh", { args: ["-c", script], cwd: work }).output();
  if (!out.success) throw new Error(`sh -c ${script} failed`);
}

const registry = await startDistribution({ auth: "none" });
const rows: string[] = [];
try {
  const files = Number(values.files);
  const fileKiB = Number(values["file-kib"]);
  const layers = Number(values.layers);
  const layerMiB = Number(values["layer-mib"]);
  console.error(`making ${files} files of ${fileKiB} KiB and ${layers} files of ${layerMiB} MiB…`);
  await Deno.mkdir(join(work, "small"));
  await Deno.mkdir(join(work, "big"));
  await sh(
    `for i in $(seq -w 1 ${files}); do head -c ${fileKiB * 1024} /dev/urandom > small/f$i.bin; done; ` +
      `for i in $(seq 1 ${layers}); do head -c ${layerMiB * 1024 * 1024} /dev/urandom > big/l$i.bin; done`,
  );
  const scenarios = [
    { name: `${files} files × ${fileKiB} KiB`, repo: `${registry.host}/bench/small:1`, dir: "small" },
    { name: `${layers} layers × ${layerMiB} MiB`, repo: `${registry.host}/bench/big:1`, dir: "big" },
  ].filter((s) => !values.only || s.dir === values.only);
  for (const scenario of scenarios) {
    const names = [...Deno.readDirSync(join(work, scenario.dir))].map((e) => e.name).sort();
    await timed(
      [deno, "run", "-A", main, "artifact", "push", scenario.repo, ...names],
      { cwd: join(work, scenario.dir), env },
    );
  }
  const tools: { name: string; cmd: (repo: string, out: string) => string[] }[] = [
    {
      name: "kpm (concurrency 3)",
      cmd: (repo, out) => [deno, "run", "-A", main, "artifact", "pull", repo, "-o", out],
    },
    {
      name: "kpm --concurrency 1",
      cmd: (
        repo,
        out,
      ) => [deno, "run", "-A", main, "artifact", "pull", repo, "-o", out, "--concurrency", "1"],
    },
    {
      name: "skopeo copy docker:// dir:",
      cmd: (
        repo,
        out,
      ) => ["skopeo", "copy", "-q", "--src-tls-verify=false", `docker://${repo}`, `dir:${out}`],
    },
  ];
  for (const scenario of scenarios) {
    const results = new Map<string, { seconds: number[]; rss: number[] }>();
    for (let run = 0; run < runs; run++) {
      for (const tool of tools) {
        const out = join(work, "out");
        const { seconds, rssMiB } = await timed(tool.cmd(scenario.repo, out), { cwd: work, env });
        await Deno.remove(out, { recursive: true });
        const entry = results.get(tool.name) ?? { seconds: [], rss: [] };
        entry.seconds.push(seconds);
        entry.rss.push(rssMiB);
        results.set(tool.name, entry);
      }
    }
    for (const [tool, { seconds, rss }] of results) {
      rows.push(
        `| ${scenario.name.padEnd(20)} | ${tool.padEnd(26)} | ${median(seconds).toFixed(2)} s | ${
          seconds.map((s) => s.toFixed(2)).join(", ")
        } | ${Math.max(...rss).toFixed(0)} MiB |`,
      );
    }
  }
  console.log(`\nmedian of ${runs} runs, distribution 2.8 on loopback\n`);
  console.log("| artifact             | tool                       | median | runs | peak RSS |");
  console.log("| -------------------- | -------------------------- | ------ | ---- | -------- |");
  for (const row of rows) console.log(row);
} finally {
  await registry.close();
  await Deno.remove(work, { recursive: true });
}
