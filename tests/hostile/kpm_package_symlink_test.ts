/**
 * The attacker wrote the package being pushed: a symlink in it (`helper.k -> ~/.docker/config.json`) must not
 * carry a local secret to a registry or into an archive, and special files must never be opened (a fifo would
 * hang kpm). Real embedded registry, real kpm processes.
 */

import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { startEmbeddedRegistry } from "../integration/support/embedded.ts";
import { describe, kpmHome, type KpmResult, ROOT, runKpm } from "../integration/ship_support.ts";
import { tree } from "../tar_builder.ts";

const MAIN = join(ROOT, "main.ts");
const SECRET = "s3cret-registry-token";

/** Runs kpm, killed if it ever hangs (a regression reading a fifo), so the suite itself cannot hang. */
function kpm(args: string[], cwd: string, env: Record<string, string>): Promise<KpmResult> {
  return runKpm(MAIN, args, { cwd, env, signal: AbortSignal.timeout(120_000) });
}

Deno.test("mod push and mod pkg never follow a symlink out of the package nor open special files", async (t) => {
  const registry = await startEmbeddedRegistry();
  await using home = await kpmHome();
  const env = { ...home.env, OCI_REG_PLAIN_HTTP: "on" };
  const secret = join(home.dir, "docker", "config.json");
  await Deno.mkdir(join(home.dir, "docker"));
  await Deno.writeTextFile(secret, `{"auths":{"ghcr.io":{"auth":"${SECRET}"}}}`);
  const pkg = join(home.dir, "pkg");
  assertEquals((await kpm(["mod", "init", "pkg"], home.dir, env)).code, 0);
  const refused = async (link: string, says: string) => {
    const push = await kpm(["mod", "push", `oci://${registry.host}/test/pkg`, "--tag", "0.1.0"], pkg, env);
    assertEquals(push.code, 1, describe(push));
    assertStringIncludes(
      push.stderr,
      `error: Refusing ${link.includes("pipe") ? "" : "symlink "}"${join(pkg, link)}"`,
    );
    assertStringIncludes(push.stderr, says);
    const tags = await fetch(`http://${registry.host}/v2/test/pkg/tags/list`);
    assert(tags.status === 404 || !(await tags.text()).includes("0.1.0"), "nothing was pushed");
    if (tags.status === 404) await tags.body?.cancel();
    const pack = await kpm(["mod", "pkg", "--target", join(home.dir, "out.tgz")], pkg, env);
    assertEquals(pack.code, 1, describe(pack));
    assertStringIncludes(pack.stderr, says);
    assertEquals((await tree(home.dir)).filter((p) => p.startsWith("out.tgz")), []);
  };
  try {
    await t.step("an absolute symlink to a secret outside", async () => {
      await Deno.symlink(secret, join(pkg, "helper.k"));
      await refused("helper.k", `it points outside the package "${pkg}" (to "${secret}")`);
      await Deno.remove(join(pkg, "helper.k"));
    });

    await t.step("a relative symlink climbing out", async () => {
      await Deno.symlink("../docker/config.json", join(pkg, "helper.k"));
      await refused("helper.k", "it points outside the package");
      await Deno.remove(join(pkg, "helper.k"));
    });

    await t.step("a symlink through an inside folder that points out", async () => {
      await Deno.mkdir(join(pkg, "sub"));
      await Deno.symlink("..", join(pkg, "sub", "up"));
      await Deno.symlink("sub/up/../docker/config.json", join(pkg, "helper.k"));
      await refused("helper.k", "it points outside the package");
      await Deno.remove(join(pkg, "helper.k"));
      await Deno.remove(join(pkg, "sub"), { recursive: true });
    });

    await t.step("a dangling symlink and a symlink to a folder", async () => {
      await Deno.symlink("missing.k", join(pkg, "helper.k"));
      await refused("helper.k", 'its target "missing.k" does not exist');
      await Deno.remove(join(pkg, "helper.k"));
      await Deno.mkdir(join(pkg, "dir"));
      await Deno.symlink("dir", join(pkg, "helper.k"));
      await refused("helper.k", 'it points to "dir", which is not a file');
      await Deno.remove(join(pkg, "helper.k"));
      await Deno.remove(join(pkg, "dir"));
    });

    await t.step("a fifo is refused without being opened", async () => {
      const made = await new Deno.Command("mkfifo", { args: [join(pkg, "pipe.k")] }).output();
      assert(made.success, "mkfifo");
      await refused("pipe.k", "(a fifo, socket or device), which packages may not hold");
      await Deno.remove(join(pkg, "pipe.k"));
    });

    await t.step(
      "a symlink to a file inside is packed as that file; a socket under .git is never read",
      async () => {
        await Deno.writeTextFile(join(pkg, "real.k"), "b = 2\n");
        await Deno.symlink("real.k", join(pkg, "alias.k"));
        await Deno.mkdir(join(pkg, ".git"));
        const socket = Deno.listen({ transport: "unix", path: join(pkg, ".git", "fsmonitor.ipc") });
        try {
          const push = await kpm(
            ["mod", "push", `oci://${registry.host}/test/pkg`, "--tag", "0.1.0"],
            pkg,
            env,
          );
          assertEquals(push.code, 0, describe(push));
          const dest = join(home.dir, "pulled");
          await Deno.mkdir(dest);
          const pull = await kpm(
            ["mod", "pull", `oci://${registry.host}/test/pkg`, "--tag", "0.1.0"],
            dest,
            env,
          );
          assertEquals(pull.code, 0, describe(pull));
          const alias = join(dest, "oci", registry.host, "test/pkg", "0.1.0", "alias.k");
          assert((await Deno.lstat(alias)).isFile, "packed as a regular file");
          assertEquals(await Deno.readTextFile(alias), "b = 2\n");
        } finally {
          socket.close();
        }
      },
    );
  } finally {
    await registry.close();
  }
});
