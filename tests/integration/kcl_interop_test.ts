/**
 * `kpm run` runs real KCL: PyPI's kcl-lib 0.13.2 (the KCL CLI cannot be built here) behind tests/peers/kcl, a
 * `kcl run` adapter. For a local package, an `oci://` package and a package with an OCI dependency, kpm's output
 * is the YAML that the adapter prints for the same package, where kcl-lib resolves the dependencies itself from
 * kpm's kcl.mod, kcl.mod.lock and package cache (and leaves both files as they were).
 *
 * kcl-lib fetches OCI packages only over https with its built-in public roots, so it cannot pull from a
 * loopback registry: the "kcl mod push/pull" direction is not compared here.
 */

import { dirname, join } from "node:path";
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { startEmbeddedRegistry } from "./support/embedded.ts";
import { kpmInProcess } from "./support/kpm_cli.ts";
import { ignoreWithoutPeers, peerPath, runPeer } from "./support/peers.ts";
import { describe, kpmHome, ROOT, runKpm } from "./ship_support.ts";

const ADAPTER = join(ROOT, "tests", "peers", "kcl");
const MAIN = join(ROOT, "main.ts");

const DEP_MAIN = `greeting = "hello"
schema Limits:
    cpu: str = "100m"
    memory: str = "128Mi"
`;

const APP_MAIN = `import dep

schema App:
    name: str
    replicas: int = 1
    limits: dep.Limits = dep.Limits {}
    check:
        replicas > 0, "replicas must be positive"

env = option("env") or "dev"
app = App {name = "demo", replicas = 2 if env == "prod" else 1}
message = "\${dep.greeting}, \${app.name} (\${env})"
`;

Deno.test("kpm run hands local, oci:// and OCI-dependent packages to real KCL (kcl-lib)", {
  ignore: await ignoreWithoutPeers(["kcl-python"]),
}, async (t) => {
  const registry = await startEmbeddedRegistry();
  await using home = await kpmHome();
  const python = await peerPath("kcl-python");
  const env = { ...home.env, KPM_KCL_BIN: ADAPTER, KPM_PEERS_BIN: python ? dirname(python) : "" };
  const work = join(home.dir, "work");
  await Deno.mkdir(work, { recursive: true });
  /** `kpm run` as a process (the compiler writes to its stdout); other commands in-process. */
  const kpm = async (cwd: string, ...args: string[]) => {
    const out = args[0] === "run"
      ? await runKpm(MAIN, args, { cwd, env })
      : await kpmInProcess(args, cwd, env);
    assertEquals(out.code, 0, `kpm ${args.join(" ")}: ${describe(out)}`);
    return out.stdout;
  };
  const kcl = (cwd: string, ...args: string[]) => runPeer(ADAPTER, ["run", ...args], { cwd, env });
  const dep = join(work, "dep");
  const app = join(work, "app");
  try {
    await t.step("a local package: the same YAML as kcl run", async () => {
      await kpm(work, "mod", "init", "dep");
      await Deno.writeTextFile(join(dep, "main.k"), DEP_MAIN);
      const out = await kpm(dep, "run");
      assertEquals(out, await kcl(dep));
      assertEquals(out, "greeting: hello\n");
    });

    await t.step("an oci:// package: the same YAML as kcl run on the pulled package", async () => {
      await kpm(dep, "mod", "push", `oci://${registry.host}/kcl/dep`);
      const out = await kpm(work, "run", `oci://${registry.host}/kcl/dep`, "--tag", "0.0.1");
      await kpm(work, "mod", "pull", `oci://${registry.host}/kcl/dep`, "--tag", "0.0.1");
      assertEquals(out, await kcl(join(work, "oci", registry.host, "kcl", "dep", "0.0.1")));
    });

    await t.step("a package with an OCI dependency: kcl-lib resolves it from kpm's files", async () => {
      await kpm(work, "mod", "init", "app");
      await Deno.writeTextFile(join(app, "main.k"), APP_MAIN);
      await kpm(app, "mod", "add", `oci://${registry.host}/kcl/dep`, "--tag", "0.0.1");
      const mod = await Deno.readTextFile(join(app, "kcl.mod"));
      const lock = await Deno.readTextFile(join(app, "kcl.mod.lock"));
      for (const args of [[], ["-D", "env=prod"]]) {
        const out = await kpm(app, "run", "--", ...args);
        assertEquals(out, await kcl(app, ...args));
        assertStringIncludes(out, `replicas: ${args.length ? 2 : 1}`);
      }
      assertStringIncludes(await kcl(app), "message: hello, demo (dev)\n");
      assertEquals(await Deno.readTextFile(join(app, "kcl.mod")), mod, "kcl-lib keeps kpm's kcl.mod");
      assertEquals(await Deno.readTextFile(join(app, "kcl.mod.lock")), lock, "and its kcl.mod.lock");
    });

    await t.step("a KCL error: kpm run exits non-zero with the compiler's message", async () => {
      await Deno.writeTextFile(join(app, "main.k"), "import dep\nx = dep.missing\n");
      const out = await runKpm(MAIN, ["run"], { cwd: app, env });
      assertEquals(out.code, 1, describe(out));
      assertStringIncludes(out.stderr, "missing");
    });
  } finally {
    await registry.close();
  }
});
