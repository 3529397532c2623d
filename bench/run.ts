/**
 * Runs the benchmark scripts under bench/ (`*_bench.ts`) one after the other: by default `limits` (issue 15's
 * table, each row against its reference), `all` for every script, or those named, passing the remaining
 * arguments through. Each script prints its own table; this runner only sequences them and exits non-zero
 * when one fails.
 *
 * ```sh
 * deno task bench                       # the limits table (bench/limits_bench.ts)
 * deno task bench -- --size-mib 64      # the same, quicker
 * deno task bench all                   # every benchmark
 * deno task bench oci_transfer -- --size-mib 256
 * deno task bench --help                # this usage and the benchmarks there are
 * ```
 *
 * Names come first; from the first option on (with or without `--` before it) the arguments go to the scripts.
 *
 * @module
 */

import { basename } from "node:path";

const firstOption = Deno.args.findIndex((arg) => arg.startsWith("-"));
const named = firstOption >= 0 ? Deno.args.slice(0, firstOption) : Deno.args;
const names = named.length === 0 ? ["limits"] : named;
const options = firstOption >= 0 ? Deno.args.slice(firstOption) : [];
const passthrough = options[0] === "--" ? options.slice(1) : options;
const here = new URL(".", import.meta.url);
const scripts: string[] = [];
for await (const entry of Deno.readDir(here)) {
  if (entry.isFile && entry.name.endsWith("_bench.ts")) scripts.push(entry.name);
}
scripts.sort();
if (passthrough.includes("--help") || passthrough.includes("-h")) {
  console.log(`Usage: deno task bench [NAME... | all] [-- OPTIONS]

Runs bench/NAME_bench.ts scripts one after the other (default: limits, issue 15's table).
Benchmarks: ${scripts.map((script) => basename(script, "_bench.ts")).join(", ")}
Options most scripts take: --size-mib N (default 1024), --runs N (default 3);
limits also takes --only ROW,... (transfer, small, serve, version, mod-add).`);
  Deno.exit(0);
}
const selected = names.includes("all")
  ? scripts
  : scripts.filter((script) => names.some((name) => basename(script, "_bench.ts") === name));
if (selected.length === 0) {
  console.error(
    `bench: no benchmark named ${names.map((n) => `"${n}"`).join(", ")}; have ${scripts.join(", ")}`,
  );
  Deno.exit(2);
}
let failed = 0;
for (const script of selected) {
  console.log(`\n## ${script}\n`);
  const status = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(script, here).pathname, ...passthrough],
    stdin: "null",
  }).spawn().status;
  if (!status.success) {
    console.error(`bench: ${script} failed with exit status ${status.code}`);
    failed++;
  }
}
Deno.exit(failed === 0 ? 0 : 1);
