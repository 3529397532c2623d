/**
 * `kpm registry serve --proxy URL`, the pull-through cache, as a real process between kpm (and crane) and an
 * upstream registry with accounts: the first pull fetches and verifies, a moved tag is seen again after the
 * tag TTL, pushes are refused, and after the upstream goes away everything pulled once is still served.
 */

import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { describe, kpmHome, ROOT, runKpm } from "./ship_support.ts";
import { startEmbeddedRegistry } from "./support/embedded.ts";
import { startKpmServe } from "./support/kpm_serve.ts";
import { ignoreWithoutPeers, peerCommand } from "./support/peers.ts";

const ENTRY = join(ROOT, "main.ts");

Deno.test("pull-through cache: fetched once and verified, tags re-checked, pushes refused, survives the upstream going away", async (t) => {
  await using home = await kpmHome();
  const env = home.env;
  const kpm = async (...args: string[]) => await runKpm(ENTRY, args, { env, cwd: home.dir });
  const upstream = await startEmbeddedRegistry({ users: [{ username: "test", password: "1234" }] });
  let upstreamOpen = true;
  const cache = await startKpmServe([
    ...["--root", join(home.dir, "cache"), "--proxy", `http://${upstream.host}`],
    ...["--proxy-user", "test:1234", "--proxy-ttl", "0s"],
  ], { env });
  try {
    const login = await kpm("registry", "login", upstream.host, "-u", "test", "-p", "1234");
    assertEquals(login.code, 0, describe(login));
    const pushUpstream = async (text: string) => {
      await Deno.writeTextFile(join(home.dir, "module.k"), text);
      const push = await kpm("artifact", "push", `${upstream.host}/kcl-lang/app:1.0`, "module.k", "--json");
      assertEquals(push.code, 0, describe(push));
      return JSON.parse(push.stdout).digest as string;
    };
    const pullCache = async (out: string) => {
      const pull = await kpm("artifact", "pull", `${cache.host}/kcl-lang/app:1.0`, "-o", join(home.dir, out));
      assertEquals(pull.code, 0, describe(pull));
      return await Deno.readTextFile(join(home.dir, out, "module.k"));
    };

    const first = await pushUpstream("a = 1\n");
    await t.step("the first pull fetches from the upstream, with its credentials", async () => {
      assertEquals(await pullCache("one"), "a = 1\n");
      if (!await ignoreWithoutPeers(["crane"])) {
        const digest = await new Deno.Command(await peerCommand("crane"), {
          args: ["digest", "--insecure", `${cache.host}/kcl-lang/app:1.0`],
          stdout: "piped",
          stderr: "piped",
        }).output();
        assertEquals(
          new TextDecoder().decode(digest.stdout).trim(),
          first,
          new TextDecoder().decode(digest.stderr),
        );
      }
    });

    await t.step("without --proxy-user, the stored credentials of the upstream's host are used", async () => {
      const second = await startKpmServe([
        "--root",
        join(home.dir, "cache2"),
        "--proxy",
        `http://${upstream.host}`,
      ], {
        env,
      });
      try {
        const pull = await kpm(
          "artifact",
          "pull",
          `${second.host}/kcl-lang/app:1.0`,
          "-o",
          join(home.dir, "stored"),
        );
        assertEquals(pull.code, 0, describe(pull));
        assertEquals(await Deno.readTextFile(join(home.dir, "stored", "module.k")), "a = 1\n");
      } finally {
        await second.stop();
      }
    });

    await t.step("a tag moved upstream is seen after the tag TTL", async () => {
      await pushUpstream("a = 2\n");
      assertEquals(await pullCache("two"), "a = 2\n");
    });

    await t.step("pushes to the cache are refused", async () => {
      const push = await kpm("artifact", "push", `${cache.host}/kcl-lang/app:9.9`, "module.k");
      assertEquals(push.code, 1, describe(push));
      assertStringIncludes(push.stderr, "pull-through cache");
    });

    await t.step("after the upstream goes away, what was pulled is served from disk", async () => {
      await upstream.close();
      upstreamOpen = false;
      assertEquals(await pullCache("three"), "a = 2\n");
      const byDigest = await kpm(
        "artifact",
        "pull",
        `${cache.host}/kcl-lang/app@${first}`,
        "-o",
        join(home.dir, "four"),
      );
      assertEquals(byDigest.code, 0, describe(byDigest));
      assertEquals(await Deno.readTextFile(join(home.dir, "four", "module.k")), "a = 1\n");
      const never = await kpm(
        "artifact",
        "pull",
        `${cache.host}/kcl-lang/other:1.0`,
        "-o",
        join(home.dir, "five"),
      );
      assertEquals(never.code, 1, describe(never));
      assert(cache.stderr.some((line) => line.includes("proxy: serving cached")), cache.stderr.join("\n"));
    });
  } finally {
    await cache.stop();
    if (upstreamOpen) await upstream.close();
  }
});
