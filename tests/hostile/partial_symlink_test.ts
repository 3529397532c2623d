/**
 * A local user who can write the output folder plants the `.partial` file a download would resume: a symbolic
 * link to someone else's file (which kpm would append to, or empty when it is longer than the blob), a hard
 * link, a dangling link, a folder. kpm refuses each with a one-line error naming the path, and the file behind
 * it is left exactly as it was.
 */

import { join } from "node:path";
import { assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { partialPath } from "../../lib/oci/blobs.ts";
import { digestOf } from "../../lib/oci/digest.ts";
import { PartialFile, PartialFileError } from "../../lib/oci/partial_file.ts";
import { describe, kpmHome, runKpmIn } from "../integration/ship_support.ts";
import { startEvilRegistry } from "./support/evil_registry.ts";
import { withTempDir } from "../temp_dir.ts";

const CONTENT = new TextEncoder().encode("the artifact's content, long enough to resume\n");
const EXPECTED = { digest: digestOf(CONTENT), size: CONTENT.length };
/** The victim's file: shorter than the blob (kpm would append to it) or longer (kpm would empty it). */
const VICTIMS = {
  shorter: "export PATH=/usr/bin\n",
  longer: `${"# the victim's own settings\n".repeat(10)}`,
};

/** What is planted at the partial path, given the victim's file. */
const PLANTS: { name: string; plant: (path: string, victim: string) => Promise<void>; says: string }[] = [
  { name: "a symbolic link", plant: (path, victim) => Deno.symlink(victim, path), says: "a symbolic link" },
  {
    name: "a dangling symbolic link",
    plant: (path, victim) => Deno.symlink(`${victim}.gone`, path),
    says: "a symbolic link",
  },
  {
    name: "a hard link",
    plant: (path, victim) => Deno.link(victim, path),
    says: "a file with other names (hard links)",
  },
  { name: "a folder", plant: (path) => Deno.mkdir(path), says: "not a regular file" },
];

Deno.test("a partial file planted as a link is refused, and the file behind it is untouched", async (t) => {
  for (const [size, text] of Object.entries(VICTIMS)) {
    for (const { name, plant, says } of PLANTS) {
      await t.step(`${name} to a ${size} file`, async () => {
        await withTempDir(async (dir) => {
          const victim = join(dir, "victim.bashrc");
          await Deno.writeTextFile(victim, text);
          const before = await Deno.stat(victim);
          const path = join(dir, ".a.txt.partial");
          await plant(path, victim);
          const error = await assertRejects(
            () => PartialFile.create(path, { what: "the blob", expected: EXPECTED, resume: true }),
            PartialFileError,
          );
          assertStringIncludes(error.message, `Cannot write the blob: "${path}" is ${says}`);
          assertEquals(await Deno.readTextFile(victim), text);
          assertEquals((await Deno.stat(victim)).mtime, before.mtime);
        });
      });
    }
  }
});

Deno.test("artifact pull refuses a planted .partial link and leaves its target alone", async (t) => {
  const registry = startEvilRegistry();
  try {
    {
      await using home = await kpmHome();
      await Deno.writeFile(join(home.dir, "a.txt"), CONTENT);
      const pushed = await runKpmIn(home, ["artifact", "push", `${registry.host}/e/a:v1`, "a.txt"]);
      assertEquals(pushed.code, 0, describe(pushed));
    }
    for (const [size, text] of Object.entries(VICTIMS)) {
      await t.step(`to a ${size} file`, async () => {
        await using home = await kpmHome();
        const victim = join(home.dir, "victim.bashrc");
        await Deno.writeTextFile(victim, text);
        const out = join(home.dir, "out");
        await Deno.mkdir(out);
        const planted = partialPath(join(out, "a.txt"), EXPECTED.digest);
        await Deno.symlink(victim, planted);
        const result = await runKpmIn(home, ["artifact", "pull", `${registry.host}/e/a:v1`, "-o", "out"]);
        assertEquals(result.code, 1, describe(result));
        assertStringIncludes(result.stderr, `"${planted}" is a symbolic link`);
        assertEquals(result.stderr.trim().split("\n").length, 1, result.stderr);
        assertEquals(await Deno.readTextFile(victim), text);
        assertEquals((await Deno.lstat(planted)).isSymlink, true, "the planted link is not removed either");
        await assertRejects(() => Deno.lstat(join(out, "a.txt")), Deno.errors.NotFound);
      });
    }
  } finally {
    await registry.close();
  }
});
