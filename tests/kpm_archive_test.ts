/**
 * KCL package archives from a registry or a .tgz are untrusted: hostile entries are refused with nothing
 * written outside the cache folder and no package (or partial folder) left behind.
 */

import { join } from "node:path";
import { PACKAGE_LIMIT, PackageArchiveError, unpackPackage } from "../lib/kpm/package.ts";
import { assertEquals, assertRejects, assertStringIncludes } from "./assert.ts";
import { type Entry, streamOf, tarGz, tree } from "./tar_builder.ts";

const HOSTILE: [string, Entry[], string][] = [
  ["an entry climbing out with ..", [{ name: "../x", text: "pwned" }], `climbs out with ".."`],
  ["an absolute entry", [{ name: "/tmp/kpm-pkg-pwned", text: "pwned" }], "absolute path"],
  [
    "a symlink out followed by a file through it",
    [{ name: "etc", type: "symlink", linkname: "../../etc", size: 0 }, { name: "etc/passwd", text: "pwned" }],
    "symlink pointing outside",
  ],
  [
    "a symlink climbing through a symlink to . (inside as written, outside as followed)",
    [
      { name: "l1", type: "symlink", linkname: ".", size: 0 },
      { name: "s", type: "symlink", linkname: "l1/..", size: 0 },
      { name: "s/evil.k", text: "pwned" },
    ],
    "symlink pointing outside",
  ],
  [
    "a file written through a symlink pointing inside",
    [{ name: "d", type: "symlink", linkname: ".", size: 0 }, { name: "d/main.k", text: "a = 1" }],
    "through a symlink",
  ],
  ["a fifo", [{ name: "pipe", type: "fifo", size: 0 }], "fifo, which packages may not hold"],
];

Deno.test("unpackPackage refuses hostile archives with nothing written outside the cache", async (t) => {
  for (const [label, entries, message] of HOSTILE) {
    const gz = await tarGz(entries);
    await t.step(label, async () => {
      const sandbox = await Deno.makeTempDir({ prefix: "kpm-pkg-hostile-" });
      try {
        const cache = join(sandbox, "home", "kpm");
        await Deno.mkdir(cache, { recursive: true });
        const error = await assertRejects(
          () => unpackPackage(streamOf(gz), join(cache, "evil_0.0.1"), { name: "evil_0.0.1.tgz" }),
          PackageArchiveError,
        );
        assertStringIncludes(error.message, `Refusing archive "evil_0.0.1.tgz"`);
        assertStringIncludes(error.message, message);
        assertEquals(await tree(sandbox), ["home", "home/kpm"]);
        assertEquals(await Deno.stat("/tmp/kpm-pkg-pwned").then(() => true, () => false), false);
      } finally {
        await Deno.remove(sandbox, { recursive: true });
      }
    });
  }
});

Deno.test("unpackPackage keeps symlinks that stay inside and takes the last of duplicate files", async () => {
  const sandbox = await Deno.makeTempDir({ prefix: "kpm-pkg-ok-" });
  try {
    const gz = await tarGz([
      { name: "./", type: "directory", size: 0 },
      { name: "lib/", type: "directory", size: 0 },
      { name: "lib/a.k", text: "a = 1" },
      { name: "main.k", text: "old" },
      { name: "main.k", text: "import lib" },
      { name: "lib/alias.k", type: "symlink", linkname: "a.k", size: 0 },
      { name: "lib/up.k", type: "symlink", linkname: "../main.k", size: 0 },
    ]);
    const out = join(sandbox, "pkg_0.0.1");
    await unpackPackage(streamOf(gz), out);
    assertEquals(await tree(sandbox), [
      "pkg_0.0.1",
      "pkg_0.0.1/lib",
      "pkg_0.0.1/lib/a.k",
      "pkg_0.0.1/lib/alias.k",
      "pkg_0.0.1/lib/up.k",
      "pkg_0.0.1/main.k",
    ]);
    assertEquals(await Deno.readTextFile(join(out, "lib", "up.k")), "import lib");
    assertEquals(await Deno.readTextFile(join(out, "lib", "alias.k")), "a = 1");
  } finally {
    await Deno.remove(sandbox, { recursive: true });
  }
});

/** One ustar header block for a regular file `name` that declares `size` bytes. */
function fileHeader(name: string, size: number): Uint8Array {
  const block = new Uint8Array(512);
  const put = (offset: number, text: string) => block.set(new TextEncoder().encode(text), offset);
  put(0, name);
  put(100, "0000644\0");
  put(108, "0000000\0");
  put(116, "0000000\0");
  put(124, `${size.toString(8).padStart(11, "0")}\0`);
  put(136, "00000000000\0");
  put(148, "        ");
  put(156, "0");
  put(257, "ustar\u000000");
  const sum = block.reduce((total, byte) => total + byte, 0);
  put(148, `${sum.toString(8).padStart(6, "0")}\0 `);
  return block;
}

Deno.test("unpackPackage refuses a package that unpacks past PACKAGE_LIMIT before writing it (gzip bomb)", async () => {
  const sandbox = await Deno.makeTempDir({ prefix: "kpm-pkg-bomb-" });
  try {
    const tar = new Uint8Array(2048);
    tar.set(fileHeader("main.k", 3), 0);
    tar.set(new TextEncoder().encode("a=1"), 512);
    tar.set(fileHeader("zeros.k", PACKAGE_LIMIT.bytes), 1024);
    const error = await assertRejects(
      () => unpackPackage(streamOf(tar), join(sandbox, "bomb_0.0.1"), { name: "bomb_0.0.1.tgz" }),
      PackageArchiveError,
    );
    assertStringIncludes(error.message, `entry "zeros.k" unpacks past the ${PACKAGE_LIMIT.bytes} bytes`);
    assertEquals(await tree(sandbox), []);
  } finally {
    await Deno.remove(sandbox, { recursive: true });
  }
});
