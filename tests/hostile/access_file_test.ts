/**
 * The access file of `kpm registry serve --access FILE` is read once, as a regular file of at most 1 MiB: a link
 * to /dev/zero, a fifo or a huge file is refused with one line naming it, never read without end (and a fifo
 * never blocks the start-up).
 */

import { join } from "node:path";
import { readAccessRules } from "../../lib/server/access_rules.ts";
import { assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { runCommand } from "../integration/support/command.ts";
import { describe, kpmHome, ROOT, runKpm } from "../integration/ship_support.ts";
import { withTempDir } from "../temp_dir.ts";

Deno.test("an access file that is a link to /dev/zero, a fifo or over 1 MiB is refused, not read", async (t) => {
  await withTempDir(async (dir) => {
    const zero = join(dir, "zero.yaml");
    await Deno.symlink("/dev/zero", zero);
    const fifo = join(dir, "fifo.yaml");
    assertEquals((await runCommand("mkfifo", [fifo])).code, 0);
    const huge = join(dir, "huge.yaml");
    await Deno.writeTextFile(huge, `# ${"x".repeat(1024 * 1024)}\nanonymous: []\n`);
    for (
      const [label, path, reason] of [
        ["a link to /dev/zero", zero, "it is not a regular file"],
        ["a fifo", fifo, "it is not a regular file"],
        ["over 1 MiB", huge, `it is over the ${1024 * 1024} byte limit`],
        ["missing", join(dir, "missing.yaml"), "No such file"],
      ] as const
    ) {
      await t.step(label, async () => {
        const error = await assertRejects(() => readAccessRules(path), Error);
        assertStringIncludes(error.message, `Cannot read access file "${path}": ${reason}`);
      });
    }
    await t.step("a link to a regular file is followed", async () => {
      const real = join(dir, "real.yaml");
      await Deno.writeTextFile(real, 'anonymous:\n  - repos: "public/**"\n    actions: [pull]\n');
      await Deno.symlink(real, join(dir, "link.yaml"));
      assertEquals((await readAccessRules(join(dir, "link.yaml"))).anonymous.length, 1);
    });
    await t.step("kpm registry serve exits 1 with one line", async () => {
      await using home = await kpmHome();
      const args = [
        "registry",
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--root",
        join(dir, "root"),
        "--access",
        zero,
      ];
      const result = await runKpm(join(ROOT, "main.ts"), args, { env: home.env });
      assertEquals(result.code, 1, describe(result));
      assertEquals(result.stderr, `error: Cannot read access file "${zero}": it is not a regular file\n`);
    });
  });
});
