/**
 * The KCL flows people coming from the KCL CLI run, through main.ts against the embedded registry: pulling a
 * package that is already there, `kpm run REMOTE -- -o out.yaml` where the user stands, a renamed dependency
 * offline, `mod add NAME:VER` remembering its registry, the KCL CLI's flags (--tar_path, --vendor,
 * --no_sum_check, --path, --git, init --version; --insecure-skip-tls-verify refused), `kpm config set|unset`, and the
 * progress line of mod push/pull on a terminal.
 */

import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { git, hasGit } from "../git_support.ts";
import { startEmbeddedRegistry } from "./support/embedded.ts";
import { hasPty, runInPty } from "./support/pty.ts";
import { describe, kpmHome, ROOT, runKpm } from "./ship_support.ts";

const MAIN = join(ROOT, "main.ts");

/** A stand-in `kcl` that records its working folder and arguments, and writes the file `-o` names. */
async function standInCompiler(dir: string, log: string): Promise<string> {
  const path = join(dir, "kcl-stand-in");
  await Deno.writeTextFile(
    path,
    `#!/bin/sh\necho "$PWD|$*" >> '${log}'\nwhile [ $# -gt 0 ]; do [ "$1" = -o ] && echo "a: 1" > "$2"; shift; done\n`,
  );
  await Deno.chmod(path, 0o755);
  return path;
}

Deno.test("KCL flows: pull again, run where the user stands, rename offline, flags, config", async (t) => {
  await using home = await kpmHome();
  const registry = await startEmbeddedRegistry();
  const host = registry.host.replace(/^127\.0\.0\.1:/, "localhost:");
  const compilerLog = join(home.dir, "kcl.log");
  const env = { ...home.env, KPM_KCL_BIN: await standInCompiler(home.dir, compilerLog) };
  const kpm = (args: string[], cwd = home.dir, extra: Record<string, string> = {}) =>
    runKpm(MAIN, args, { cwd, env: { ...env, ...extra } });
  const ok = async (args: string[], cwd = home.dir, extra: Record<string, string> = {}) => {
    const result = await kpm(args, cwd, extra);
    assertEquals(result.code, 0, describe(result));
    return result;
  };
  const dep = join(home.dir, "dep");
  const app = join(home.dir, "app");
  try {
    await ok(["mod", "init", "dep", "--version", "0.2.0"]);
    await t.step("mod init --version sets the version", async () => {
      assertStringIncludes(await Deno.readTextFile(join(dep, "kcl.mod")), 'version = "0.2.0"');
    });
    await ok(["mod", "push", `oci://${host}/test/dep`], dep);

    await t.step("a second mod pull of the same package succeeds and replaces the copy", async () => {
      const where = join(home.dir, "oci", host, "test", "dep", "0.2.0");
      await ok(["mod", "pull", `oci://${host}/test/dep`, "--tag", "0.2.0"]);
      await Deno.writeTextFile(join(where, "main.k"), "edited = 1");
      const again = await ok(["mod", "pull", `oci://${host}/test/dep`, "--tag", "0.2.0"]);
      assertStringIncludes(again.stderr, "replaced");
      assertEquals(await Deno.readTextFile(join(where, "main.k")), "The_first_kcl_program = 'Hello World!'");
      const siblings = [...Deno.readDirSync(join(where, ".."))].map((e) => e.name);
      assertEquals(siblings, ["0.2.0"], "no temporary folder is left behind");
    });

    await t.step(
      "a pulled copy inside a package is packed too (as the reference does), with a note",
      async () => {
        await ok(["mod", "pull", `oci://${host}/test/dep`, "--tag", "0.2.0"], dep);
        const pushed = await ok(["mod", "push", `oci://${host}/test/dep`, "--tag", "with-pulled"], dep);
        assertStringIncludes(pushed.stderr, 'note: "oci/" (packages pulled here) is packed too');
        await Deno.remove(join(dep, "oci"), { recursive: true });
      },
    );

    await t.step("kpm run REMOTE -- -o out.yaml runs the compiler where the user stands", async () => {
      const here = join(home.dir, "here");
      await Deno.mkdir(here);
      await ok(["run", `oci://${host}/test/dep`, "--tag", "0.2.0", "--", "-o", "out.yaml"], here);
      assertEquals(await Deno.readTextFile(join(here, "out.yaml")), "a: 1\n");
      const [cwd, args] = (await Deno.readTextFile(compilerLog)).trim().split("|");
      assertEquals(cwd, here);
      assertEquals(args, `run ${join(home.env.KCL_PKG_PATH!, "dep_0.2.0")} -o out.yaml`);
      const cached = [...Deno.readDirSync(join(home.env.KCL_PKG_PATH!, "dep_0.2.0"))].map((e) => e.name);
      assert(!cached.includes("out.yaml"), "nothing is written into the cache");
    });

    await t.step("kpm run -- --help hands --help to the compiler instead of showing kpm's help", async () => {
      await Deno.remove(compilerLog);
      const result = await ok(["run", "--", "--help"], dep);
      assert(!result.stdout.includes("Usage: kpm"), describe(result));
      const [cwd, args] = (await Deno.readTextFile(compilerLog)).trim().split("|");
      assertEquals(cwd, dep);
      assertStringIncludes(args!, " --help");
    });

    await ok(["mod", "init", "app"]);
    await t.step("mod add NAME:VER remembers the registry it was added from", async () => {
      await ok(["mod", "add", "dep:0.2.0"], app, { KPM_REG: host, KPM_REPO: "test" });
      const graph = await ok(["mod", "graph"], app); // no KPM_REG now: the default would be ghcr.io
      assertEquals(graph.stdout, "app@0.0.1 dep@0.2.0\n");
    });
    await t.step("mod add --rename and --no_sum_check: kcl.mod changes, the lock does not", async () => {
      const lock = await Deno.readTextFile(join(app, "kcl.mod.lock"));
      await ok([
        "mod",
        "add",
        `oci://${host}/test/dep`,
        "--tag",
        "0.2.0",
        "--rename",
        "other",
        "--no_sum_check",
      ], app);
      assertStringIncludes(await Deno.readTextFile(join(app, "kcl.mod")), 'other = { oci = "oci://');
      assertEquals(await Deno.readTextFile(join(app, "kcl.mod.lock")), lock);
      // the KCL CLI's --insecure-skip-tls-verify is refused as --insecure is, saying why
      const insecure = await kpm(["mod", "update", "--insecure-skip-tls-verify"], app);
      assertEquals(insecure.code, 2, describe(insecure));
      assertStringIncludes(insecure.stderr, "Deno cannot skip TLS certificate checks");
      await ok(["mod", "update"], app);
      assertStringIncludes(await Deno.readTextFile(join(app, "kcl.mod.lock")), 'name = "other"');
    });
    await t.step("mod push --vendor carries the dependencies in vendor/", async () => {
      await ok(["mod", "push", `oci://${host}/test/app`, "--vendor"], app);
      assertEquals(
        await Deno.readTextFile(join(app, "vendor", "dep_0.2.0", "kcl.mod")),
        await Deno.readTextFile(join(dep, "kcl.mod")),
      );
      const pulled = join(home.dir, "pulled");
      await ok(["mod", "pull", `oci://${host}/test/app`, "--tag", "0.0.1", pulled]);
      const inside = join(pulled, "oci", host, "test", "app", "0.0.1", "vendor", "dep_0.2.0", "main.k");
      assert((await Deno.stat(inside)).isFile, "the pulled package holds its vendored dependency");
      const metadata = JSON.parse((await ok(["mod", "metadata", "--vendor"], app)).stdout);
      assertEquals(metadata.packages.dep.manifest_path, join(app, "vendor", "dep_0.2.0"));
    });

    await t.step("a renamed dependency resolves offline for mod graph and run", async () => {
      await registry.close();
      const graph = await ok(["mod", "graph"], app);
      assertEquals(graph.stdout, "app@0.0.1 dep@0.2.0\napp@0.0.1 other@0.2.0\n");
      await ok(["run"], app);
      const last = (await Deno.readTextFile(compilerLog)).trim().split("\n").pop()!;
      assertStringIncludes(last, `-E other=${join(home.env.KCL_PKG_PATH!, "dep_0.2.0")}`);
    });
  } finally {
    await registry.close().catch(() => {});
  }
});

Deno.test("KCL flags: mod push --tar_path, mod add --path, mod pull --git", async (t) => {
  await using home = await kpmHome();
  const registry = await startEmbeddedRegistry();
  const host = registry.host;
  const kpm = (args: string[], cwd = home.dir) => runKpm(MAIN, args, { cwd, env: home.env });
  const ok = async (args: string[], cwd = home.dir) => {
    const result = await kpm(args, cwd);
    assertEquals(result.code, 0, describe(result));
    return result;
  };
  try {
    await ok(["mod", "init", "tarred"]);
    await ok(["mod", "pkg", "--target", join(home.dir, "tarred.tgz")], join(home.dir, "tarred"));
    await t.step("mod push --tar_path pushes the package in an archive", async () => {
      const pushed = await ok(["mod", "push", `oci://${host}/test/tarred`, "--tar_path", "tarred.tgz"]);
      assertStringIncludes(pushed.stdout, `oci://${host}/test/tarred:0.0.1`);
      await ok(["mod", "pull", `oci://${host}/test/tarred`, "--tag", "0.0.1", "out"]);
      const main = join(home.dir, "out", "oci", host, "test", "tarred", "0.0.1", "main.k");
      assertEquals(await Deno.readTextFile(main), "The_first_kcl_program = 'Hello World!'");
    });
    await t.step("mod add --path adds a local package", async () => {
      await ok(["mod", "init", "user"]);
      await ok(["mod", "add", "--path", "../tarred"], join(home.dir, "user"));
      assertStringIncludes(
        await Deno.readTextFile(join(home.dir, "user", "kcl.mod")),
        'tarred = { path = "../tarred" }',
      );
    });
    await t.step({
      name: "mod pull --git URL --tag T writes DEST/git/HOST/PATH/TAG",
      ignore: !hasGit,
      fn: async () => {
        const repo = join(home.dir, "gitpkg");
        await ok(["mod", "init", "gitpkg"]);
        await git(repo, "init", "--quiet");
        await git(repo, "add", ".");
        await git(repo, "commit", "--quiet", "-m", "one");
        await git(repo, "tag", "v1");
        const url = `file://${repo}`;
        await ok(["mod", "pull", "--git", url, "--tag", "v1", "fromgit"]);
        const mod = join(home.dir, "fromgit", "git", repo, "v1", "kcl.mod");
        assertStringIncludes(await Deno.readTextFile(mod), 'name = "gitpkg"');
      },
    });
  } finally {
    await registry.close();
  }
});

Deno.test("kpm config set|unset persist the default registry and repository in kpm.json", async () => {
  await using home = await kpmHome();
  const kpm = (args: string[]) => runKpm(MAIN, args, { cwd: home.dir, env: home.env });
  const file = join(home.env.KCL_PKG_PATH!, ".kpm", "config", "kpm.json");
  let result = await kpm(["config", "set", "DefaultOciRegistry", "localhost:5001"]);
  assertEquals(result.code, 0, describe(result));
  result = await kpm(["config", "set", "DefaultOciRepo", "test"]);
  assertEquals(result.code, 0, describe(result));
  assertEquals(JSON.parse(await Deno.readTextFile(file)), {
    DefaultOciRegistry: "localhost:5001",
    DefaultOciRepo: "test",
  });
  result = await kpm(["config"]);
  assertStringIncludes(result.stdout, "DefaultOciRegistry = localhost:5001 (from kpm.json)");
  assertStringIncludes(result.stdout, "DefaultOciRepo = test (from kpm.json)");
  result = await kpm(["config", "unset", "DefaultOciRepo"]);
  assertEquals(result.code, 0, describe(result));
  assertStringIncludes((await kpm(["config"])).stdout, "DefaultOciRepo = kcl-lang (from default)");
  for (
    const [args, error] of [
      [["config", "set", "Nope", "x"], 'Unknown setting "Nope"'],
      [["config", "set", "DefaultOciPlainHttp", "maybe"], "expected true or false"],
    ] as const
  ) {
    result = await kpm([...args]);
    assertEquals(result.code, 1, describe(result));
    assertStringIncludes(result.stderr, error);
  }
  assertEquals(JSON.parse(await Deno.readTextFile(file)), { DefaultOciRegistry: "localhost:5001" });
});

Deno.test({
  name: "mod push and mod pull show a progress line on a terminal, none in a pipe",
  ignore: !hasPty,
  fn: async () => {
    await using home = await kpmHome();
    const registry = await startEmbeddedRegistry();
    try {
      const pkg = join(home.dir, "big");
      let result = await runKpm(MAIN, ["mod", "init", "big"], { cwd: home.dir, env: home.env });
      assertEquals(result.code, 0, describe(result));
      const random = new Uint8Array(3 * 1024 * 1024);
      for (let i = 0; i < random.length; i += 65536) crypto.getRandomValues(random.subarray(i, i + 65536));
      await Deno.writeFile(join(pkg, "data.bin"), random);
      const url = `oci://${registry.host}/test/big`;
      const push = await runInPty([Deno.execPath(), "run", "-A", MAIN, "mod", "push", url], {
        cwd: pkg,
        env: home.env,
      });
      assertEquals(push.code, 0, push.output);
      assertStringIncludes(push.output, "Pushing 1 file(s):");
      const pull = await runInPty([Deno.execPath(), "run", "-A", MAIN, "mod", "pull", url], {
        cwd: home.dir,
        env: home.env,
      });
      assertEquals(pull.code, 0, pull.output);
      assertStringIncludes(pull.output, "Pulling 1 file(s):");
      result = await runKpm(MAIN, ["mod", "pull", url, "again"], { cwd: home.dir, env: home.env });
      assert(!result.stderr.includes("Pulling 1 file"), describe(result));
    } finally {
      await registry.close();
    }
  },
});
