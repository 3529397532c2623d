/**
 * The package commands that need no registry, through main.ts: mod init (keeps files, current folder), kpm config
 * and its sources, a bad OCI_REG_PLAIN_HTTP, local path dependencies (add, lock, graph, metadata, run),
 * mod pkg and pulling / running a .tgz or plain .tar, the old spellings and the concurrency knob.
 */

import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { describe, kpmHome, ROOT, runKpm } from "./integration/ship_support.ts";

const MAIN = join(ROOT, "main.ts");

Deno.test("package commands without a registry", async (t) => {
  await using home = await kpmHome();
  const log = join(home.dir, "kcl.log");
  const compiler = join(home.dir, "kcl");
  await Deno.writeTextFile(compiler, `#!/bin/sh\necho "$PWD|$*" >> '${log}'\n`);
  await Deno.chmod(compiler, 0o755);
  const kpm = (args: string[], cwd = home.dir, env: Record<string, string> = {}) =>
    runKpm(MAIN, args, { cwd, env: { ...home.env, KPM_KCL_BIN: compiler, ...env } });
  const ok = async (args: string[], cwd = home.dir, env: Record<string, string> = {}) => {
    const result = await kpm(args, cwd, env);
    assertEquals(result.code, 0, `kpm ${args.join(" ")}: ${describe(result)}`);
    return result;
  };
  const app = join(home.dir, "app");
  const lib = join(home.dir, "lib");

  await t.step("mod init keeps existing files; without NAME it uses the current folder", async () => {
    await Deno.mkdir(app);
    await Deno.writeTextFile(join(app, "main.k"), "mine = 1\n");
    const result = await ok(["mod", "init"], app);
    assertStringIncludes(result.stderr, "already exists");
    assertEquals(await Deno.readTextFile(join(app, "main.k")), "mine = 1\n");
    assertEquals(
      await Deno.readTextFile(join(app, "kcl.mod")),
      '[package]\nname = "app"\nedition = "v0.11.0"\nversion = "0.0.1"\n',
    );
    await ok(["init", "lib"]);
    await Deno.writeTextFile(
      join(lib, "kcl.mod"),
      '[package]\nname = "lib"\nedition = "v0.11.0"\nversion = "0.1.0"\n',
    );
  });

  await t.step("kpm config prints each value and where it came from", async () => {
    const result = await ok(["config"], home.dir, { KPM_REPO: "team", OCI_REG_PLAIN_HTTP: "on" });
    assertStringIncludes(result.stdout, "DefaultOciRegistry = ghcr.io (from default)");
    assertStringIncludes(result.stdout, "DefaultOciRepo = team (from env)");
    assertStringIncludes(result.stdout, "DefaultOciPlainHttp = true (from env)");
    // kpm config only reads: no kpm.json is created, so the defaults stay defaults
    const json = JSON.parse((await ok(["config", "--json"], home.dir, { KPM_REPO: "team" })).stdout);
    assertEquals(json.DefaultOciRegistry, { value: "ghcr.io", source: "default", origin: "default" });
    assertEquals(json.DefaultOciRepo, { value: "team", source: "env", origin: "KPM_REPO" });
    assertEquals(json.compiler, { value: compiler, source: "env", origin: "KPM_KCL_BIN" });
    assertEquals(json.credentialsFile.origin, "default");
    await Deno.stat(join(home.env.KCL_PKG_PATH!, ".kpm")).then(
      () => assert(false, "kpm config created $KCL_PKG_PATH/.kpm"),
      (error) => assert(error instanceof Deno.errors.NotFound, String(error)),
    );
    const bad = await kpm(["config"], home.dir, { OCI_REG_PLAIN_HTTP: "yes" });
    assertEquals(bad.code, 1, describe(bad));
    assertStringIncludes(bad.stderr, "OCI_REG_PLAIN_HTTP");
  });

  await t.step("a local path dependency: add, lock, graph, metadata, run", async () => {
    await ok(["mod", "add", "../lib"], app);
    assertStringIncludes(
      await Deno.readTextFile(join(app, "kcl.mod")),
      '[dependencies]\nlib = { path = "../lib" }\n',
    );
    const lock = await Deno.readTextFile(join(app, "kcl.mod.lock"));
    assertStringIncludes(lock, '  [dependencies.lib]\n    name = "lib"\n    full_name = "lib_0.1.0"\n');
    assertEquals((await ok(["graph"], app)).stdout, "app@0.0.1 lib@0.1.0\n");
    assertEquals(JSON.parse((await ok(["mod", "metadata", "--update"], app)).stdout), {
      packages: { lib: { name: "lib", manifest_path: lib } },
    });
    assertEquals(JSON.parse((await ok(["metadata"], app)).stdout), {
      packages: { lib: { name: "lib", manifest_path: lib } },
    });
    await ok(["run", "--", "-o", "out.yaml"], app);
    assertEquals(await Deno.readTextFile(log), `${app}|run -E lib=${lib} -o out.yaml\n`);
    await ok(["update"], app);
    assertEquals(await Deno.readTextFile(join(app, "kcl.mod.lock")), lock);
  });

  await t.step("a package with a local path dependency is not pushed", async () => {
    const result = await kpm(["mod", "push", "oci://127.0.0.1:9/test/app"], app);
    assertEquals(result.code, 1, describe(result));
    assertStringIncludes(result.stderr, 'dependency "lib" is a local path ("../lib")');
  });

  await t.step("a dependency named with - is passed to the compiler with _", async () => {
    const tool = join(home.dir, "my-tool");
    await ok(["mod", "init", "my-tool"]);
    await ok(["mod", "add", tool], app);
    await Deno.remove(log);
    await ok(["run"], app);
    assertEquals(await Deno.readTextFile(log), `${app}|run -E lib=${lib} -E my_tool=${tool}\n`);
    assertEquals(JSON.parse((await ok(["mod", "metadata"], app)).stdout).packages.my_tool, {
      name: "my_tool",
      manifest_path: tool,
    });
    assertEquals(JSON.parse((await ok(["mod", "remove", "my-tool", "--json"], app)).stdout), {
      name: "my-tool",
      removed: true,
    });
  });

  await t.step("mod pkg writes .tgz and .tar; both pull and run", async () => {
    await ok(["mod", "pkg", "--target", join(home.dir, "lib.tgz")], lib);
    await ok(["pkg", "--target", join(home.dir, "lib.tar")], lib);
    const tar = await Deno.readFile(join(home.dir, "lib.tar"));
    assertEquals(new TextDecoder().decode(tar.subarray(257, 262)), "ustar");
    for (const archive of ["lib.tgz", "lib.tar"]) {
      const dest = join(home.dir, `from-${archive}`);
      await ok(["mod", "pull", join(home.dir, archive), dest]);
      assertEquals(
        await Deno.readTextFile(join(dest, "lib_0.1.0", "kcl.mod")),
        await Deno.readTextFile(join(lib, "kcl.mod")),
      );
    }
    await Deno.remove(log);
    await ok(["run", join(home.dir, "lib.tgz")]);
    // the compiler runs where the user stands, on the unpacked archive named as its first argument
    assert(
      /^[^|]+\|run \S+run-[0-9a-f]{8}\n$/.test(await Deno.readTextFile(log)),
      await Deno.readTextFile(log),
    );
    const leftovers = [];
    for await (const entry of Deno.readDir(join(home.env.KCL_PKG_PATH!, ".kpm", "tmp"))) {
      leftovers.push(entry.name);
    }
    assertEquals(leftovers, [], "no extracted archive is left behind");
  });

  await t.step("usage errors exit 2", async () => {
    for (
      const args of [["mod", "update", "--concurrency", "0"], ["mod", "pull"], [
        "mod",
        "pull",
        "--oci",
        "a",
        "b",
        "c",
      ]]
    ) {
      const result = await kpm(args, app);
      assertEquals(result.code, 2, describe(result));
    }
  });
});
