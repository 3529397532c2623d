/**
 * The performance limits of issue 15, each measured against its reference in the same run (whole processes,
 * loopback, alternating tools within every run, medians), with peak RSS from `/usr/bin/time` or the server's
 * `VmHWM`:
 *
 * | row | kpm | reference |
 * | --- | --- | --- |
 * | pull N MiB layer, verified | `kpm artifact pull` | `curl -o FILE` of the blob; `oras pull` |
 * | push N MiB | `kpm artifact push` | `curl -T` (POST, one streamed PUT); `oras push` |
 * | push N MiB again (the registry has the blob) | the same `kpm artifact push` | the same `oras push` |
 * | pull 100 files × 10 KiB | `kpm artifact pull` | `oras pull` |
 * | registry serve: N MiB blob GET | `curl -o /dev/null` from `kpm registry serve` | the same from distribution 2.8 |
 * | registry serve: peak RSS after receiving and serving N MiB | kpm's VmHWM | distribution's |
 * | `kpm --version` through `deno run` | `deno run -A main.ts --version` | `deno run empty.ts`; `oras version` |
 * | `mod add` of a 626-file package | `kpm mod add` | the KCL CLI (cannot be built here); kcl-lib's `update_dependencies` |
 *
 * Pull, push and the small pull run against distribution 2.8; ORAS is the CLI v1.3.6 found by `peerPath`. Both
 * clients are told the registry is plain HTTP (`--plain-http`), so neither tries https first. `mod add` runs
 * over https against `kpm registry serve`, as kcl-lib takes nothing else: its certificate is signed by a CA
 * that kcl-lib's copy in the temp folder is made to trust (./kcl_lib_trust.ts); kpm is given `--ca-file`.
 *
 * ```sh
 * deno task bench                                   # = deno run -A bench/limits_bench.ts (1 GiB, 3 runs)
 * deno task bench limits -- --size-mib 64 --runs 1  # a quick run
 * ```
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { digestStream } from "../lib/oci/digest.ts";
import { OCI_LAYER_TAR } from "../lib/oci/media_types.ts";
import { packageSum } from "../lib/kpm/package.ts";
import { ANNOTATION_NAME, ANNOTATION_SUM, ANNOTATION_VERSION } from "../lib/kpm/oci_package.ts";
import { currentDenoDir, kpmHome, ROOT } from "../tests/integration/ship_support.ts";
import { peerPath } from "../tests/integration/support/peers.ts";
import {
  curlGet,
  memory,
  run,
  type Server,
  type ServerTls,
  startDistributionServer,
  startKpm,
  uploadBig,
} from "./registry_bench.ts";
import { borrowedRootTls, kclLibTrusting } from "./kcl_lib_trust.ts";
import { type Case, time } from "./startup_bench.ts";
import { writePackage } from "./kpm_bench.ts";
import { median, SIZE_OPTIONS, timed } from "./timed.ts";

/** One measured tool: wall times and peak RSS of its runs. */
interface Sample {
  label: string;
  seconds: number[];
  rssMiB: number[];
}

/** One row of the issue's table: kpm, its references, the target. */
interface Row {
  task: string;
  kpm: Sample;
  references: (Sample | string)[];
  target: string;
}

/** What every row needs: the work folder, the environment of the tools, the registry and its peers. */
interface Bench {
  work: string;
  env: Record<string, string>;
  runs: number;
  sizeMiB: number;
  registry: Server;
  oras?: string;
  main: string;
  deno: string;
}

const sample = (label: string): Sample => ({ label, seconds: [], rssMiB: [] });

/** Runs `cmd` under /usr/bin/time after a `sync` (so no run pays for the previous one's writeback). */
async function measure(into: Sample, cmd: string[], bench: Bench, cwd?: string): Promise<void> {
  await new Deno.Command("sync").output();
  const { seconds, rssMiB } = await timed(cmd, { cwd, env: bench.env });
  into.seconds.push(seconds);
  into.rssMiB.push(rssMiB);
  console.error(`${into.label}: ${seconds.toFixed(3)} s, ${rssMiB.toFixed(0)} MiB`);
}

async function randomFile(path: string, mib: number): Promise<{ digest: string; size: number }> {
  await run(["sh", "-c", `head -c ${mib * 1024 * 1024} /dev/urandom > "${path}"`]);
  return await digestStream((await Deno.open(path)).readable);
}

/** Pull and push of one big layer: kpm, curl and the ORAS CLI. */
async function bigTransfer(bench: Bench): Promise<Row[]> {
  const { work, deno, main, registry, oras } = bench;
  const file = join(work, "big.bin");
  const { digest } = await randomFile(file, bench.sizeMiB);
  const ref = (tool: string, i: number) => `${registry.host}/bench/${tool}${i}:1`;
  const push = [sample("kpm artifact push"), sample("curl -T"), sample("oras push")];
  const again = [sample("kpm artifact push, blob there"), sample("oras push, blob there")];
  const pull = [sample("kpm artifact pull"), sample("curl -o"), sample("oras pull")];
  const out = join(work, "out");
  const kpmPush = (
    i: number,
  ) => [deno, "run", "-A", main, "artifact", "push", "--plain-http", ref("kpm", i), "big.bin"];
  const orasPush = (i: number) => [oras!, "push", "--plain-http", ref("oras", i), "big.bin"];
  for (let i = 0; i < bench.runs; i++) {
    await measure(push[0]!, kpmPush(i), bench, work);
    await new Deno.Command("sync").output();
    const seconds = await uploadBig(registry.host, file, digest, `bench/curl${i}`);
    push[1]!.seconds.push(seconds);
    if (oras) await measure(push[2]!, orasPush(i), bench, work);
    // the same push again: the registry has the blob (kpm's upload while hashing is then sent for nothing)
    await measure(again[0]!, kpmPush(i), bench, work);
    if (oras) await measure(again[1]!, orasPush(i), bench, work);
  }
  for (let i = 0; i < bench.runs; i++) {
    const kpmPull = [deno, "run", "-A", main, "artifact", "pull", "--plain-http", ref("kpm", 0), "-o", out];
    await measure(pull[0]!, kpmPull, bench);
    await Deno.remove(out, { recursive: true });
    const blob = `http://${registry.host}/v2/bench/kpm0/blobs/${digest}`;
    await measure(pull[1]!, ["curl", "-sf", "-o", join(work, "curl.bin"), blob], bench);
    await Deno.remove(join(work, "curl.bin"));
    if (oras) {
      await measure(pull[2]!, [oras, "pull", "--plain-http", ref("kpm", 0), "-o", out], bench);
      await Deno.remove(out, { recursive: true });
    }
  }
  await Deno.remove(file);
  const size = `${bench.sizeMiB} MiB`;
  const orasOr = (s: Sample) => oras ? s : "oras CLI not built";
  return [
    {
      task: `pull ${size} layer, verified`,
      kpm: pull[0]!,
      references: [pull[1]!, orasOr(pull[2]!)],
      target: "≤ 1.0× curl, < oras, ≤ 100 MiB",
    },
    {
      task: `push ${size}`,
      kpm: push[0]!,
      references: [push[1]!, orasOr(push[2]!)],
      target: "≤ 1.0× curl -T, < oras",
    },
    {
      task: `push ${size} again (the registry has the blob)`,
      kpm: again[0]!,
      references: [orasOr(again[1]!)],
      target: "< oras",
    },
  ];
}

/** 100 files of 10 KiB pushed once with kpm, pulled by kpm and by the ORAS CLI. */
async function smallPull(bench: Bench): Promise<Row> {
  const { work, deno, main, registry, oras } = bench;
  const dir = join(work, "small");
  await Deno.mkdir(dir);
  await run([
    "sh",
    "-c",
    `cd "${dir}" && for i in $(seq -w 1 100); do head -c 10240 /dev/urandom > f$i.bin; done`,
  ]);
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  const ref = `${registry.host}/bench/small:1`;
  await timed([deno, "run", "-A", main, "artifact", "push", ref, ...names], { cwd: dir, env: bench.env });
  const kpm = sample("kpm artifact pull (100 files)");
  const peer = sample("oras pull (100 files)");
  const out = join(work, "out");
  for (let i = 0; i < bench.runs * 2; i++) {
    await measure(kpm, [deno, "run", "-A", main, "artifact", "pull", "--plain-http", ref, "-o", out], bench);
    await Deno.remove(out, { recursive: true });
    if (!oras) continue;
    await measure(peer, [oras, "pull", "--plain-http", ref, "-o", out], bench);
    await Deno.remove(out, { recursive: true });
  }
  return {
    task: "pull 100 files × 10 KiB",
    kpm,
    references: [oras ? peer : "oras CLI not built"],
    target: "≤ 1.0× oras",
  };
}

/** `kpm registry serve` and distribution 2.8 each receive the big blob (curl -T) and serve it (curl GET). */
async function registryServe(bench: Bench): Promise<Row[]> {
  const file = join(bench.work, "serve.bin");
  const { digest, size } = await randomFile(file, bench.sizeMiB);
  const servers = [await startKpm(join(bench.work, "kpm-serve")), await startDistributionServer()];
  const gets = servers.map((server) => sample(`curl GET from ${server.name}`));
  const peaks = servers.map((server) => sample(`${server.name} VmHWM`));
  try {
    for (const server of servers) await uploadBig(server.host, file, digest);
    for (let i = 0; i < bench.runs * 2; i++) {
      for (const [n, server] of servers.entries()) gets[n]!.seconds.push(await curlGet(server, digest, size));
    }
    for (const [n, server] of servers.entries()) peaks[n]!.rssMiB.push((await memory(server.pid)).peak);
  } finally {
    for (const server of servers) await server.stop();
    await Deno.remove(file);
  }
  const size_ = `${bench.sizeMiB} MiB`;
  return [
    {
      task: `registry serve: ${size_} blob GET`,
      kpm: gets[0]!,
      references: [gets[1]!],
      target: "≤ 1.0× distribution",
    },
    {
      task: `registry serve: peak RSS after receiving and serving ${size_}`,
      kpm: peaks[0]!,
      references: [peaks[1]!],
      target: "≤ 110 MiB",
    },
  ];
}

/** `kpm --version` through `deno run`, next to an empty script (Deno's floor) and `oras version`. */
async function version(bench: Bench): Promise<Row> {
  const { work, deno, main, oras, env } = bench;
  await Deno.writeTextFile(join(work, "empty.ts"), "");
  const cases: Case[] = [
    { name: "kpm --version", command: deno, args: () => ["run", "-A", main, "--version"], cwd: work, env },
    { name: "deno run empty.ts", command: deno, args: () => ["run", "empty.ts"], cwd: work, env },
  ];
  if (oras) cases.push({ name: "oras version", command: oras, args: () => ["version"], cwd: work, env });
  const samples = cases.map((c) => sample(c.name));
  for (let i = 0; i < Math.max(20, bench.runs * 5); i++) {
    for (const [n, c] of cases.entries()) samples[n]!.seconds.push((await time(c, i)) / 1000);
  }
  for (const [n, c] of cases.entries()) {
    samples[n]!.rssMiB.push((await timed([c.command, ...c.args(0)], { cwd: work, env })).rssMiB);
  }
  return {
    task: "`kpm --version` through `deno run`",
    kpm: samples[0]!,
    references: samples.slice(1),
    target: "≤ 30 ms",
  };
}

/** kcl-lib's update_dependencies (oci-client in kcl-lib's Rust core) downloading the app's dependencies. */
const KCL_LIB_UPDATE = `import os, kcl_lib.api as api
api.API().update_dependencies(api.UpdateDependenciesArgs(manifest_path=os.getcwd()))`;

/**
 * A package of 626 files (as many as k8s 1.31.2's), ~8 KiB each, pushed as the KCL CLI pushed packages until
 * its kpm v0.12.5 (2026; k8s 1.31.2 is older): one plain tar layer (`…layer.v1.tar`, the only layer type
 * kcl-lib 0.13 pulls; `kpm mod push` writes tar+gzip) with the package annotations.
 *
 * @returns the package's checksum
 */
async function bigPackage(bench: Bench, src: string, ref: string, caFile: string): Promise<string> {
  await writePackage(src, "k8s", [], 8);
  for (let i = 0; i < 624; i++) {
    const dir = join(src, "api", `group${i % 24}`);
    await Deno.mkdir(dir, { recursive: true });
    const fields = Array.from({ length: 160 }, (_, f) => `    field${f}: str = "${crypto.randomUUID()}"`);
    await Deno.writeTextFile(join(dir, `kind${i}.k`), `schema Kind${i}:\n${fields.join("\n")}\n`);
  }
  const tar = "k8s_0.0.1.tar";
  const entries = [...Deno.readDirSync(src)].map((e) => e.name);
  await run(["tar", "-C", src, "-cf", join(bench.work, tar), ...entries]);
  const sum = await packageSum(src);
  const annotations = [`${ANNOTATION_NAME}=k8s`, `${ANNOTATION_VERSION}=0.0.1`, `${ANNOTATION_SUM}=${sum}`];
  const push = ["artifact", "push", "--ca-file", caFile, ref, `${tar}:${OCI_LAYER_TAR}`];
  await timed([bench.deno, "run", "-A", bench.main, ...push, ...annotations.flatMap((a) => ["-a", a])], {
    cwd: bench.work,
    env: bench.env,
  });
  return sum;
}

/** kcl-lib's copy that trusts `tls`'s CA (see ./kcl_lib_trust.ts), or why there is none. */
async function trustingKclLib(
  work: string,
  tls: ServerTls,
): Promise<{ python: string; path: string } | string> {
  const python = await peerPath("kcl-python");
  if (!python) return "kcl-lib not installed";
  try {
    return { python, path: await kclLibTrusting(python, tls.caFile, join(work, "kcl-lib")) };
  } catch (error) {
    return `kcl-lib cannot be made to trust a test CA: ${(error as Error).message.split("\n")[0]}`;
  }
}

/**
 * `kpm mod add` of the big package into a new app, and kcl-lib's download of the same package, alternating,
 * empty cache each run, both over https from `kpm registry serve` (a CA named as a root kcl-lib trusts).
 */
async function modAdd(bench: Bench): Promise<Row> {
  const { work, deno, main } = bench;
  const tls = await borrowedRootTls(join(work, "tls"));
  const registry = await startKpm(join(work, "tls-registry"), tls);
  try {
    const env = { ...bench.env, KPM_REG: registry.host, KPM_REPO: "bench" };
    const sum = await bigPackage(
      { ...bench, env },
      join(work, "k8s"),
      `${registry.host}/bench/k8s:0.0.1`,
      tls.caFile,
    );
    const kcl = await trustingKclLib(work, tls);
    const kpm = sample("kpm mod add (626 files)");
    let kclLib: Sample | string = typeof kcl === "string" ? kcl : sample("kcl-lib update_dependencies");
    for (let i = 0; i < bench.runs * 2; i++) {
      const app = join(work, `app${i}`);
      await writePackage(join(app, "kpm"), "app", [], 1);
      await measure(kpm, [deno, "run", "-A", main, "mod", "add", "--ca-file", tls.caFile, "k8s:0.0.1"], {
        ...bench,
        env: { ...env, KCL_PKG_PATH: join(app, "kpm-cache") },
      }, join(app, "kpm"));
      if (typeof kcl === "string" || typeof kclLib === "string") continue;
      await writePackage(join(app, "kcl"), "app", [], 1);
      await Deno.writeTextFile(
        join(app, "kcl", "kcl.mod"),
        `\n[dependencies]\nk8s = { oci = "oci://${registry.host}/bench/k8s", tag = "0.0.1" }\n`,
        { append: true },
      );
      const kclEnv = { ...env, KCL_PKG_PATH: join(app, "kcl-cache"), PYTHONPATH: kcl.path };
      try {
        await measure(
          kclLib,
          [kcl.python, "-c", KCL_LIB_UPDATE],
          { ...bench, env: kclEnv },
          join(app, "kcl"),
        );
      } catch (error) {
        const lines = (error as Error).message.split("\n");
        const reason = lines.find((line) => line.startsWith("Exception: "))?.slice(11) ?? lines[0];
        kclLib = `kcl-lib cannot download from the loopback registry: ${reason}`;
        continue;
      }
      if (await packageSum(join(app, "kcl-cache", "k8s_0.0.1")) !== sum) {
        throw new Error(`kcl-lib's download in ${app} is not the package pushed`);
      }
    }
    const references = ["KCL CLI: not built here (the Go module proxy refuses it)", kclLib];
    return { task: "`mod add` of a 626-file package", kpm, references, target: "≤ 0.5× the KCL CLI" };
  } finally {
    await registry.stop();
  }
}

/** "0.84 s, 68 MiB" for a timed sample, "161 MiB" for a memory-only one. */
function describeSample(s: Sample): string {
  const rss = s.rssMiB.length ? `${Math.max(...s.rssMiB).toFixed(0)} MiB` : "";
  if (!s.seconds.length) return rss;
  const m = median(s.seconds);
  const time = m < 1 ? `${(m * 1000).toFixed(0)} ms` : `${m.toFixed(2)} s`;
  return rss ? `${time}, ${rss}` : time;
}

/** kpm's median over the reference's (times, or peak RSS for a memory row). */
function ratio(kpm: Sample, reference: Sample): string {
  const value = (s: Sample) => s.seconds.length ? median(s.seconds) : Math.max(...s.rssMiB);
  return `${(value(kpm) / value(reference)).toFixed(2)}×`;
}

function printTable(rows: Row[], bench: Bench): void {
  console.log(
    `\nissue 15's limits: ${bench.sizeMiB} MiB, medians of ${bench.runs} runs (small rows ${
      bench.runs * 2
    }), Deno ${Deno.version.deno}\n`,
  );
  console.log("| task | kpm | reference | kpm ÷ reference | target |");
  console.log("| --- | --- | --- | --- | --- |");
  for (const row of rows) {
    for (const [n, reference] of row.references.entries()) {
      const first = n === 0;
      const ref = typeof reference === "string"
        ? reference
        : `${reference.label}: ${describeSample(reference)}`;
      const r = typeof reference === "string" ? "unavailable" : ratio(row.kpm, reference);
      console.log(
        `| ${first ? row.task : ""} | ${
          first ? `${row.kpm.label}: ${describeSample(row.kpm)}` : ""
        } | ${ref} | ${r} | ${first ? row.target : ""} |`,
      );
    }
  }
}

const ROWS: Record<string, (bench: Bench) => Promise<Row | Row[]>> = {
  transfer: bigTransfer,
  small: smallPull,
  serve: registryServe,
  version,
  "mod-add": modAdd,
};

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: SIZE_OPTIONS,
  });
  const only = values.only?.split(",") ?? Object.keys(ROWS);
  const unknown = only.filter((name) => !(name in ROWS));
  if (unknown.length) {
    throw new Error(`--only: unknown row(s) ${unknown.join(", ")}; have ${Object.keys(ROWS).join(", ")}`);
  }
  await using home = await kpmHome();
  const registry = await startDistributionServer();
  const bench: Bench = {
    work: home.dir,
    env: { ...home.env, DENO_DIR: await currentDenoDir() },
    runs: Number(values.runs),
    sizeMiB: Number(values["size-mib"]),
    registry,
    oras: await peerPath("oras"),
    main: join(ROOT, "main.ts"),
    deno: Deno.execPath(),
  };
  const rows: Row[] = [];
  try {
    await timed([bench.deno, "cache", bench.main], { env: { ...Deno.env.toObject(), ...bench.env } });
    for (const name of only) rows.push(...[await ROWS[name]!(bench)].flat());
  } finally {
    await registry.stop();
  }
  printTable(rows, bench);
}
