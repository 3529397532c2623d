/**
 * The package graph against a real registry, through main.ts: transitive dependencies of pushed packages, a
 * version conflict settled by minimal version selection, a `-`/`_` name clash, the newest semver tag when no
 * version is given, a docker-style reference, an older plain-tar package, and a cache that was corrupted,
 * half-written (as the reference leaves it when interrupted) or that disagrees with kcl.mod.lock.
 */

import { join } from "node:path";
import { RegistryClient } from "../../lib/oci/client.ts";
import { digestOf } from "../../lib/oci/digest.ts";
import { OCI_LAYER_TAR, OCI_MANIFEST, UNKNOWN_CONFIG } from "../../lib/oci/media_types.ts";
import { packPackage } from "../../lib/kpm/package.ts";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { forEachRegistry, USER } from "./kpm_registries.ts";
import { describe, kpmHome, ROOT, runKpm } from "./ship_support.ts";
import { Repository } from "../../lib/oci/repository.ts";

const MAIN = join(ROOT, "main.ts");

/** Writes a package folder: kcl.mod (with dependencies), an empty lock and main.k. */
async function writePackage(
  dir: string,
  name: string,
  version: string,
  main: string,
  deps: Record<string, string> = {},
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const lines = Object.entries(deps).map(([n, v]) => `${n} = "${v}"`);
  const depText = lines.length ? `\n[dependencies]\n${lines.join("\n")}\n` : "";
  await Deno.writeTextFile(
    join(dir, "kcl.mod"),
    `[package]\nname = "${name}"\nedition = "v0.11.0"\nversion = "${version}"\n${depText}`,
  );
  await Deno.writeTextFile(join(dir, "kcl.mod.lock"), "");
  await Deno.writeTextFile(join(dir, "main.k"), main);
}

await forEachRegistry("the package graph", async (t, registry) => {
  await using home = await kpmHome();
  const host = registry.host;
  const cache = home.env.KCL_PKG_PATH!;
  const log = join(home.dir, "kcl.log");
  const compiler = join(home.dir, "kcl");
  await Deno.writeTextFile(compiler, `#!/bin/sh\necho "$*" >> '${log}'\n`);
  await Deno.chmod(compiler, 0o755);
  const env = { KPM_REG: host, KPM_REPO: "test", KPM_KCL_BIN: compiler };
  const kpm = (args: string[], cwd = home.dir) => runKpm(MAIN, args, { cwd, env: { ...home.env, ...env } });
  const ok = async (args: string[], cwd = home.dir) => {
    const result = await kpm(args, cwd);
    assertEquals(result.code, 0, `kpm ${args.join(" ")}: ${describe(result)}`);
    return result;
  };
  const src = join(home.dir, "src");
  const app = join(home.dir, "app");

  await t.step("push base 1.0.0 and 1.2.0, mid 0.1.0 needing base 1.2.0, and my-lib / my_lib", async () => {
    await ok(["registry", "login", "-u", USER.username, "-p", USER.password, host]);
    await writePackage(join(src, "base"), "base", "1.0.0", "a = 1\n");
    await ok(["mod", "push"], join(src, "base"));
    await writePackage(join(src, "base"), "base", "1.2.0", "a = 2\n");
    await ok(["mod", "push"], join(src, "base"));
    await ok(["mod", "push", "--tag", "latest"], join(src, "base"));
    await writePackage(join(src, "mid"), "mid", "0.1.0", "import base\nb = base.a\n", { base: "1.2.0" });
    await ok(["mod", "push"], join(src, "mid"));
    for (const name of ["my-lib", "my_lib"]) {
      await writePackage(join(src, name), name, "0.0.1", "c = 1\n");
      await ok(["mod", "push"], join(src, name));
    }
  });

  await t.step("add locks the transitive graph; the highest required version wins", async () => {
    await writePackage(app, "app", "0.0.1", "x = 1\n");
    await ok(["mod", "add", "base:1.0.0"], app);
    assertStringIncludes(await Deno.readTextFile(join(app, "kcl.mod.lock")), 'version = "1.0.0"');
    await ok(["mod", "add", "mid:0.1.0"], app);
    const mod = await Deno.readTextFile(join(app, "kcl.mod"));
    assertStringIncludes(mod, '[dependencies]\nbase = "1.0.0"\nmid = "0.1.0"\n');
    const lock = await Deno.readTextFile(join(app, "kcl.mod.lock"));
    assertEquals(
      lock.split("\n").filter((l) => /^\s+(full_name|oci_tag) =/.test(l)).map((l) => l.trim()),
      [
        'full_name = "base_1.2.0"',
        'oci_tag = "1.2.0"',
        'full_name = "mid_0.1.0"',
        'oci_tag = "0.1.0"',
      ],
    );
    const graph = await ok(["mod", "graph"], app);
    assertEquals(graph.stdout, "app@0.0.1 base@1.0.0\napp@0.0.1 mid@0.1.0\nmid@0.1.0 base@1.2.0\n");
  });

  await t.step("names that clash after - → _ are refused and kcl.mod is kept", async () => {
    const before = await Deno.readTextFile(join(app, "kcl.mod"));
    await ok(["mod", "add", "my-lib:0.0.1"], app);
    const withLib = await Deno.readTextFile(join(app, "kcl.mod"));
    assert(withLib !== before);
    const result = await kpm(["mod", "add", "my_lib:0.0.1"], app);
    assertEquals(result.code, 1, describe(result));
    assertStringIncludes(result.stderr, "clash");
    assertEquals(await Deno.readTextFile(join(app, "kcl.mod")), withLib);
    await ok(["mod", "remove", "my-lib"], app);
    assertEquals(await Deno.readTextFile(join(app, "kcl.mod")), before);
  });

  await t.step("run passes every package of the graph, at its selected version", async () => {
    await ok(["run"], app);
    assertEquals(
      (await Deno.readTextFile(log)).trim(),
      `run -E base=${join(cache, "base_1.2.0")} -E mid=${join(cache, "mid_0.1.0")}`,
    );
  });

  await t.step("pull without a version takes the highest semver tag; docker-style references", async () => {
    const dest = join(home.dir, "pulls");
    await Deno.mkdir(dest);
    await ok(["mod", "pull", "base"], dest);
    assertEquals(
      await Deno.readTextFile(join(dest, "oci", host, "test", "base", "1.2.0", "main.k")),
      "a = 2\n",
    );
    await ok(["mod", "pull", `${host}/test/base:1.0.0`], dest);
    assertEquals(
      await Deno.readTextFile(join(dest, "oci", host, "test", "base", "1.0.0", "main.k")),
      "a = 1\n",
    );
  });

  await t.step(
    "two kpm processes filling the same empty cache both succeed, leaving one whole package",
    async () => {
      const shared = join(home.dir, "shared-cache");
      await Deno.mkdir(join(shared, ".kpm", "config"), { recursive: true });
      const credentials = join(".kpm", "config", "config.json"); // the login lives in KCL_PKG_PATH
      await Deno.copyFile(join(cache, credentials), join(shared, credentials));
      const pulls = await Promise.all([1, 2, 3].map(async (i) => {
        const dest = join(home.dir, `race-${i}`);
        await Deno.mkdir(dest);
        return runKpm(MAIN, ["mod", "pull", "mid:0.1.0"], {
          cwd: dest,
          env: { ...home.env, ...env, KCL_PKG_PATH: shared },
        });
      }));
      for (const result of pulls) assertEquals(result.code, 0, describe(result));
      const entries: string[] = [];
      for await (const entry of Deno.readDir(shared)) entries.push(entry.name);
      assertEquals(entries.sort(), [".kpm", "mid_0.1.0"]);
      const tmp: string[] = [];
      for await (const entry of Deno.readDir(join(shared, ".kpm", "tmp"))) tmp.push(entry.name);
      assertEquals(tmp, []);
      assertStringIncludes(await Deno.readTextFile(join(shared, "mid_0.1.0", "kcl.mod")), 'name = "mid"');
    },
  );

  await t.step("add --rename writes the alias form and runs under the alias", async () => {
    const renamed = join(home.dir, "renamed");
    await writePackage(renamed, "renamed", "0.0.1", "x = 1\n");
    await ok(["mod", "add", "base:1.0.0", "--rename", "oldbase"], renamed);
    assertStringIncludes(
      await Deno.readTextFile(join(renamed, "kcl.mod")),
      '[dependencies]\noldbase = { package = "base", version = "1.0.0" }\n',
    );
    assertStringIncludes(
      await Deno.readTextFile(join(renamed, "kcl.mod.lock")),
      '  [dependencies.oldbase]\n    name = "oldbase"\n    full_name = "base_1.0.0"\n',
    );
    await Deno.remove(log);
    await ok(["run"], renamed);
    assertEquals((await Deno.readTextFile(log)).trim(), `run -E oldbase=${join(cache, "base_1.0.0")}`);
  });

  await t.step("an older package with a plain tar layer and no kcl annotations", async () => {
    const dir = join(src, "old");
    await writePackage(dir, "old", "0.0.1", "o = 1\n");
    const tar = new Uint8Array(await new Response(packPackage(dir, { gzip: false })).arrayBuffer());
    const client = new RegistryClient({ credentials: () => Promise.resolve(USER) });
    const target = { registry: host, repository: "test/old" };
    const layer = {
      mediaType: OCI_LAYER_TAR,
      digest: digestOf(tar),
      size: tar.byteLength,
      annotations: { "org.opencontainers.image.title": "old_0.0.1.tar" },
    };
    const config = { mediaType: UNKNOWN_CONFIG, digest: digestOf("{}"), size: 2 };
    await new Repository(client, target).blobs.push(layer, tar);
    await new Repository(client, target).blobs.push(config, new TextEncoder().encode("{}"));
    await new Repository(client, target).manifests.push(
      new TextEncoder().encode(
        JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] }),
      ),
      OCI_MANIFEST,
      { tag: "0.0.1" },
    );
    const dest = join(home.dir, "old-pull");
    await Deno.mkdir(dest);
    await ok(["mod", "pull", `oci://${host}/test/old`, "--tag", "0.0.1"], dest);
    assertEquals(
      await Deno.readTextFile(join(dest, "oci", host, "test", "old", "0.0.1", "main.k")),
      "o = 1\n",
    );
  });

  await t.step("an artifact holding several packages: `package` picks one, under its alias", async () => {
    const bundle = join(src, "bundle");
    await writePackage(bundle, "bundle", "0.1.0", "top = 1\n");
    await writePackage(join(bundle, "parts", "inner"), "inner", "0.0.3", "inner = 3\n");
    await ok(["mod", "push"], bundle);
    const user = join(home.dir, "user");
    await writePackage(user, "user", "0.0.1", "x = 1\n");
    const mod = `${await Deno.readTextFile(join(user, "kcl.mod"))}\n[dependencies]\n` +
      `mine = { oci = "oci://${host}/test/bundle", tag = "0.1.0", package = "inner", version = "0.0.3" }\n`;
    await Deno.writeTextFile(join(user, "kcl.mod"), mod);
    await Deno.remove(log);
    await ok(["run"], user);
    assertEquals(
      (await Deno.readTextFile(log)).trim(),
      `run -E mine=${join(cache, "bundle_0.1.0", "parts", "inner")}`,
    );
    const lock = await Deno.readTextFile(join(user, "kcl.mod.lock"));
    assertStringIncludes(lock, '  [dependencies.mine]\n    name = "mine"\n    full_name = "inner_0.0.3"\n');
    assertEquals(await Deno.readTextFile(join(user, "kcl.mod")), mod, "kcl.mod is left as written");
    await Deno.writeTextFile(join(user, "kcl.mod"), mod.replace('package = "inner"', 'package = "nothere"'));
    const missing = await kpm(["run"], user);
    assertEquals(missing.code, 1, describe(missing));
    assertStringIncludes(missing.stderr, 'Cannot find package "nothere"');
  });

  const cached = join(cache, "base_1.2.0");
  await t.step("a corrupted cached package is detected and fetched again", async () => {
    await Deno.writeTextFile(join(cached, "main.k"), "a = 666\n");
    const result = await ok(["run"], app);
    assertStringIncludes(result.stderr, "does not match");
    assertEquals(await Deno.readTextFile(join(cached, "main.k")), "a = 2\n");
  });

  await t.step(
    "a half-written cache folder (an interrupted download) is not taken as the package",
    async () => {
      await Deno.remove(cached, { recursive: true });
      await Deno.mkdir(cached);
      await Deno.writeTextFile(join(cached, "kcl.mod"), '[package]\nname = "base"\nversion = "1.2.0"\n');
      await Deno.mkdir(`${cached}.1234abcd.partial`);
      await ok(["run"], app);
      assertEquals(await Deno.readTextFile(join(cached, "main.k")), "a = 2\n");
    },
  );

  await t.step("a package whose content does not match kcl.mod.lock is refused", async () => {
    const lockPath = join(app, "kcl.mod.lock");
    const lock = await Deno.readTextFile(lockPath);
    const bogus = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const tampered = lock.replace(/(\[dependencies\.base\]\n(?:.*\n)*?\s+sum = ")[^"]+/, `$1${bogus}`);
    assert(tampered !== lock);
    await Deno.writeTextFile(lockPath, tampered);
    const result = await kpm(["run"], app);
    assertEquals(result.code, 1, describe(result));
    assertStringIncludes(result.stderr, "refusing");
    assertStringIncludes(result.stderr, bogus);
    assertEquals(await Deno.readTextFile(lockPath), tampered, "the lock is not rewritten");
  });

  await t.step("a tag pushed again with other content: the lock refuses it until mod update", async () => {
    await ok(["mod", "update"], app); // also repairs the lock the step before tampered with
    const before = await Deno.readTextFile(join(app, "kcl.mod.lock"));
    await writePackage(join(src, "base"), "base", "1.2.0", "a = 22\n");
    await ok(["mod", "push", "--force"], join(src, "base"));
    await ok(["run"], app); // the locked copy in the cache still matches the lock: no registry request
    await Deno.remove(cached, { recursive: true });
    const refused = await kpm(["run"], app);
    assertEquals(refused.code, 1, describe(refused));
    assertStringIncludes(refused.stderr, "refusing");
    await ok(["mod", "update"], app);
    const after = await Deno.readTextFile(join(app, "kcl.mod.lock"));
    assert(after !== before, "mod update locks the new content");
    await ok(["run"], app);
    assertEquals(await Deno.readTextFile(join(cached, "main.k")), "a = 22\n");
  });
}, { only: (label) => !label.includes("token") });
