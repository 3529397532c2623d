/**
 * The bytes of packed packages and folders are pinned: a KCL package's layer digest is what the reference kpm
 * and the KCL CLI read and what lock files and registries hold, so the packer may change its code but never
 * its output (entry order, headers, modes, gzip).
 */

import { join } from "node:path";
import { packFolder } from "../lib/artifact/folder.ts";
import { packPackage } from "../lib/kpm/package.ts";
import { digestStream } from "../lib/oci/digest.ts";
import { assertEquals } from "./assert.ts";

/** A sample whose walk order and full-path order differ (`a/…` against `a-b`), with every kind of entry. */
async function sample(dir: string): Promise<void> {
  const files: [string, string][] = [
    ["kcl.mod", '[package]\nname = "sample"\nedition = "v0.11.0"\nversion = "0.1.0"\n'],
    ["main.k", "a = 1\n"],
    ["a/x.k", "x = 1\n"],
    ["a/b/y.k", "y = 2\n"],
    ["a-b", "dash\n"],
    ["a.k", "dot\n"],
    ["Z.k", "capital\n"],
    ["run.sh", "#!/bin/sh\necho hi\n"],
    ["old.tgz", "not packed into a package\n"],
    [".git/HEAD", "ref: refs/heads/main\n"],
  ];
  for (const [path, text] of files) {
    await Deno.mkdir(join(dir, path, ".."), { recursive: true });
    await Deno.writeTextFile(join(dir, path), text);
  }
  await Deno.chmod(join(dir, "run.sh"), 0o755);
  await Deno.chmod(join(dir, "main.k"), 0o600);
  await Deno.symlink("main.k", join(dir, "link.k"));
}

Deno.test("a packed package and a packed folder keep their bytes (pinned digests)", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "kpm-tar-pin-" });
  try {
    await sample(dir);
    await t.step("package, gzip", async () => {
      const { digest, size } = await digestStream(packPackage(dir));
      assertEquals({ digest, size }, {
        digest: "sha256:507aa1ed042fae723c0e2a3d2c64c1dd0f2fcdf218c0169f1db0d56fc70c0e65",
        size: 630,
      });
    });
    await t.step("package, plain tar", async () => {
      const { digest, size } = await digestStream(packPackage(dir, { gzip: false }));
      assertEquals({ digest, size }, {
        digest: "sha256:b49ff8abef5cfc07eab45f20080b0b0c3c0afbe9a6902b0d2e304b80451a9632",
        size: 11264,
      });
    });
    await t.step("package with include and exclude globs", async () => {
      const { digest } = await digestStream(packPackage(dir, { include: ["a/", "*.k"], exclude: ["a/b/"] }));
      assertEquals(digest, "sha256:9c1505917e89512f636dc212dcd845e8f20caa069b739f2c87ee1b4076c48714");
    });
    await t.step("folder (symlink kept, .git and archives too)", async () => {
      const packed = await packFolder(dir, "conf");
      await Deno.remove(packed.path);
      assertEquals({ digest: packed.digest, size: packed.size, tarDigest: packed.tarDigest }, {
        digest: "sha256:23901c76858daef27a27e73f64617db2026e89770effd7da287cc465164aab0d",
        size: 832,
        tarDigest: "sha256:da7f91624ec97d71bdf6fc280220ac43c47fc4b1d41c495aade594a80c9f60a9",
      });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
