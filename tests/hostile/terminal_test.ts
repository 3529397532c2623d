/**
 * Names, tags and messages from a registry reach the terminal without their escape sequences: a tag cannot
 * clear the screen, retitle the window or hide a line.
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { terminalSafe } from "../../lib/cli/terminal_text.ts";
import { describe, kpmHome, ROOT, runKpm } from "../integration/ship_support.ts";
import { startEvilRegistry } from "./support/evil_registry.ts";

const HOSTILE = [
  "v1\x1b]0;owned\x07",
  "\x1b[2J\x1b[Hv2",
  "v3\rfake",
  "v4\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\",
];

Deno.test("terminalSafe removes escape sequences and control characters, keeping newlines and tabs", async (t) => {
  const cases: [string, string][] = [
    ["v1\x1b]0;owned\x07", "v1"],
    ["\x1b[2J\x1b[Hv2", "v2"],
    ["v3\rfake", "v3fake"],
    ["v4\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "v4link"],
    ["a\tb\nc", "a\tb\nc"],
    ["bell\x07 nul\x00 c1\x9b", "bell nul c1"],
    ["é ✓ 漢字", "é ✓ 漢字"],
  ];
  for (const [input, expected] of cases) {
    await t.step(JSON.stringify(input), () => assertEquals(terminalSafe(input), expected));
  }
});

Deno.test("tags and registry error messages are printed without escape sequences", async () => {
  await using home = await kpmHome();
  const registry = startEvilRegistry({
    trick: (_request, url) => {
      if (url.pathname.endsWith("/good/tags/list")) return Response.json({ name: "e/good", tags: HOSTILE });
      if (url.pathname.endsWith("/bad/tags/list")) {
        return Response.json(
          { errors: [{ code: "DENIED", message: "\x1b[8mhidden\x1b[0m \x1b]0;t\x07no" }] },
          {
            status: 403,
          },
        );
      }
      return undefined;
    },
  });
  const kpm = (args: string[]) => runKpm(join(ROOT, "main.ts"), args, { cwd: home.dir, env: home.env });
  try {
    const listed = await kpm(["artifact", "tags", `${registry.host}/e/good`]);
    assertEquals(listed.code, 0, describe(listed));
    assertEquals(listed.stdout, "v1\nv2\nv3fake\nv4link\n");
    const refused = await kpm(["artifact", "tags", `${registry.host}/e/bad`]);
    assertEquals(refused.code, 1, describe(refused));
    // deno-lint-ignore no-control-regex
    assert(!/[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(refused.stderr), JSON.stringify(refused.stderr));
    assert(refused.stderr.includes("hidden no"), describe(refused));
  } finally {
    await registry.close();
  }
});
