/**
 * Golden fixtures written by hand in the reference kpm's formats (tests/fixtures/kcl/): every kcl.mod dependency
 * form, a kcl.mod.lock with OCI, git and local entries, a package folder whose checksum was computed with
 * `cat README.md kcl.mod main.k sub/a.k sub/b.k | openssl dgst -sha256 -binary | base64`, and an old-style
 * settings file.
 */

import { copyFile, cp } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { formatLockFile, parseLockFile } from "../lib/kpm/lockfile.ts";
import { editDependency, formatModFile, parseModFile } from "../lib/kpm/modfile.ts";
import { packageFiles, packageSum } from "../lib/kpm/package.ts";
import { resolveKpmSettings } from "../lib/config/kpm_settings.ts";
import { assertEquals } from "./assert.ts";

const FIXTURES = fileURLToPath(new URL("./fixtures/kcl/", import.meta.url));
const read = (path: string) => Deno.readTextFile(join(FIXTURES, path));

Deno.test("kcl.mod: every dependency form is read, and written back in the same bytes", async (t) => {
  const text = await read("forms/kcl.mod");
  const mod = parseModFile(text, "forms/kcl.mod");
  assertEquals(mod.package, {
    name: "forms",
    edition: "v0.11.0",
    version: "0.1.0",
    description: "every dependency form kcl.mod knows",
    include: undefined,
    exclude: undefined,
  });
  assertEquals(Object.fromEntries(mod.dependencies), {
    k8s: { kind: "registry", version: "1.28" },
    helloworld: { kind: "oci", oci: "oci://ghcr.io/kcl-lang/helloworld", tag: "0.1.4" },
    konfig: { kind: "git", git: "https://github.com/kcl-lang/konfig.git", tag: "v0.4.0" },
    flask: {
      kind: "git",
      git: "https://github.com/kcl-lang/flask-demo-kcl-manifests.git",
      commit: "ade147b",
      version: "0.1.0",
    },
    cc: { kind: "git", git: "https://github.com/kcl-lang/modules.git", branch: "main", package: "cc" },
    local: { kind: "path", path: "../local" },
    mylib: { kind: "repo", repo: "team/mylib", tag: "1.0.0", reg: "registry.example.com" },
    newk8s: { kind: "registry", version: "1.29", package: "k8s" },
  });
  await t.step("rewriting each dependency in place changes no byte", () => {
    for (const [name, spec] of mod.dependencies) assertEquals(editDependency(text, name, spec), text, name);
  });
  await t.step("a new file with the same content is the same bytes up to [profile]", () => {
    assertEquals(
      formatModFile(mod.package, mod.dependencies),
      text.slice(0, text.indexOf("\n[profile]")),
    );
  });
  await t.step("editing keeps [profile] and the order of the other lines", () => {
    const edited = editDependency(text, "k8s", { kind: "registry", version: "1.30" });
    assertEquals(edited, text.replace('k8s = "1.28"', 'k8s = "1.30"'));
    assertEquals(parseModFile(edited, "x").dependencies.get("k8s"), { kind: "registry", version: "1.30" });
  });
});

Deno.test("kcl.mod.lock: OCI, git and local entries round-trip byte for byte", async () => {
  const text = await read("forms/kcl.mod.lock");
  const lock = parseLockFile(text, "forms/kcl.mod.lock");
  assertEquals([...lock.keys()], ["cc", "flask", "helloworld", "k8s", "konfig", "local", "newk8s"]);
  assertEquals(lock.get("cc"), {
    name: "cc",
    full_name: "cc_main",
    version: "main",
    sum: "mzF25tv1qdR4EMRQ5B3cQFuZb7wSMMT0ofQnSsSO4LY=",
    url: "https://github.com/kcl-lang/modules.git",
    branch: "main",
    package: "cc",
  });
  // an alias is locked under its kcl.mod name, with the package's own NAME_VERSION as full_name
  assertEquals([lock.get("newk8s")?.name, lock.get("newk8s")?.full_name], ["newk8s", "k8s_1.29"]);
  assertEquals(lock.get("helloworld")?.oci_tag, "0.1.4");
  assertEquals(formatLockFile(lock), text);
  // the entries are written sorted by key whatever order they are built in
  assertEquals(formatLockFile(new Map([...lock].reverse())), text);
});

Deno.test("sum: a package folder with known bytes, the reference's skips and walk order", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kpm-sum-" });
  try {
    await cp(join(FIXTURES, "sum"), dir, { recursive: true });
    // computed independently: cat README.md kcl.mod main.k sub/a.k sub/b.k | openssl dgst -sha256 -binary | base64
    const expected = "1gCSuE7I+Df2w5QqTd/z1hx8mkyKlQbLkk7WbaNKlXw=";
    assertEquals(await packageSum(dir), expected);
    // paths containing ".git" or ".tar" are not part of the sum (HashDir), nor are they packed
    await Deno.mkdir(join(dir, ".git"));
    await Deno.writeTextFile(join(dir, ".git", "HEAD"), "ref: refs/heads/main\n");
    await Deno.writeTextFile(join(dir, ".gitignore"), "*.log\n");
    await copyFile(join(dir, "main.k"), join(dir, "sum_0.0.1.tar"));
    await copyFile(join(dir, "main.k"), join(dir, "sub", "old.tar.gz"));
    assertEquals(await packageSum(dir), expected);
    assertEquals(await packageFiles(dir), [
      ".gitignore",
      "README.md",
      "kcl.mod",
      "main.k",
      "sub/a.k",
      "sub/b.k",
    ]);
    // any other byte changes it
    await Deno.writeTextFile(join(dir, "sub", "b.k"), "b = 3\n");
    assertEquals((await packageSum(dir)) === expected, false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("package files honour kcl.mod include and exclude globs, always keeping kcl.mod", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kpm-files-" });
  try {
    await cp(join(FIXTURES, "sum"), dir, { recursive: true });
    await Deno.writeTextFile(join(dir, "debug.log"), "x");
    assertEquals(await packageFiles(dir, { exclude: ["*.log", "sub/b.k"] }), [
      "README.md",
      "kcl.mod",
      "main.k",
      "sub/a.k",
    ]);
    assertEquals(await packageFiles(dir, { include: ["*.k"] }), ["kcl.mod", "main.k", "sub/a.k", "sub/b.k"]);
    assertEquals(await packageFiles(dir, { include: ["sub/"], exclude: ["**/b.k"] }), ["kcl.mod", "sub/a.k"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("settings: the old $KCL_PKG_PATH/.kpm/config.json is read when kpm.json is absent", async () => {
  const home = await Deno.makeTempDir({ prefix: "kpm-old-settings-" });
  try {
    await cp(join(FIXTURES, "old_settings"), home, { recursive: true });
    const settings = await resolveKpmSettings({ KCL_PKG_PATH: home });
    assertEquals(settings.settingsFile, join(home, ".kpm", "config.json"));
    assertEquals([settings.registry.value, settings.registry.source], ["old.example.com", "kpm.json"]);
    assertEquals(settings.repository.value, "legacy");
    assertEquals(settings.plainHttp, { value: false, source: "default", origin: "default" });
    await Deno.stat(join(home, ".kpm", "config", "kpm.json")).then(
      () => {
        throw new Error("kpm.json must not be created over an old settings file");
      },
      () => {},
    );
    await Deno.mkdir(join(home, ".kpm", "config"));
    await Deno.writeTextFile(
      join(home, ".kpm", "config", "kpm.json"),
      '{"DefaultOciRegistry":"new.example.com"}',
    );
    const newer = await resolveKpmSettings({ KCL_PKG_PATH: home });
    assertEquals([newer.registry.value, newer.repository.value], ["new.example.com", "kcl-lang"]);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("kcl.mod include/exclude globs: **/ may match no folder, no slash matches at any depth", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files = [
      "kcl.mod",
      "b.k",
      "abc.k",
      "a?c.k",
      "sub/b.k",
      "sub/c.k",
      "sub/deep/b.k",
      "x/sub/c.k",
      "x/y.k",
    ];
    for (const file of files) {
      await Deno.mkdir(join(dir, file, ".."), { recursive: true });
      await Deno.writeTextFile(join(dir, file), "");
    }
    const pick = (options: { include?: string[]; exclude?: string[] }) => packageFiles(dir, options);
    assertEquals(await pick({ exclude: ["**/b.k"] }), [
      "a?c.k",
      "abc.k",
      "kcl.mod",
      "sub/c.k",
      "x/sub/c.k",
      "x/y.k",
    ]);
    assertEquals(await pick({ include: ["./sub/"] }), [
      "kcl.mod",
      "sub/b.k",
      "sub/c.k",
      "sub/deep/b.k",
      "x/sub/c.k",
    ]);
    assertEquals(await pick({ include: ["sub/*.k"] }), ["kcl.mod", "sub/b.k", "sub/c.k"]);
    assertEquals(await pick({ include: ["sub"] }), [
      "kcl.mod",
      "sub/b.k",
      "sub/c.k",
      "sub/deep/b.k",
      "x/sub/c.k",
    ]);
    assertEquals(await pick({ include: ["a?c.k"] }), ["a?c.k", "abc.k", "kcl.mod"]);
    assertEquals(await pick({ include: ["x/**"] }), ["kcl.mod", "x/sub/c.k", "x/y.k"]);
    assertEquals(await pick({ include: ["sub/**/b.k"] }), ["kcl.mod", "sub/b.k", "sub/deep/b.k"]);
    assertEquals(await pick({ include: ["s?b/c.k"] }), ["kcl.mod", "sub/c.k"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
