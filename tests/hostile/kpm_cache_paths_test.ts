/**
 * The attacker is the registry: package names, versions and lock entries it (or a cloned kcl.mod.lock)
 * supplies must never make kpm write or delete outside the package cache, and files the checksum does not
 * cover must never reach the cache. Real embedded registry, real kpm processes.
 */

import { join } from "node:path";
import { containedPath, PathEscapeError } from "../../lib/oci/contained_path.ts";
import { PackageError } from "../../lib/kpm/errors.ts";
import { checkFullName, fullName } from "../../lib/kpm/names.ts";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../assert.ts";
import { startEmbeddedRegistry } from "../integration/support/embedded.ts";
import { describe, kpmHome, ROOT, runKpm } from "../integration/ship_support.ts";
import { tree } from "../tar_builder.ts";
import { pushHostilePackage } from "./support/hostile_package.ts";

const MAIN = join(ROOT, "main.ts");
const NAME = "org.kcllang.package.name";
const VERSION = "org.kcllang.package.version";
const GOOD_FILES = [
  { name: "kcl.mod", text: '[package]\nname = "good"\nversion = "1.0.0"\n' },
  { name: "main.k", text: "a = 1\n" },
];

Deno.test("containedPath keeps every path strictly inside its folder", async (t) => {
  const cases: [string, string[], string | undefined][] = [
    ["a plain name", ["k8s_1.28"], "/c/k8s_1.28"],
    ["nested parts", ["oci", "localhost:5001", "test/pkg", "1.0"], "/c/oci/localhost:5001/test/pkg/1.0"],
    ["a part climbing out", ["x_/../../victim"], undefined],
    ["an absolute part", ["/etc"], undefined],
    ["a drive letter", ["C:\\x"], undefined],
    ["the folder itself", ["."], undefined],
    ["an empty part", [""], undefined],
    ["a NUL byte", ["a\0b"], undefined],
  ];
  for (const [title, parts, expected] of cases) {
    await t.step(title, () => {
      if (expected) assertEquals(containedPath("/c", parts), expected);
      else {assertThrows(
          () => containedPath("/c", parts, "cache folder"),
          PathEscapeError,
          "Refusing cache folder",
        );}
    });
  }
});

Deno.test("cache folder names come only from a KCL name and a semver or tag", async (t) => {
  await t.step("good names", () => {
    assertEquals(fullName("MyPkg", "v0.1.0", "x"), "MyPkg_v0.1.0");
    assertEquals(fullName("k8s", "1.28.0+build.1", "x"), "k8s_1.28.0+build.1");
    assertEquals(checkFullName("helloworld_0.1.0", "helloworld"), "helloworld_0.1.0");
  });
  for (
    const [name, version] of [["../x", "1"], [".hidden", "1"], ["a/b", "1"], ["a", "/../../v"], ["a", ".."]]
  ) {
    await t.step(`refuses ${JSON.stringify(name)} ${JSON.stringify(version)}`, () => {
      assertThrows(() => fullName(name!, version!, "reg/x:1"), PackageError, 'Refusing package "reg/x:1"');
    });
  }
  await t.step("lock full_name values", () => {
    for (const full of ["../victim", "a_b/../../c", "/abs_1", "noversion", "a_", "_1"]) {
      assertThrows(() => checkFullName(full, "dep"), PackageError, `full_name ${JSON.stringify(full)}`);
    }
  });
});

Deno.test("a hostile registry cannot make kpm write or delete outside the package cache", async (t) => {
  const registry = await startEmbeddedRegistry();
  await using home = await kpmHome();
  const cache = home.env.KCL_PKG_PATH!;
  const victim = join(home.dir, "victim");
  await Deno.mkdir(victim);
  await Deno.writeTextFile(join(victim, "precious.txt"), "keep me");
  const kpm = (args: string[], cwd = home.dir) =>
    runKpm(MAIN, args, { cwd, env: { ...home.env, OCI_REG_PLAIN_HTTP: "on" } });
  const victimIntact = async () => {
    assertEquals(await Deno.readTextFile(join(victim, "precious.txt")), "keep me");
    assertEquals(await tree(victim), ["precious.txt"]);
  };
  try {
    const cases: { title: string; annotations: Record<string, string>; says: string }[] = [
      // KCL_PKG_PATH/evil_/../../victim is HOME/victim: the reference-style path join lands on the victim
      {
        title: "a version climbing out",
        annotations: { [NAME]: "evil", [VERSION]: "/../../victim" },
        says: "version",
      },
      {
        title: "a name climbing out",
        annotations: { [NAME]: "../../victim", [VERSION]: "1.0.0" },
        says: "name",
      },
      { title: "an absolute version", annotations: { [NAME]: "evil", [VERSION]: victim }, says: "version" },
      {
        title: "terminal escapes in the name",
        annotations: { [NAME]: "\x1b]0;owned\x07x" },
        says: "\\u001b",
      },
    ];
    for (const [i, c] of cases.entries()) {
      await t.step(`mod pull refuses ${c.title}`, async () => {
        await pushHostilePackage(registry.host, `hostile/c${i}`, "1.0.0", {
          entries: GOOD_FILES,
          annotations: c.annotations,
        });
        const dest = await Deno.makeTempDir({ dir: home.dir });
        const result = await kpm(
          ["mod", "pull", `oci://${registry.host}/hostile/c${i}`, "--tag", "1.0.0"],
          dest,
        );
        assertEquals(result.code, 1, describe(result));
        assertStringIncludes(result.stderr, `error: Refusing package "${registry.host}/hostile/c${i}:1.0.0"`);
        assertStringIncludes(result.stderr, c.says);
        assert(!result.stderr.includes("\x1b"), "no raw escape reaches the terminal");
        await victimIntact();
        assertEquals(await tree(dest), []);
      });
    }

    await t.step("mod add and run refuse the same, before touching anything", async () => {
      const app = join(home.dir, "app");
      assertEquals((await kpm(["mod", "init", "app"])).code, 0);
      for (const args of [["mod", "add"], ["run"]]) {
        const result = await kpm([...args, `oci://${registry.host}/hostile/c0`, "--tag", "1.0.0"], app);
        assertEquals(result.code, 1, describe(result));
        assertStringIncludes(result.stderr, 'its version "/../../victim" is not a semantic version');
      }
      await victimIntact();
    });

    await t.step("a kcl.mod.lock whose full_name climbs out is refused", async () => {
      const pushed = await pushHostilePackage(registry.host, "good/good", "1.0.0", {
        entries: GOOD_FILES,
        annotations: { [NAME]: "good", [VERSION]: "1.0.0" },
      });
      const app = join(home.dir, "locked");
      assertEquals((await kpm(["mod", "init", "locked"])).code, 0);
      await Deno.writeTextFile(
        join(app, "kcl.mod"),
        `[package]\nname = "locked"\nversion = "0.0.1"\n\n[dependencies]\n` +
          `good = { oci = "oci://${registry.host}/good/good", tag = "1.0.0" }\n`,
      );
      await Deno.writeTextFile(
        join(app, "kcl.mod.lock"),
        `[dependencies]\n  [dependencies.good]\n    name = "good"\n    full_name = "../victim"\n` +
          `    version = "1.0.0"\n    sum = "${pushed.sum}"\n    reg = "${registry.host}"\n` +
          `    repo = "good/good"\n    oci_tag = "1.0.0"\n`,
      );
      const result = await kpm(["mod", "graph"], app);
      assertEquals(result.code, 1, describe(result));
      assertStringIncludes(
        result.stderr,
        'dependency "good" has full_name "../victim", which is not NAME_VERSION',
      );
      await victimIntact();
    });

    await t.step("files the checksum does not cover never reach the cache", async () => {
      await pushHostilePackage(registry.host, "good/sneaky", "1.0.0", {
        entries: [
          { name: "kcl.mod", text: '[package]\nname = "sneaky"\nversion = "1.0.0"\n' },
          { name: "main.k", text: "a = 1\n" },
          // KCL compiles every .k file, and the checksum skips any path containing ".git" or ".tar"
          { name: "evil.git.k", text: "a = 'owned'\n" },
          { name: "x.tar.k", text: "b = 'owned'\n" },
          { name: ".github/", type: "directory" },
          { name: ".github/run.k", text: "c = 'owned'\n" },
        ],
        annotations: { [NAME]: "sneaky", [VERSION]: "1.0.0" },
      });
      const dest = await Deno.makeTempDir({ dir: home.dir });
      const result = await kpm(["mod", "pull", `oci://${registry.host}/good/sneaky`, "--tag", "1.0.0"], dest);
      assertEquals(result.code, 0, describe(result));
      assertEquals(await tree(join(cache, "sneaky_1.0.0")), ["kcl.mod", "main.k"]);
      assertEquals(await tree(join(dest, "oci", registry.host, "good/sneaky", "1.0.0")), [
        "kcl.mod",
        "main.k",
      ]);
    });
  } finally {
    await registry.close();
  }
});
