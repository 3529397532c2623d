/**
 * What the router writes for a command's result and for a failure (lib/cli/render.ts): the human lines made
 * terminal-safe, exact bytes as they are, streams as they come, one JSON document with --json; a failure's
 * `error:` line, its hint (worded by lib/cli/hints.ts) on a line of its own and, with --json, the error
 * document with the hint in it.
 */

import { assertEquals } from "./assert.ts";
import { type CliIO, output, UsageError } from "../lib/cli/command.ts";
import { reportFailure, writeResult } from "../lib/cli/render.ts";
import { PackageError } from "../lib/kpm/errors.ts";

/** A CliIO that records stdout and stderr. */
function recorder(): CliIO & { stdout: string; stderr: string } {
  const decoder = new TextDecoder();
  const io = {
    env: {},
    cwd: "/",
    stdin: new Blob([]).stream(),
    stdinIsTerminal: false,
    stderrIsTerminal: false,
    fetch: globalThis.fetch,
    stdout: "",
    stderr: "",
    write: (data: string | Uint8Array) =>
      void (io.stdout += typeof data === "string" ? data : decoder.decode(data, { stream: true })),
    writeError: (text: string) => void (io.stderr += text),
  };
  return io;
}

const TEXT = { json: false, verbose: false };
const JSON_MODE = { json: true, verbose: false };

Deno.test("results: human lines are terminal-safe, bytes exact, streams as they come, JSON one document", async (t) => {
  const result = output({ tag: "v1\x1b[31m" }, (v) => [`Tagged ${v.tag}`, "Digest: x"]);
  await t.step("text", async () => {
    const io = recorder();
    assertEquals(await writeResult(result, TEXT, io), 0);
    assertEquals(io.stdout, "Tagged v1\nDigest: x\n");
  });
  await t.step("--json: the value, escaped by JSON, not the text", async () => {
    const io = recorder();
    await writeResult(result, JSON_MODE, io);
    assertEquals(JSON.parse(io.stdout), { tag: "v1\x1b[31m" });
  });
  await t.step("exact bytes (a manifest as the registry sent it)", async () => {
    const io = recorder();
    await writeResult(output({}, () => new TextEncoder().encode('{"a":\r\n1}')), TEXT, io);
    assertEquals(io.stdout, '{"a":\r\n1}');
  });
  await t.step("a stream, even with --json; an exit status", async () => {
    const io = recorder();
    assertEquals(await writeResult({ stream: ["a", new TextEncoder().encode("b")] }, JSON_MODE, io), 0);
    assertEquals(io.stdout, "ab");
    assertEquals(await writeResult({ status: 3 }, JSON_MODE, io), 3);
  });
});

Deno.test("failures: an error line, the hint on its own line, and with --json the error document", async (t) => {
  const error = new PackageError('Cannot push "x": the tag exists', { hint: { kind: "force" } });
  await t.step("text", async () => {
    const io = recorder();
    assertEquals(await reportFailure(error, TEXT, io), 1);
    assertEquals(io.stderr, 'error: Cannot push "x": the tag exists\nhint: use --force to overwrite it\n');
    assertEquals(io.stdout, "");
  });
  await t.step("--json", async () => {
    const io = recorder();
    assertEquals(await reportFailure(new UsageError("Usage: kpm x"), JSON_MODE, io), 2);
    assertEquals(JSON.parse(io.stdout), { error: { message: "Usage: kpm x", status: 2 } });
    const hinted = recorder();
    await reportFailure(error, JSON_MODE, hinted);
    assertEquals(JSON.parse(hinted.stdout).error.hint, {
      kind: "force",
      text: "use --force to overwrite it",
    });
  });
});
