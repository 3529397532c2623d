/**
 * The main job, end to end, on one machine: starts kpm's embedded registry on a free port with the account
 * test / 1234, then walks the KCL quick start (login, init, push, pull by name and by URL, add into a second
 * package, graph, run) and an ORAS-style push/pull of a file, through the real command line, printing each
 * step. Exits non-zero at the first failing step.
 *
 * Run: `deno task demo` (or `npx -y deno@2.9.6 task demo` where only npm is installed).
 *
 * @module
 */

import { join } from "node:path";
import { startRegistry } from "../lib/server/registry.ts";

const main = new URL("../main.ts", import.meta.url).pathname;
const work = await Deno.makeTempDir({ prefix: "kpm-demo-" });
const env = { KCL_PKG_PATH: join(work, "kpm-home"), HOME: join(work, "home"), NO_COLOR: "1" };
const registry = await startRegistry({
  hostname: "127.0.0.1",
  port: 0,
  root: join(work, "registry"),
  users: [{ username: "test", password: "1234" }],
});
const host = `localhost:${registry.port}`;
let failed = false;

/** Runs one kpm command in `cwd`, printing it and its output; stops the demo when it fails. */
async function kpm(cwd: string, args: string[], extraEnv: Record<string, string> = {}): Promise<void> {
  const shown = Object.entries(extraEnv).map(([k, v]) => `${k}=${v} `).join("");
  console.log(`\n$ ${shown}kpm ${args.join(" ")}`);
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", main, ...args],
    cwd,
    env: { ...env, ...extraEnv },
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  if (text.trim()) console.log(text.trimEnd().replace(/^/gm, "  "));
  if (output.code !== 0) {
    throw new Error(`step failed with exit status ${output.code}: kpm ${args.join(" ")}`);
  }
}

try {
  console.log(`Embedded registry: ${registry.url} (user test, password 1234); workspace ${work}`);
  await kpm(work, ["registry", "login", "-u", "test", "-p", "1234", host]);
  await kpm(work, ["mod", "init", "MyPkg"]);
  const pkg = join(work, "MyPkg");
  await kpm(pkg, ["mod", "push", `oci://${host}/test/MyPkg`, "--tag", "v0.1.0"]);
  await kpm(pkg, ["mod", "push"], { KPM_REG: host, KPM_REPO: "test" });
  await kpm(work, ["mod", "pull", "MyPkg:v0.1.0"], { KPM_REG: host, KPM_REPO: "test" });
  await kpm(work, ["mod", "pull", `oci://${host}/test/MyPkg`, "--tag", "v0.1.0", "by-url"]);
  await kpm(work, ["mod", "init", "app"]);
  const app = join(work, "app");
  await kpm(app, ["mod", "add", `oci://${host}/test/MyPkg`, "--tag", "v0.1.0"]);
  console.log(`\n  app/kcl.mod:\n${(await Deno.readTextFile(join(app, "kcl.mod"))).replace(/^/gm, "    ")}`);
  console.log(
    `  app/kcl.mod.lock:\n${(await Deno.readTextFile(join(app, "kcl.mod.lock"))).replace(/^/gm, "    ")}`,
  );
  await kpm(app, ["mod", "graph"]);
  const kcl = await new Deno.Command("sh", { args: ["-c", "command -v kcl"], stdout: "null" }).output();
  if (kcl.success) await kpm(work, ["run", `oci://${host}/test/MyPkg`, "--tag", "v0.1.0"]);
  else {console.log(
      "\n(kpm run skipped: no KCL compiler `kcl` on PATH; kpm resolves the package, then says so)",
    );}
  await Deno.writeTextFile(join(work, "hello.txt"), "Hello from kpm!\n");
  await kpm(work, [
    "artifact",
    "push",
    `${host}/demo/hello:v1,latest`,
    "hello.txt:text/plain",
    "--annotation",
    "team=kcl",
  ]);
  await kpm(work, ["artifact", "pull", `${host}/demo/hello:latest`, "-o", "pulled"]);
  console.log(`\n  pulled/hello.txt: ${(await Deno.readTextFile(join(work, "pulled", "hello.txt"))).trim()}`);
  console.log("\nDemo finished: every step succeeded.");
} catch (error) {
  failed = true;
  console.error(`\ndemo: ${(error as Error).message}`);
} finally {
  await registry.close();
  await Deno.remove(work, { recursive: true }).catch(() => {});
}
if (failed) Deno.exit(1);
