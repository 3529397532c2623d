/**
 * The exit-status contract scripts rely on (0 ok, 1 failure, 2 usage), one `error:` line on stderr and no
 * stack trace unless --verbose, and no prompt when stdin is not a terminal. Spawns main.ts.
 */

import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { describe, kpmHome, type KpmResult, ROOT, runKpm } from "./integration/ship_support.ts";
import { join } from "node:path";
import { freePort } from "./integration/support/ports.ts";

const ENTRY = join(ROOT, "main.ts");
const FLAGS = ["--allow-net", "--allow-read", "--allow-write", "--allow-env"];

function assertOneErrorLine(result: KpmResult, includes: string): void {
  const lines = result.stderr.trimEnd().split("\n").filter((line) => !line.startsWith("note: "));
  assertEquals(lines.length, 1, describe(result));
  assert(lines[0]!.startsWith("error: "), describe(result));
  assertStringIncludes(lines[0]!, includes);
  assert(!/^\s+at /m.test(result.stderr), `no stack trace: ${describe(result)}`);
}

Deno.test("exit codes: 0 for success, 2 for usage errors", async (t) => {
  await using home = await kpmHome();
  const kpm = (args: string[]) => runKpm(ENTRY, args, { denoArgs: FLAGS, cwd: home.dir, env: home.env });
  const cases: { name: string; args: string[]; code: number; error?: string; stdout?: string }[] = [
    { name: "--version", args: ["--version"], code: 0, stdout: "kpm " },
    { name: "--help", args: ["--help"], code: 0, stdout: "Usage: kpm" },
    { name: "no arguments shows help", args: [], code: 0, stdout: "Commands:" },
    {
      name: "command help",
      args: ["artifact", "pull", "--help"],
      code: 0,
      stdout: "Usage: kpm artifact pull",
    },
    { name: "unknown command", args: ["frobnicate"], code: 2, error: 'Unknown command "frobnicate"' },
    {
      name: "unknown subcommand",
      args: ["mod", "frobnicate"],
      code: 2,
      error: 'Unknown command "mod frobnicate"',
    },
    { name: "group without a command", args: ["registry"], code: 2, stdout: "registry login" },
    { name: "unknown option", args: ["artifact", "pull", "--bogus", "a/b:c"], code: 2, error: "--bogus" },
    {
      name: "mistyped command",
      args: ["artifact", "pul", "a/b:c"],
      code: 2,
      error: 'did you mean "kpm artifact pull"?',
    },
    {
      name: "mistyped group",
      args: ["regstry", "login"],
      code: 2,
      error: 'did you mean "kpm registry login"?',
    },
    {
      name: "mistyped option, short message",
      args: ["artifact", "pull", "--media-typ", "x", "a/b:c"],
      code: 2,
      error: 'Unknown option "--media-typ"; did you mean "--media-type"?',
    },
    { name: "bad package source", args: ["mod", "pull", "http://x/y"], code: 2, error: "only oci:// URLs" },
    { name: "option missing its value", args: ["artifact", "pull", "a/b:c", "-o"], code: 2, error: "-o" },
    { name: "missing argument", args: ["registry", "login"], code: 2, error: "Usage: kpm registry login" },
    { name: "too many arguments", args: ["registry", "logout", "a", "b"], code: 2, error: "Usage:" },
    {
      name: "conflicting options",
      args: ["registry", "login", "-u", "u", "-p", "p", "--password-stdin", "127.0.0.1:5000"],
      code: 2,
      error: "--password and --password-stdin",
    },
  ];
  for (const c of cases) {
    await t.step(`${c.name} → ${c.code}`, async () => {
      const result = await kpm(c.args);
      assertEquals(result.code, c.code, describe(result));
      if (c.error) assertOneErrorLine(result, c.error);
      if (c.stdout) assertStringIncludes(result.stdout, c.stdout);
    });
  }
});

Deno.test("exit codes: 1 for failures, with one error line and no stack trace", async (t) => {
  await using home = await kpmHome();
  const kpm = (args: string[]) => runKpm(ENTRY, args, { denoArgs: FLAGS, cwd: home.dir, env: home.env });
  const unreachable = `127.0.0.1:${freePort()}`;
  await t.step("unreachable registry", async () => {
    const result = await kpm(["artifact", "pull", `${unreachable}/x/y:1`]);
    assertEquals(result.code, 1, describe(result));
    assertOneErrorLine(result, `cannot reach "${unreachable}"`);
  });
  await t.step("unreachable registry with --json: one error document on stdout", async () => {
    const result = await kpm(["artifact", "pull", `${unreachable}/x/y:1`, "--json"]);
    assertEquals(result.code, 1, describe(result));
    const { error } = JSON.parse(result.stdout);
    assertEquals(error.status, 1);
    assertStringIncludes(error.message, `cannot reach "${unreachable}"`);
    assertOneErrorLine(result, "cannot reach");
  });
  await t.step("a usage error with --format json: an error document with status 2", async () => {
    const result = await kpm(["artifact", "pull", ":::", "--format", "json"]);
    assertEquals(result.code, 2, describe(result));
    assertEquals(JSON.parse(result.stdout).error.status, 2);
  });
  await t.step("unreachable registry with --verbose adds the stack trace", async () => {
    const result = await kpm(["artifact", "pull", `${unreachable}/x/y:1`, "--verbose"]);
    assertEquals(result.code, 1, describe(result));
    assert(/^\s+at /m.test(result.stderr), describe(result));
  });
  await t.step("unreachable registry for a package", async () => {
    const result = await kpm(["mod", "pull", `oci://${unreachable}/x/y`, "--tag", "1"]);
    assertEquals(result.code, 1, describe(result));
    assertOneErrorLine(result, "cannot reach");
  });
  // A malformed reference typed on the command line is a usage error: 2.
  for (
    const [name, ref, error] of [
      ["uppercase repository", "127.0.0.1:5000/Acme/App:1", "must be lowercase"],
      ["bad tag", "127.0.0.1:5000/acme/app:bad!tag", 'tag "bad!tag"'],
      ["garbage", ":::", 'Invalid reference ":::"'],
    ]
  ) {
    await t.step(`bad reference (${name}) → 2`, async () => {
      for (const command of [["artifact", "pull"], ["artifact", "push"]]) {
        const result = await kpm([...command, ref!, ...(command[1] === "push" ? ["kcl.mod"] : [])]);
        assertEquals(result.code, 2, describe(result));
        assertOneErrorLine(result, error!);
      }
    });
  }
  await t.step("missing file → 1", async () => {
    const result = await kpm(["artifact", "push", `${unreachable}/a/b:1`, "no-such-file.txt"]);
    assertEquals(result.code, 1, describe(result));
    assertOneErrorLine(result, "no-such-file.txt");
  });
});

Deno.test("registry login never prompts when stdin is not a terminal: exit 2 at once", async (t) => {
  await using home = await kpmHome();
  await t.step("stdin closed", async () => {
    const result = await runKpm(ENTRY, ["registry", "login", "-u", "ci", "127.0.0.1:5000"], {
      denoArgs: FLAGS,
      cwd: home.dir,
      env: home.env,
    });
    assertEquals(result.code, 2, describe(result));
    assertOneErrorLine(result, "Cannot ask for password: stdin is not a terminal");
  });
  await t.step("stdin an open pipe that never sends anything, no -u either", async () => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...FLAGS, ENTRY, "registry", "login", "127.0.0.1:5000"],
      cwd: home.dir,
      env: home.env,
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    try {
      const out = await child.output();
      const result = {
        code: out.code,
        stdout: new TextDecoder().decode(out.stdout),
        stderr: new TextDecoder().decode(out.stderr),
      };
      assertEquals(result.code, 2, `killed after 20 s means it waited for input: ${describe(result)}`);
      assertOneErrorLine(result, "Cannot ask for username: stdin is not a terminal");
    } finally {
      clearTimeout(timer);
      await child.stdin.close().catch(() => {});
    }
  });
});

Deno.test("after --, --help, -h, -v and --json belong to the compiler: kpm neither shows help nor changes its output", async () => {
  await using home = await kpmHome();
  // no kcl.mod here, so kpm run fails before it reaches a compiler: the failure is reported as kpm's own
  const result = await runKpm(ENTRY, ["run", "--", "--help", "-h", "-v", "--json"], {
    denoArgs: FLAGS,
    cwd: home.dir,
    env: home.env,
  });
  assertEquals(result.code, 1, describe(result));
  assertEquals(result.stdout, "", `no help and no JSON document: ${describe(result)}`);
  assertOneErrorLine(result, "kcl.mod");
});
