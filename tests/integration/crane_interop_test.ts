/**
 * crane (v0.22.1, built by scripts/peers.sh) through kpm's embedded registry with token auth: a multi-platform
 * image index built with crane on distribution is copied into kpm's registry and back out with `crane copy`,
 * keeps its digest (`crane digest`, also per platform), lists its tags (`crane ls`), validates blob by blob
 * (`crane validate`), and reads the same through kpm (`kpm artifact manifest`, `kpm artifact copy`), with the
 * credentials that `crane auth login` wrote.
 */

import { join } from "node:path";
import { assertEquals } from "../assert.ts";
import { startDistribution } from "./support/distribution.ts";
import { startEmbeddedRegistry } from "./support/embedded.ts";
import { kpmSucceeds } from "./support/kpm_cli.ts";
import { ignoreWithoutPeers, runPeer } from "./support/peers.ts";
import { USER } from "./kpm_registries.ts";
import { kpmHome } from "./ship_support.ts";

const PLATFORMS = ["amd64", "arm64"];

Deno.test("crane copies a multi-platform index through kpm registry serve", {
  ignore: await ignoreWithoutPeers(["crane", "docker-registry"]),
}, async (t) => {
  const source = await startDistribution({ auth: "none" });
  const kpmRegistry = await startEmbeddedRegistry({ users: [USER] });
  await using home = await kpmHome();
  const work = join(home.dir, "work");
  await Deno.mkdir(work, { recursive: true });
  const crane = async (...args: string[]) =>
    (await runPeer("crane", [...args, "--insecure"], { cwd: work, env: home.env })).trim();
  const kpm = async (...args: string[]) => (await kpmSucceeds(args, work, home.env)).stdout;
  const src = `${source.host}/demo/img`;
  const dst = `${kpmRegistry.host}/mirror/img`;
  try {
    const children: Record<string, string> = {};
    await t.step("crane builds a two-platform index on distribution", async () => {
      for (const arch of PLATFORMS) {
        await Deno.mkdir(join(work, arch));
        await Deno.writeTextFile(join(work, arch, "arch.txt"), `${arch}\n`);
        const tar = await new Deno.Command("tar", {
          args: ["-C", join(work, arch), "-cf", join(work, `${arch}.tar`), "arch.txt"],
        }).output();
        assertEquals(tar.success, true, "tar");
        await crane("append", "--oci-empty-base", "-f", `${arch}.tar`, "-t", `${src}:${arch}-base`);
        await crane(
          "mutate",
          `${src}:${arch}-base`,
          "--set-platform",
          `linux/${arch}`,
          "-t",
          `${src}:${arch}`,
        );
        children[arch] = await crane("digest", `${src}:${arch}`);
      }
      await crane("index", "append", "-m", `${src}:amd64`, "-m", `${src}:arm64`, "-t", `${src}:multi`);
    });

    await t.step("crane copy into kpm's registry (token auth) keeps every digest", async () => {
      await runPeer("crane", ["auth", "login", kpmRegistry.host, "-u", USER.username, "--password-stdin"], {
        cwd: work,
        env: home.env,
        stdin: USER.password,
      });
      await crane("copy", `${src}:multi`, `${dst}:multi`);
      assertEquals(await crane("digest", `${dst}:multi`), await crane("digest", `${src}:multi`));
      for (const arch of PLATFORMS) {
        assertEquals(await crane("digest", `${dst}:multi`, "--platform", `linux/${arch}`), children[arch]);
      }
      await crane("validate", "--remote", `${dst}:multi`);
      assertEquals(await crane("ls", dst), "multi");
      assertEquals(
        await kpm("artifact", "manifest", `${dst}:multi`),
        await crane("manifest", `${src}:multi`),
      );
    });

    await t.step("crane copy and kpm artifact copy back out agree", async () => {
      await crane("copy", `${dst}:multi`, `${source.host}/back/crane:multi`);
      await kpm("artifact", "copy", `${dst}:multi`, `${source.host}/back/kpm:multi`);
      const digest = await crane("digest", `${src}:multi`);
      assertEquals(await crane("digest", `${source.host}/back/crane:multi`), digest);
      assertEquals(await crane("digest", `${source.host}/back/kpm:multi`), digest);
      await crane("validate", "--remote", `${source.host}/back/kpm:multi`);
    });
  } finally {
    await kpmRegistry.close();
    await source.close();
  }
});
