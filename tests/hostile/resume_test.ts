/**
 * A registry that stalls in the middle of a layer, played by a fault proxy in front of kpm's embedded
 * registry: `kpm artifact pull` gives up after `--timeout` naming the stalled host, keeps the partial file, and
 * the next pull resumes it with a Range request.
 */

import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { randomBytes } from "../oci_fake.ts";
import { startEmbeddedRegistry } from "../integration/support/embedded.ts";
import { describe, kpmHome, ROOT, runKpm } from "../integration/ship_support.ts";
import { startFaultProxy } from "./support/fault_proxy.ts";

const STALL_AFTER = 700_000;

Deno.test("a pull that stalls mid-layer fails with a timeout, keeps the partial file and resumes", async () => {
  await using home = await kpmHome();
  const registry = await startEmbeddedRegistry();
  const proxy = startFaultProxy(`http://${registry.host}`);
  const kpm = (args: string[]) => runKpm(join(ROOT, "main.ts"), args, { cwd: home.dir, env: home.env });
  try {
    const content = randomBytes(3 * 1024 * 1024);
    await Deno.writeFile(join(home.dir, "big.bin"), content);
    const pushed = await kpm(["artifact", "push", `${registry.host}/e/big:v1`, "big.bin"]);
    assertEquals(pushed.code, 0, describe(pushed));

    proxy.fault = (request) =>
      request.method === "GET" && request.url.includes("/blobs/sha256:")
        ? { stallAfter: STALL_AFTER }
        : undefined;
    const stalled = await kpm([
      "artifact",
      "pull",
      `${proxy.host}/e/big:v1`,
      "-o",
      "out",
      "--timeout",
      "500ms",
    ]);
    assertEquals(stalled.code, 1, describe(stalled));
    assertStringIncludes(stalled.stderr, `"${proxy.host}" sent nothing for 0.5 s`);
    const partials = [...Deno.readDirSync(join(home.dir, "out"))].filter((e) => e.name.endsWith(".partial"));
    assertEquals(partials.length, 1, "the partial download is kept");
    assertEquals(Deno.statSync(join(home.dir, "out", partials[0]!.name)).size, STALL_AFTER);

    proxy.fault = undefined;
    const resumed = await kpm(["artifact", "pull", `${proxy.host}/e/big:v1`, "-o", "out"]);
    assertEquals(resumed.code, 0, describe(resumed));
    assertEquals(await Deno.readFile(join(home.dir, "out", "big.bin")), content);
    assert(proxy.seen.some((s) => s.range === `bytes=${STALL_AFTER}-`), "the second pull asked for the rest");
  } finally {
    await proxy.close();
    await registry.close();
  }
});
