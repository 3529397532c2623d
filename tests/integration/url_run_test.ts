/**
 * kpm run straight from a URL, with no deno.json: the checkout is served read-only over http on 127.0.0.1 and
 * the quick start (login, mod init/push/pull, artifact push/pull) runs through
 * `deno run --no-config --allow-net --allow-read --allow-write --allow-env http://127.0.0.1:PORT/main.ts`.
 */

import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { describe, kpmHome, ROOT, runKpm, serveStatic } from "./ship_support.ts";
import { startEmbeddedRegistry } from "./support/embedded.ts";
import { VERSION } from "../../lib/version.ts";

/** The minimal permissions documented in docs/install.md (no --allow-run: no credential helper, no KCL). */
const MINIMAL = ["--allow-net", "--allow-read", "--allow-write", "--allow-env"];

Deno.test("kpm runs from a URL with no deno.json and the minimal permissions", async (t) => {
  const server = serveStatic(ROOT);
  const registry = await startEmbeddedRegistry({ users: [{ username: "test", password: "1234" }] });
  await using home = await kpmHome();
  const entry = `${server.origin}/main.ts`;
  // --reload=ORIGIN refetches the served code every run (the npm packages stay in the warm cache).
  const denoArgs = ["--no-config", `--reload=${server.origin}`, ...MINIMAL];
  const kpm = (args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) =>
    runKpm(entry, args, { denoArgs, cwd: options.cwd ?? home.dir, env: { ...home.env, ...options.env } });
  const host = registry.host;
  try {
    await t.step("--version prints deno.json's version", async () => {
      const result = await kpm(["--version"]);
      assertEquals(result.code, 0, describe(result));
      assertEquals(result.stdout, `kpm ${VERSION}\n`);
      assert(server.served.includes("/main.ts") && server.served.includes("/lib/deps.ts"));
      assert(!server.served.includes("/deno.json"), "no configuration file is read");
    });

    await t.step("registry login to the embedded registry", async () => {
      const result = await kpm(["registry", "login", "-u", "test", "-p", "1234", host]);
      assertEquals(result.code, 0, describe(result));
      assertStringIncludes(result.stdout, "Login succeeded");
    });

    await t.step("mod init, mod push, and mod pull two ways", async () => {
      let result = await kpm(["mod", "init", "MyPkg"]);
      assertEquals(result.code, 0, describe(result));
      const pkg = join(home.dir, "MyPkg");
      assertStringIncludes(await Deno.readTextFile(join(pkg, "kcl.mod")), 'name = "MyPkg"');
      result = await kpm(["mod", "push", `oci://${host}/test/MyPkg`, "--tag", "v0.1.0"], { cwd: pkg });
      assertEquals(result.code, 0, describe(result));
      const pulled = join(home.dir, "pulled");
      await Deno.mkdir(pulled);
      result = await kpm(["mod", "pull", `oci://${host}/test/MyPkg`, "--tag", "v0.1.0"], { cwd: pulled });
      assertEquals(result.code, 0, describe(result));
      const pulledByName = join(home.dir, "pulled-by-name");
      await Deno.mkdir(pulledByName);
      result = await kpm(["mod", "pull", "MyPkg:v0.1.0"], {
        cwd: pulledByName,
        env: { KPM_REG: host, KPM_REPO: "test" },
      });
      assertEquals(result.code, 0, describe(result));
      for (const dir of [pulled, pulledByName]) {
        const mods: string[] = [];
        for await (const path of walk(dir)) if (path.endsWith("kcl.mod")) mods.push(path);
        assertEquals(mods.length, 1, `one pulled kcl.mod under ${dir}`);
        assertStringIncludes(await Deno.readTextFile(mods[0]!), 'name = "MyPkg"');
      }
    });

    await t.step("artifact push and pull", async () => {
      const work = join(home.dir, "artifact");
      await Deno.mkdir(work);
      await Deno.writeTextFile(join(work, "hello.txt"), "hello from a URL\n");
      let result = await kpm(
        [
          "artifact",
          "push",
          `${host}/demo/hello:v1`,
          "hello.txt:text/plain",
          "--annotation",
          "team=kcl",
          "--json",
        ],
        { cwd: work },
      );
      assertEquals(result.code, 0, describe(result));
      const pushed = JSON.parse(result.stdout) as { digest?: string };
      assert(pushed.digest?.startsWith("sha256:"), describe(result));
      result = await kpm(["artifact", "pull", `${host}/demo/hello:v1`, "-o", "out"], { cwd: work });
      assertEquals(result.code, 0, describe(result));
      assert(
        !result.stderr.includes("\r") && !result.stderr.includes("\x1b"),
        `no progress line when stderr is a pipe: ${describe(result)}`,
      );
      assertEquals(await Deno.readTextFile(join(work, "out", "hello.txt")), "hello from a URL\n");
    });
  } finally {
    await registry.close();
    await server.close();
  }
});

Deno.test("kpm from a URL without --allow-env fails with Deno's permission error, not a hang", async () => {
  const server = serveStatic(ROOT);
  await using home = await kpmHome();
  try {
    // (--version is answered before the environment is read, so ask for the help)
    const result = await runKpm(`${server.origin}/main.ts`, ["--help"], {
      denoArgs: ["--no-config", "--no-prompt", "--allow-read"],
      cwd: home.dir,
      env: home.env,
    });
    assertEquals(result.code, 1, describe(result));
    assertStringIncludes(result.stderr, "--allow-env");
  } finally {
    await server.close();
  }
});

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* walk(path);
    else yield path;
  }
}
