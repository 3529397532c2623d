/**
 * The seeds' quick start, end to end through main.ts against real registries (distribution with htpasswd and,
 * when available, token auth, and the embedded registry): login test/1234, init MyPkg, push to
 * oci://HOST/test/MyPkg --tag v0.1.0 and the default push with KPM_REG/KPM_REPO, pull MyPkg:0.0.1 by name and
 * by oci url, add it into a second package (kcl.mod and kcl.mod.lock bytes), graph, metadata, and run with a
 * stand-in compiler that records its arguments.
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { RegistryClient } from "../../lib/oci/client.ts";
import { isIndex } from "../../lib/oci/manifest.ts";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { forEachRegistry, USER } from "./kpm_registries.ts";
import { describe, kpmHome, ROOT, runKpm } from "./ship_support.ts";
import { Repository } from "../../lib/oci/repository.ts";

const MAIN = join(ROOT, "main.ts");

/** base64(sha256(concatenated file contents)), computed here independently of lib/kpm/package.ts. */
function sumOf(...contents: string[]): string {
  const hash = createHash("sha256");
  for (const content of contents) hash.update(content);
  return hash.digest("base64");
}

/** Writes a stand-in `kcl` that appends its arguments and working folder to `log`. */
async function standInCompiler(dir: string, log: string): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, "kcl");
  await Deno.writeTextFile(path, `#!/bin/sh\necho "$PWD|$*" >> '${log}'\necho compiled\n`);
  await Deno.chmod(path, 0o755);
  return path;
}

await forEachRegistry("the seeds' quick start works verbatim", async (t, registry) => {
  await using home = await kpmHome();
  const host = registry.host.replace(/^127\.0\.0\.1:/, "localhost:");
  const reg = { KPM_REG: host, KPM_REPO: "test" };
  const kpm = (args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) =>
    runKpm(MAIN, args, { cwd: options.cwd ?? home.dir, env: { ...home.env, ...options.env } });
  const client = new RegistryClient({ credentials: () => Promise.resolve(USER) });
  const pkg = join(home.dir, "MyPkg");
  const kclMod = '[package]\nname = "MyPkg"\nedition = "v0.11.0"\nversion = "0.0.1"\n';
  const mainK = "The_first_kcl_program = 'Hello World!'"; // no newline, as the reference writes it

  await t.step("registry login -u test -p 1234 works without a terminal", async () => {
    const bad = await kpm(["registry", "login", "-u", "test", "-p", "wrong", host]);
    assertEquals(bad.code, 1, describe(bad));
    const result = await kpm(["registry", "login", "-u", "test", "-p", "1234", host]);
    assertEquals(result.code, 0, describe(result));
    assertEquals(result.stdout, "Login succeeded\n");
    assert(!result.stdout.includes("1234") && !result.stderr.includes("1234"), "the password is never shown");
    const credentials = join(home.env.KCL_PKG_PATH!, ".kpm", "config", "config.json");
    assertEquals((await Deno.stat(credentials)).mode! & 0o777, 0o600);
    const auths = JSON.parse(await Deno.readTextFile(credentials)).auths;
    assertEquals(atob(auths[host].auth), "test:1234");
  });

  await t.step("mod init MyPkg writes kcl.mod, an empty kcl.mod.lock and main.k", async () => {
    const result = await kpm(["mod", "init", "MyPkg"]);
    assertEquals(result.code, 0, describe(result));
    assertEquals(await Deno.readTextFile(join(pkg, "kcl.mod")), kclMod);
    assertEquals(await Deno.readTextFile(join(pkg, "kcl.mod.lock")), "");
    assertEquals(await Deno.readTextFile(join(pkg, "main.k")), mainK);
  });

  let firstLayer = "";
  await t.step(
    "mod push oci://HOST/test/MyPkg --tag v0.1.0 lowercases the repository, noting it once",
    async () => {
      const result = await kpm(["mod", "push", `oci://${host}/test/MyPkg`, "--tag", "v0.1.0"], { cwd: pkg });
      assertEquals(result.code, 0, describe(result));
      assertStringIncludes(result.stdout, `oci://${host}/test/mypkg:v0.1.0`);
      assertEquals(result.stderr.split("\n").filter((l) => l.includes("lowercase")).length, 1, result.stderr);
      const { manifest } = await new Repository(client, {
        registry: registry.host,
        repository: "test/mypkg",
      }).manifests.fetch("v0.1.0");
      assert(!isIndex(manifest));
      assertEquals(manifest.artifactType, "application/vnd.oci.image.layer.v1.tar+gzip");
      assertEquals(manifest.config.mediaType, "application/vnd.oci.empty.v1+json");
      assertEquals(manifest.config.size, 2);
      assertEquals(manifest.layers.length, 1);
      assertEquals(manifest.layers[0]!.mediaType, "application/vnd.oci.image.layer.v1.tar+gzip");
      assertEquals(manifest.layers[0]!.annotations?.["org.opencontainers.image.title"], "MyPkg_0.0.1.tgz");
      const { "org.opencontainers.image.created": created, ...annotations } = manifest.annotations ?? {};
      assert(created && !Number.isNaN(Date.parse(created)), `created: ${created}`);
      assertEquals(annotations, {
        "org.kcllang.package.name": "MyPkg",
        "org.kcllang.package.version": "0.0.1",
        "org.kcllang.package.description": "",
        "org.kcllang.package.sum": sumOf(kclMod, "", mainK),
      });
      firstLayer = manifest.layers[0]!.digest;
    },
  );

  await t.step("the default push goes to oci://KPM_REG/KPM_REPO/NAME:VERSION, once", async () => {
    let result = await kpm(["mod", "push"], { cwd: pkg, env: reg });
    assertEquals(result.code, 0, describe(result));
    assertStringIncludes(result.stdout, `oci://${host}/test/mypkg:0.0.1`);
    result = await kpm(["mod", "push"], { cwd: pkg, env: reg });
    assertEquals(result.code, 1, describe(result));
    assertStringIncludes(result.stderr, "already exists");
    assertStringIncludes(result.stderr, "--force");
    result = await kpm(["push", "--force"], { cwd: pkg, env: reg });
    assertEquals(result.code, 0, describe(result));
    const { manifest } = await new Repository(client, {
      registry: registry.host,
      repository: "test/mypkg",
    }).manifests.fetch("0.0.1");
    assert(!isIndex(manifest));
    assertEquals(manifest.layers[0]!.digest, firstLayer, "the same folder gives the same layer");
  });

  await t.step("mod pull MyPkg:0.0.1 by name, by oci url and with --oci", async () => {
    const cases: [string, string[], Record<string, string>, string][] = [
      ["by-name", ["mod", "pull", "MyPkg:0.0.1"], reg, "0.0.1"],
      ["by-name-tag", ["pull", "MyPkg:v0.1.0"], reg, "v0.1.0"],
      ["by-url", ["mod", "pull", `oci://${host}/test/MyPkg`, "--tag", "0.0.1"], {}, "0.0.1"],
      ["by-flag", ["pull", "--oci", `oci://${host}/test/MyPkg`, "--tag", "v0.1.0"], {}, "v0.1.0"],
    ];
    for (const [dir, args, env, tag] of cases) {
      const cwd = join(home.dir, dir);
      await Deno.mkdir(cwd);
      const result = await kpm(args, { cwd, env });
      assertEquals(result.code, 0, describe(result));
      const pulled = join(cwd, "oci", host, "test", "MyPkg", tag);
      assertEquals(await Deno.readTextFile(join(pulled, "kcl.mod")), kclMod);
      assertEquals(await Deno.readTextFile(join(pulled, "main.k")), mainK);
    }
  });

  const app = join(home.dir, "app");
  const cache = home.env.KCL_PKG_PATH!;
  const appMod = '[package]\nname = "app"\nedition = "v0.11.0"\nversion = "0.0.1"\n';
  await t.step("mod add MyPkg:0.0.1 into a second package writes kcl.mod and kcl.mod.lock", async () => {
    let result = await kpm(["mod", "init", "app"]);
    assertEquals(result.code, 0, describe(result));
    result = await kpm(["mod", "add", "MyPkg:0.0.1"], { cwd: app, env: reg });
    assertEquals(result.code, 0, describe(result));
    assertEquals(
      await Deno.readTextFile(join(app, "kcl.mod")),
      `${appMod}\n[dependencies]\nMyPkg = "0.0.1"\n`,
    );
    assertEquals(
      await Deno.readTextFile(join(app, "kcl.mod.lock")),
      "[dependencies]\n" +
        "  [dependencies.MyPkg]\n" +
        '    name = "MyPkg"\n' +
        '    full_name = "MyPkg_0.0.1"\n' +
        '    version = "0.0.1"\n' +
        `    sum = "${sumOf(kclMod, "", mainK)}"\n` +
        `    reg = "${host}"\n` +
        '    repo = "test/mypkg"\n' +
        '    oci_tag = "0.0.1"\n',
    );
    assertEquals(await Deno.readTextFile(join(cache, "MyPkg_0.0.1", "main.k")), mainK);
  });

  await t.step("mod graph and mod metadata", async () => {
    let result = await kpm(["mod", "graph"], { cwd: app, env: reg });
    assertEquals(result.code, 0, describe(result));
    assertEquals(result.stdout, "app@0.0.1 MyPkg@0.0.1\n");
    result = await kpm(["mod", "metadata"], { cwd: app, env: reg });
    assertEquals(result.code, 0, describe(result));
    assertEquals(JSON.parse(result.stdout), {
      packages: { MyPkg: { name: "MyPkg", manifest_path: join(cache, "MyPkg_0.0.1") } },
    });
  });

  await t.step("run hands -E NAME=ABS_PATH to the compiler on PATH or in KPM_KCL_BIN", async () => {
    const log = join(home.dir, "kcl.log");
    const bin = await standInCompiler(join(home.dir, "bin"), log);
    const path = `${join(home.dir, "bin")}:${home.env.PATH}`;
    let result = await kpm(["run", "--", "-D", "env=prod"], { cwd: app, env: { ...reg, PATH: path } });
    assertEquals(result.code, 0, describe(result));
    assertEquals(result.stdout, "compiled\n");
    result = await kpm(["run", `oci://${host}/test/MyPkg`, "--tag", "v0.1.0"], { env: { KPM_KCL_BIN: bin } });
    assertEquals(result.code, 0, describe(result));
    assertEquals((await Deno.readTextFile(log)).split("\n"), [
      `${app}|run -E MyPkg=${join(cache, "MyPkg_0.0.1")} -D env=prod`,
      `${home.dir}|run ${join(cache, "MyPkg_0.0.1")}`, // where the user stands, the package named
      "",
    ]);
  });

  await t.step("run without a compiler says so in one line after resolving", async () => {
    const result = await kpm(["run"], { cwd: app, env: { ...reg, PATH: "/nonexistent" } });
    assertEquals(result.code, 1, describe(result));
    const error = result.stderr.split("\n").filter((line) => line.startsWith("error:"));
    assertEquals(error.length, 1, result.stderr);
    assertStringIncludes(error[0]!, "not installed");
    assertStringIncludes(result.stderr, "install");
  });

  await t.step("logout, then logout again says not logged in", async () => {
    let result = await kpm(["registry", "logout", host]);
    assertEquals(result.code, 0, describe(result));
    result = await kpm(["logout", host]);
    assertEquals(result.code, 0, describe(result));
    assertStringIncludes(result.stderr.toLowerCase(), "not logged in");
  });

  await t.step("without a kpm login, the docker config's credentials are used", async () => {
    const dest = join(home.dir, "docker-config");
    await Deno.mkdir(dest);
    let result = await kpm(["mod", "pull", "MyPkg:0.0.1"], { cwd: dest, env: reg });
    assertEquals(result.code, 1, describe(result));
    assertStringIncludes(result.stderr, "login");
    await Deno.mkdir(home.env.DOCKER_CONFIG!, { recursive: true });
    await Deno.writeTextFile(
      join(home.env.DOCKER_CONFIG!, "config.json"),
      JSON.stringify({ auths: { [host]: { auth: btoa(`${USER.username}:${USER.password}`) } } }),
    );
    result = await kpm(["mod", "pull", "MyPkg:0.0.1"], { cwd: dest, env: reg });
    assertEquals(result.code, 0, describe(result));
  });
});
