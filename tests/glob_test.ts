/**
 * The three glob dialects, pinned: access rules (`**` any characters, `?` one character), trust-policy scopes
 * (case-insensitive, `?` literal) and kcl.mod include/exclude (`**` + `/` may match no folder, `./` and a
 * trailing `/` dropped, a glob without `/` matches at any depth, a folder matches what it holds).
 */

import { join } from "node:path";
import { assertEquals } from "./assert.ts";
import { globToRegExp } from "../lib/server/access_rules.ts";
import { scopeMatches } from "../lib/kpm/trust_policy.ts";
import { packageFiles } from "../lib/kpm/package.ts";

Deno.test("access-rule globs: ** is any characters and keeps the slash after it, ? is one character", () => {
  const cases: [string, string, boolean][] = [
    ["a/**/b", "a/x/y/b", true],
    ["a/**/b", "a/b", false],
    ["a/**", "a/", true],
    ["**/b", "b", false],
    ["a?c", "abc", true],
    ["a?c", "a/c", false],
    ["a?c", "a?c", true],
    ["***", "a/b", true],
    ["A/b", "a/b", false],
    ["a+b(c)", "a+b(c)", true],
    ["a/b", "x/a/b", false],
    ["a/b", "a/b/c", false],
  ];
  for (const [glob, name, expected] of cases) {
    assertEquals(globToRegExp(glob).test(name), expected, `${glob} ${name}`);
  }
});

Deno.test("trust-policy scopes: ? is literal, case does not matter, ** keeps the slash after it", () => {
  const cases: [string, string, boolean][] = [
    ["h/a?c", "h/abc", false],
    ["h/a?c", "h/a?c", true],
    ["h/**/b", "h/b", false],
    ["h/**/b", "h/x/y/b", true],
    ["h/***", "h/a/b", true],
    ["H/A*", "h/ab", true],
    ["h/a", "h/a/b", false],
    ["h/a+b", "h/a+b", true],
  ];
  for (const [scope, name, expected] of cases) {
    assertEquals(scopeMatches(scope, name), expected, `${scope} ${name}`);
  }
});

Deno.test("kcl.mod include/exclude globs: **/ may match no folder, no slash matches at any depth", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files = [
      "kcl.mod",
      "b.k",
      "abc.k",
      "a?c.k",
      "sub/b.k",
      "sub/c.k",
      "sub/deep/b.k",
      "x/sub/c.k",
      "x/y.k",
    ];
    for (const file of files) {
      await Deno.mkdir(join(dir, file, ".."), { recursive: true });
      await Deno.writeTextFile(join(dir, file), "");
    }
    const pick = (options: { include?: string[]; exclude?: string[] }) => packageFiles(dir, options);
    assertEquals(await pick({ exclude: ["**/b.k"] }), [
      "a?c.k",
      "abc.k",
      "kcl.mod",
      "sub/c.k",
      "x/sub/c.k",
      "x/y.k",
    ]);
    assertEquals(await pick({ include: ["./sub/"] }), [
      "kcl.mod",
      "sub/b.k",
      "sub/c.k",
      "sub/deep/b.k",
      "x/sub/c.k",
    ]);
    assertEquals(await pick({ include: ["sub/*.k"] }), ["kcl.mod", "sub/b.k", "sub/c.k"]);
    assertEquals(await pick({ include: ["sub"] }), [
      "kcl.mod",
      "sub/b.k",
      "sub/c.k",
      "sub/deep/b.k",
      "x/sub/c.k",
    ]);
    assertEquals(await pick({ include: ["a?c.k"] }), ["a?c.k", "abc.k", "kcl.mod"]);
    assertEquals(await pick({ include: ["x/**"] }), ["kcl.mod", "x/sub/c.k", "x/y.k"]);
    assertEquals(await pick({ include: ["sub/**/b.k"] }), ["kcl.mod", "sub/b.k", "sub/deep/b.k"]);
    assertEquals(await pick({ include: ["s?b/c.k"] }), ["kcl.mod", "sub/c.k"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
