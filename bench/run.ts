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
 * ```
 *
 * @module
 */

import { basename } from "node:path";

const dashes = Deno.args.indexOf("--");
const named = dashes >= 0 ? Deno.args.slice(0, dashes) : Deno.args;
const names = named.length === 0 ? ["limits"] : named;
const passthrough = dashes >= 0 ? Deno.args.slice(dashes + 1) : [];
const here = new URL(".", import.meta.url);
const scripts: string[] = [];
for await (const entry of Deno.readDir(here)) {
  if (entry.isFile && entry.name.endsWith("_bench.ts")) scripts.push(entry.name);
}
scripts.sort();
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
