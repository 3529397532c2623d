/**
 * Folder layers: pack and unpack round trip, the tar digest check, and hostile archives refused with nothing
 * written outside the output folder (and nothing left inside it).
 */

import { join } from "node:path";
import { packFolder, unpackFolder } from "../lib/artifact/folder.ts";
import { ArtifactError } from "../lib/artifact/files.ts";
import { digestOf } from "../lib/oci/digest.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./assert.ts";
import { type Entry, streamOf, tarGz, tree } from "./tar_builder.ts";

Deno.test("a packed folder unpacks to the same files, symlinks and modes, and packs reproducibly", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kpm-folder-" });
  try {
    const src = join(dir, "src");
    await Deno.mkdir(join(src, "sub", "deep"), { recursive: true });
    await Deno.writeTextFile(join(src, "a.txt"), "alpha\n");
    await Deno.writeTextFile(join(src, "sub", "deep", "b.txt"), "beta\n");
    await Deno.writeTextFile(join(src, "run.sh"), "#!/bin/sh\n");
    await Deno.chmod(join(src, "run.sh"), 0o755);
    await Deno.symlink("a.txt", join(src, "link"));
    const first = await packFolder(src, "conf");
    const second = await packFolder(src, "conf");
    assertEquals(first.digest, second.digest, "same folder, same bytes");
    assertEquals(first.size, (await Deno.stat(first.path)).size);
    assertEquals(first.digest, digestOf(await Deno.readFile(first.path)));
    const out = join(dir, "out");
    const written = await unpackFolder((await Deno.open(first.path)).readable, out, "conf", {
      tarDigest: first.tarDigest,
    });
    assertEquals(written, join(out, "conf"));
    assertEquals(await tree(out), [
      "conf",
      "conf/a.txt",
      "conf/link",
      "conf/run.sh",
      "conf/sub",
      "conf/sub/deep",
      "conf/sub/deep/b.txt",
    ]);
    assertEquals(await Deno.readTextFile(join(out, "conf", "sub", "deep", "b.txt")), "beta\n");
    assertEquals(await Deno.readLink(join(out, "conf", "link")), "a.txt");
    assertEquals((await Deno.stat(join(out, "conf", "run.sh"))).mode! & 0o111, 0o111);
    await Deno.remove(first.path);
    await Deno.remove(second.path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("unpacking refuses a tar whose digest is not the annotated one, leaving nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kpm-folder-" });
  try {
    const gz = await tarGz([{ name: "conf/", type: "directory", size: 0 }, { name: "conf/a", text: "x" }]);
    const out = join(dir, "out");
    await assertRejects(
      () => unpackFolder(streamOf(gz), out, "conf", { tarDigest: digestOf("something else") }),
      Error,
      "Digest mismatch",
    );
    assertEquals(await tree(dir), ["out"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const HOSTILE: [string, Entry[], string][] = [
  ["an entry climbing out with ..", [{ name: "conf/../../x", text: "pwned" }], `climbs out with ".."`],
  ["an absolute entry", [{ name: "/tmp/kpm-pwned-abs", text: "pwned" }], "absolute path"],
  ["an entry outside the title", [{ name: "other/x", text: "pwned" }], `outside the folder "conf"`],
  [
    "a symlink to ../../etc followed by a file through it",
    [
      { name: "conf/", type: "directory", size: 0 },
      { name: "conf/etc", type: "symlink", linkname: "../../etc", size: 0 },
      { name: "conf/etc/passwd", text: "pwned" },
    ],
    "symlink pointing outside",
  ],
  [
    "an absolute symlink",
    [{ name: "conf/l", type: "symlink", linkname: "/etc", size: 0 }],
    "symlink pointing outside",
  ],
  [
    "a file written through a symlink, even one pointing inside",
    [
      { name: "conf/", type: "directory", size: 0 },
      { name: "conf/d", type: "symlink", linkname: ".", size: 0 },
      { name: "conf/d/x", text: "through a link" },
    ],
    "through a symlink",
  ],
  [
    "a file through a symlink made after files were written in the same folder",
    [
      { name: "conf/", type: "directory", size: 0 },
      { name: "conf/sub/a", text: "fine" },
      { name: "conf/sub/b", text: "fine" },
      { name: "conf/sub/l", type: "symlink", linkname: "..", size: 0 },
      { name: "conf/sub/l/x", text: "through a link" },
    ],
    "through a symlink",
  ],
  [
    "a symlink climbing through a symlink to . (inside as written, outside as followed)",
    [
      { name: "conf/", type: "directory", size: 0 },
      { name: "conf/l1", type: "symlink", linkname: ".", size: 0 },
      { name: "conf/s", type: "symlink", linkname: "l1/l1/l1/../../..", size: 0 },
    ],
    "symlink pointing outside",
  ],
  [
    "a hard link to a file outside",
    [{ name: "conf/h", type: "link", linkname: "../../etc/passwd", size: 0 }],
    "links to a file that",
  ],
  ["a device", [{ name: "conf/dev", type: "character-device", size: 0 }], "character-device"],
];

Deno.test("unpacking refuses hostile archives with nothing written outside -o", async (t) => {
  for (const [label, entries, message] of HOSTILE) {
    const gz = await tarGz(entries);
    await t.step(label, async () => {
      const sandbox = await Deno.makeTempDir({ prefix: "kpm-hostile-" });
      try {
        const out = join(sandbox, "a", "b", "out");
        await Deno.mkdir(out, { recursive: true });
        await Deno.writeTextFile(join(out, "keep.txt"), "mine");
        const error = await assertRejects(
          () => unpackFolder(streamOf(gz), out, "conf"),
          ArtifactError,
        );
        assertStringIncludes(error.message, message);
        assertEquals(await tree(sandbox), ["a", "a/b", "a/b/out", "a/b/out/keep.txt"]);
        assert(!(await Deno.stat("/tmp/kpm-pwned-abs").then(() => true, () => false)));
      } finally {
        await Deno.remove(sandbox, { recursive: true });
      }
    });
  }
});
