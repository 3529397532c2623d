/**
 * README's quick start, run verbatim by bash in one folder: the code block under "## Quick start" with `kpm`
 * standing for main.ts, the port 5001 swapped for a free one (tests run side by side), and a stand-in KCL
 * compiler in KPM_KCL_BIN. Every line must succeed (`set -e`), the second `mod pull` included.
 */

import { join } from "node:path";
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { describe, kpmHome, ROOT } from "./ship_support.ts";
import { freePort } from "./support/ports.ts";

/** The first ```sh block after `heading` in README.md. */
async function readmeBlock(heading: string): Promise<string> {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const section = readme.slice(readme.indexOf(heading));
  const start = section.indexOf("```sh\n") + "```sh\n".length;
  return section.slice(start, section.indexOf("\n```", start));
}

Deno.test("README's quick start runs verbatim in one folder", async () => {
  await using home = await kpmHome();
  const block = await readmeBlock("## Quick start");
  assertStringIncludes(block, "kpm mod pull oci://localhost:5001/test/MyPkg --tag v0.1.0");
  const port = String(freePort());
  const compiler = join(home.dir, "kcl-stand-in");
  await Deno.writeTextFile(compiler, `#!/bin/sh\necho "compiled $*"\n`, { mode: 0o755 });
  const kpm = `kpm() { '${Deno.execPath()}' run -A '${join(ROOT, "main.ts")}' "$@"; }`;
  const script = [
    "set -e",
    kpm,
    // stop the background registry (the function's subshell and its deno child) when the block ends
    `trap 'for j in $(jobs -p); do pkill -P "$j"; kill "$j"; done 2>/dev/null' EXIT`,
    block.replaceAll("5001", port),
  ].join("\n");
  const out = await new Deno.Command("bash", {
    args: ["-c", script],
    cwd: home.dir,
    env: { ...home.env, KPM_KCL_BIN: compiler },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const result = { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
  assertEquals(result.code, 0, describe(result));
  assertStringIncludes(result.stdout, "Login succeeded");
  assertStringIncludes(result.stdout, `Pushed oci://localhost:${port}/test/mypkg:v0.1.0`);
  assertStringIncludes(result.stderr, "replaced it with the pulled package");
  assertStringIncludes(result.stdout, "compiled run ");
  const pulled = join(home.dir, "MyPkg", "oci", `localhost:${port}`, "test", "MyPkg", "v0.1.0", "kcl.mod");
  assertStringIncludes(await Deno.readTextFile(pulled), 'name = "MyPkg"');
});
