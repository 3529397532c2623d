/**
 * Whole-process times of kpm under `deno run` (warm cache), side by side with skopeo on the same registry in
 * one run: `kpm --version` (next to an empty Deno script, Deno's floor), `kpm artifact pull` and `kpm mod pull`
 * of a small artifact/package (next to `skopeo inspect --raw` and `skopeo copy … dir:`).
 *
 * ```sh
 * deno run -A bench/startup_bench.ts [--runs 20]
 * ```
 *
 * Prints a Markdown table of median / min / max wall-clock milliseconds (performance.now around Deno.Command,
 * spawn to exit). The registry is kpm's embedded one.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { kpmHome, ROOT, runKpm, serveStatic } from "../tests/integration/ship_support.ts";
import { startEmbeddedRegistry } from "../tests/integration/support/embedded.ts";

/** One measured command. */
export interface Case {
  name: string;
  command: string;
  /** The argv for this run (`i` counts runs, for fresh output folders). */
  args: (i: number) => string[];
  cwd?: string;
  env?: Record<string, string>;
}

/** Median, minimum and maximum of a list of numbers. */
export function summary(values: number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

/** Spawn-to-exit milliseconds of run `i` of `c`. */
export async function time(c: Case, i: number): Promise<number> {
  const start = performance.now();
  const out = await new Deno.Command(c.command, {
    args: c.args(i),
    cwd: c.cwd,
    env: c.env,
    clearEnv: c.env !== undefined,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  const elapsed = performance.now() - start;
  if (!out.success) throw new Error(`${c.name} failed: ${new TextDecoder().decode(out.stderr)}`);
  return elapsed;
}

async function has(command: string): Promise<boolean> {
  return await new Deno.Command(command, { args: ["--version"], stdout: "null", stderr: "null" }).output()
    .then((o) => o.success, () => false);
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { runs: { type: "string", default: "20" } } });
  const runs = Number(values.runs);
  const registry = await startEmbeddedRegistry();
  const server = serveStatic(ROOT);
  await using home = await kpmHome();
  const deno = Deno.execPath();
  const flags = ["--allow-net", "--allow-read", "--allow-write", "--allow-env"];
  const main = join(ROOT, "main.ts");
  const config = ["--config", join(ROOT, "deno.json")];
  const host = registry.host;
  try {
    // The fixtures: a 6-byte file artifact and the package `mod init` makes, pushed once with kpm.
    await Deno.writeTextFile(join(home.dir, "hello.txt"), "hello\n");
    const setup = [
      ["artifact", "push", `${host}/bench/hello:v1`, "hello.txt:text/plain"],
      ["mod", "init", "benchpkg"],
    ];
    for (const args of setup) {
      const result = await runKpm(main, args, { cwd: home.dir, env: home.env });
      if (result.code !== 0) throw new Error(`setup ${args.join(" ")} failed: ${result.stderr}`);
    }
    const pushed = await runKpm(main, ["mod", "push", `oci://${host}/bench/benchpkg`, "--tag", "0.0.1"], {
      cwd: join(home.dir, "benchpkg"),
      env: home.env,
    });
    if (pushed.code !== 0) throw new Error(`mod push failed: ${pushed.stderr}`);
    await Deno.writeTextFile(join(home.dir, "empty.ts"), "");
    // Warm the caches: the served URL's modules and the checkout's (type-free `deno run`, no check).
    for (const entry of [main, `${server.origin}/main.ts`]) {
      await runKpm(entry, ["--version"], {
        denoArgs: ["--no-config", ...flags],
        cwd: home.dir,
        env: home.env,
      });
    }

    const env = home.env;
    const cwd = home.dir;
    const cases: Case[] = [
      { name: "deno run empty.ts (Deno's floor)", command: deno, args: () => ["run", "empty.ts"], cwd, env },
      {
        name: "kpm --version (checkout)",
        command: deno,
        args: () => ["run", ...config, ...flags, main, "--version"],
        cwd,
        env,
      },
      {
        name: "kpm --version (from URL, --no-config)",
        command: deno,
        args: () => ["run", "--no-config", ...flags, `${server.origin}/main.ts`, "--version"],
        cwd,
        env,
      },
      {
        name: "kpm artifact pull (6 B file)",
        command: deno,
        args: (
          i,
        ) => ["run", ...config, ...flags, main, "artifact", "pull", `${host}/bench/hello:v1`, "-o", `a${i}`],
        cwd,
        env,
      },
      {
        name: "kpm mod pull (mod init package)",
        command: deno,
        args: (
          i,
        ) => [
          "run",
          ...config,
          ...flags,
          main,
          "mod",
          "pull",
          `oci://${host}/bench/benchpkg`,
          "--tag",
          "0.0.1",
          `m${i}`,
        ],
        cwd,
        env,
      },
    ];
    if (await has("skopeo")) {
      cases.push(
        {
          name: "skopeo inspect --raw (artifact manifest)",
          command: "skopeo",
          args: () => ["inspect", "--raw", "--tls-verify=false", `docker://${host}/bench/hello:v1`],
          cwd,
        },
        {
          name: "skopeo copy artifact → dir:",
          command: "skopeo",
          args: (
            i,
          ) => ["copy", "-q", "--src-tls-verify=false", `docker://${host}/bench/hello:v1`, `dir:s${i}`],
          cwd,
        },
        {
          name: "skopeo copy package → dir:",
          command: "skopeo",
          args: (
            i,
          ) => ["copy", "-q", "--src-tls-verify=false", `docker://${host}/bench/benchpkg:0.0.1`, `dir:p${i}`],
          cwd,
        },
      );
    } else console.error("skopeo not found: its rows are skipped (apt-get install -y skopeo)");

    const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
    // Interleave the cases so that drift on the machine affects them alike.
    for (let i = 0; i < runs; i++) for (const c of cases) times.get(c.name)!.push(await time(c, i));
    console.log(`\n${runs} runs each, embedded registry on ${host}, Deno ${Deno.version.deno}\n`);
    console.log("| command | median | min | max |\n| --- | --- | --- | --- |");
    for (const c of cases) {
      const s = summary(times.get(c.name)!);
      console.log(
        `| ${c.name} | ${s.median.toFixed(0)} ms | ${s.min.toFixed(0)} ms | ${s.max.toFixed(0)} ms |`,
      );
    }
  } finally {
    await server.close();
    await registry.close();
  }
}
