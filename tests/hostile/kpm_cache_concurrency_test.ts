/**
 * The package cache under stress: five kpm processes repairing the same corrupted entry at once, and a pull
 * killed mid-download whose partial file the next run resumes (Range) and whose debris it removes. Real
 * embedded registry behind a recording proxy, real kpm processes.
 */

import { join } from "node:path";
import { partialPath } from "../../lib/oci/blobs.ts";
import { assert, assertEquals } from "../assert.ts";
import { startEmbeddedRegistry } from "../integration/support/embedded.ts";
import { describe, kpmHome, ROOT, runKpm } from "../integration/ship_support.ts";
import { tree } from "../tar_builder.ts";
import { startFaultProxy } from "./support/fault_proxy.ts";
import { pushHostilePackage } from "./support/hostile_package.ts";

const MAIN = join(ROOT, "main.ts");
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Text that gzip barely compresses (~6 bits a character), so the layer is about 0.75 × `size` bytes. */
function noise(size: number): string {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  return Array.from(bytes, (b) => ALPHABET[b & 63]).join("");
}

/** A package `name` 1.0.0 whose data.k holds `data`, with `extra` more small files. */
function files(name: string, data: string, extra = 0) {
  return [
    { name: "kcl.mod", text: `[package]\nname = "${name}"\nversion = "1.0.0"\n` },
    { name: "data.k", text: `data = "${data}"\n` },
    ...Array.from({ length: extra }, (_, i) => ({ name: `part${i}.k`, text: `part${i} = ${i}\n` })),
  ];
}

const annotations = (name: string) => ({
  "org.kcllang.package.name": name,
  "org.kcllang.package.version": "1.0.0",
});

Deno.test("five kpm processes repairing one corrupted cache entry all succeed", async () => {
  const registry = await startEmbeddedRegistry();
  await using home = await kpmHome();
  const cache = home.env.KCL_PKG_PATH!;
  const env = { ...home.env, OCI_REG_PLAIN_HTTP: "on" };
  const source = `oci://${registry.host}/race/shared`;
  try {
    // many files: removing and checking a copy takes long enough for the processes to overlap
    const data = noise(64 * 1024);
    await pushHostilePackage(registry.host, "race/shared", "1.0.0", {
      entries: files("shared", data, 500),
      annotations: annotations("shared"),
    });
    const first = await runKpm(MAIN, ["mod", "pull", source, "--tag", "1.0.0"], { cwd: home.dir, env });
    assertEquals(first.code, 0, describe(first));
    await Deno.writeTextFile(join(cache, "shared_1.0.0", "data.k"), "data = 'tampered'\n");
    const pulls = await Promise.all([1, 2, 3, 4, 5].map(async (i) => {
      const dest = join(home.dir, `dest-${i}`);
      await Deno.mkdir(dest);
      return runKpm(MAIN, ["mod", "pull", source, "--tag", "1.0.0"], { cwd: dest, env });
    }));
    for (const result of pulls) assertEquals(result.code, 0, describe(result));
    assertEquals(await Deno.readTextFile(join(cache, "shared_1.0.0", "data.k")), `data = "${data}"\n`);
    for (const i of [1, 2, 3, 4, 5]) {
      const pulled = join(home.dir, `dest-${i}`, "oci", registry.host, "race/shared", "1.0.0", "data.k");
      assertEquals(await Deno.readTextFile(pulled), `data = "${data}"\n`);
    }
    assertEquals((await tree(cache)).filter((p) => !p.startsWith(".kpm/")).length, 2 + 502);
    assertEquals(await tree(join(cache, ".kpm", "tmp")), []);
  } finally {
    await registry.close();
  }
});

Deno.test("a pull killed mid-download is resumed by the next run, which leaves no debris", async () => {
  const registry = await startEmbeddedRegistry();
  const proxy = startFaultProxy(`http://${registry.host}`);
  await using home = await kpmHome();
  const cache = home.env.KCL_PKG_PATH!;
  const env = { ...home.env, OCI_REG_PLAIN_HTTP: "on" };
  const source = `oci://${proxy.host}/big/big`;
  try {
    const data = noise(8 * 1024 * 1024);
    const { layer } = await pushHostilePackage(registry.host, "big/big", "1.0.0", {
      entries: files("big", data),
      annotations: annotations("big"),
    });
    assert(layer.size > 5 * 1024 * 1024, `layer of ${layer.size} bytes`);
    const blob = `/v2/big/big/blobs/${layer.digest}`;
    proxy.fault = (request) =>
      new URL(request.url).pathname === blob ? { stallAfter: 5 * 1024 * 1024 } : undefined;
    const work = join(cache, ".kpm", "tmp", "pull-big_1.0.0");
    const partial = partialPath(join(work, "layer"), layer.digest);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "mod", "pull", source, "--tag", "1.0.0"],
      cwd: home.dir,
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    let kept = 0;
    while (kept === 0) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      kept = (await Deno.stat(partial).catch(() => undefined))?.size ?? 0;
    }
    child.kill("SIGKILL");
    await child.status;
    kept = (await Deno.stat(partial)).size; // what the killed run had written
    proxy.fault = undefined;
    // debris of runs killed long ago (the old layout's layer files) goes; fresh work of other runs stays
    const old = join(cache, ".kpm", "tmp", "old_0.1.0.0123abcd.layer");
    await Deno.writeTextFile(old, "x");
    await Deno.utime(old, new Date(Date.now() - 48 * 3600_000), new Date(Date.now() - 48 * 3600_000));
    await Deno.mkdir(join(cache, ".kpm", "tmp", "git-fresh"));
    await Deno.mkdir(join(work, "extract", "half"), { recursive: true });

    const again = await runKpm(MAIN, ["mod", "pull", source, "--tag", "1.0.0"], { cwd: home.dir, env });
    assertEquals(again.code, 0, describe(again));
    assertEquals(
      proxy.seen.filter((seen) => seen.method === "GET" && seen.url === blob).map((s) => s.range),
      [
        null,
        `bytes=${kept}-`,
      ],
    );
    assertEquals(await Deno.readTextFile(join(cache, "big_1.0.0", "data.k")), `data = "${data}"\n`);
    assertEquals(await tree(join(cache, ".kpm", "tmp")), ["git-fresh"]);
    assertEquals((await tree(cache)).filter((p) => !p.startsWith(".kpm")), [
      "big_1.0.0",
      "big_1.0.0/data.k",
      "big_1.0.0/kcl.mod",
    ]);
  } finally {
    await proxy.close();
    await registry.close();
  }
});
