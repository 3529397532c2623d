/**
 * extractTar writes small files a few at a time (lib/oci/parallel_writes.ts): what it writes must be what an
 * extraction in archive order writes, and nothing may be written through a symlink or left in flight.
 *
 * @module
 */

import { join } from "node:path";
import { extractTar } from "../lib/oci/untar.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { type Entry, streamOf, tarGz, tree } from "./tar_builder.ts";
import { withTempDir } from "./temp_dir.ts";

class Refused extends Error {}

/** Extracts hand-made entries into `root` (the archive's plain tar). */
async function extract(entries: Entry[], root: string): Promise<void> {
  const tar = streamOf(await tarGz(entries)).pipeThrough(
    new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
  );
  await extractTar(tar, await Deno.realPath(root), {
    refuse: (name, why) => {
      throw new Refused(`${name} ${why}`);
    },
    holder: "tests",
  });
}

/** `count` small files `f0.txt`… in folder `dir`. */
function files(dir: string, count: number): Entry[] {
  return Array.from({ length: count }, (_, i) => ({ name: `${dir}/f${i}.txt`, text: `file ${i}` }));
}

Deno.test("small files written concurrently: the later of two entries of one name wins, as in order", async () => {
  await withTempDir(async (root) => {
    await extract([
      { name: "a/", type: "directory" },
      { name: "a/same.txt", text: "first" },
      ...files("a", 20),
      { name: "a/same.txt", text: "second" },
      { name: "a/same.txt", text: "third" },
    ], root);
    assertEquals(await Deno.readTextFile(join(root, "a/same.txt")), "third");
    assertEquals(await Deno.readTextFile(join(root, "a/f19.txt")), "file 19");
    assertEquals((await tree(root)).length, 1 + 1 + 20);
  });
});

Deno.test("a hard link after small files finds its file written", async () => {
  await withTempDir(async (root) => {
    await extract([...files("a", 20), { name: "a/link.txt", type: "link", linkname: "a/f19.txt" }], root);
    assertEquals(await Deno.readTextFile(join(root, "a/link.txt")), "file 19");
  });
});

Deno.test("a symlink after small files still refuses a write through it", async () => {
  await withTempDir(async (root) => {
    const outside = join(root, "outside");
    await Deno.mkdir(outside);
    const archive = join(root, "archive");
    await Deno.mkdir(archive);
    await assertRejects(
      () =>
        extract([
          ...files("a", 20),
          { name: "a/up", type: "symlink", linkname: "." },
          ...files("a/up", 5),
        ], archive),
      Refused,
    );
    assertEquals(await tree(outside), []);
  });
});

Deno.test("a small file that cannot be written fails the extraction, with no write left in flight", async () => {
  await withTempDir(async (root) => {
    const error = await assertRejects(() =>
      extract([
        { name: "a/taken/", type: "directory" },
        { name: "a/taken/inner.txt", text: "inner" },
        ...files("a", 10),
        { name: "a/taken", text: "a file where a folder is" },
        ...files("b", 10),
      ], root)
    );
    assert(!(error instanceof Refused), String(error));
    const after = await tree(root);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assertEquals(await tree(root), after, "nothing was still being written when extractTar returned");
  });
});
