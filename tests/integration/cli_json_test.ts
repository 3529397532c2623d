/**
 * `--json` prints exactly one JSON document on stdout for every command of the table that has output: its
 * result on success, an `{"error": {message, status}}` document on failure. The loop goes over the command
 * table, so a new command without a case here fails. Commands run in-process against kpm's embedded registry;
 * the two servers run as processes (their document comes when they listen, and nothing more when they stop).
 */

import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { COMMANDS } from "../../lib/cli/commands.ts";
import { startEmbeddedRegistry } from "./support/embedded.ts";
import { kpmInProcess } from "./support/kpm_cli.ts";
import { describe, kpmHome, type KpmResult, ROOT } from "./ship_support.ts";
import { freePort } from "./support/ports.ts";

/** Commands whose stdout is a stream, not a document: what they print is named in the reason. */
const STREAMS: Record<string, string> = {
  run: "the KCL compiler's own output",
  completion: "a shell script",
};

/** Parses stdout as exactly one JSON document (two documents, or text around one, do not parse). */
function oneDocument(result: KpmResult): Record<string, unknown> {
  assert(result.stdout.endsWith("}\n"), describe(result));
  return JSON.parse(result.stdout);
}

/** Starts a server command of kpm as a process with --json; returns its document and, once stopped, its stdout. */
async function serverDocument(args: string[], env: Record<string, string>, cwd: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "main.ts"), ...args, "--json"],
    env,
    clearEnv: true,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  let document: Record<string, unknown> | undefined;
  while (document === undefined) {
    const { done, value } = await reader.read();
    if (done) break;
    stdout += value;
    try {
      document = JSON.parse(stdout);
    } catch { /* not complete yet */ }
  }
  child.kill("SIGTERM");
  for (let next = await reader.read(); !next.done; next = await reader.read()) stdout += next.value;
  await child.stderr.cancel();
  await child.status;
  return { document, stdout };
}

Deno.test("--json: every command prints exactly one JSON document, on success and on failure", async (t) => {
  await using home = await kpmHome();
  const registry = await startEmbeddedRegistry({ delete: true });
  const locked = await startEmbeddedRegistry({ users: [{ username: "ci", password: "secret" }] });
  const host = registry.host;
  const down = `127.0.0.1:${freePort()}`;
  const env = { ...home.env, KPM_REG: host, KPM_REPO: "test", KPM_SIGN_PASSWORD: "pw" };
  const work = home.dir;
  const app = join(work, "app");
  const pkg = join(work, "pkg");
  const empty = join(work, "empty");
  await Deno.mkdir(empty);
  await Deno.writeTextFile(join(work, "hi.txt"), "hi");
  const kpm = (args: string[], cwd = work) => kpmInProcess([...args, "--json"], cwd, env);
  /** The layer digest of host/art:v1, once pushed. */
  let layer = "";
  /** Per command (its path): a representative invocation that succeeds, then one that fails. */
  type Case = {
    ok: [string[], string?];
    fail: [string[], string?];
    after?: (doc: Record<string, unknown>) => void;
  };
  const cases: Record<string, Case> = {
    "registry login": {
      ok: [["registry", "login", locked.host, "-u", "ci", "-p", "secret"]],
      fail: [["registry", "login", locked.host, "-u", "ci", "-p", "wrong"]],
    },
    "registry logout": { ok: [["registry", "logout", locked.host]], fail: [["registry", "logout", "::"]] },
    "registry gc": {
      ok: [["registry", "gc", "--root", join(work, "served"), "--dry-run"]],
      fail: [["registry", "gc", "--root", join(work, "hi.txt")]],
    },
    "mod init": { ok: [["mod", "init", "pkg"]], fail: [["mod", "init", "Bad Name!"]] },
    "mod push": { ok: [["mod", "push"], pkg], fail: [["mod", "push"], empty] },
    "mod pull": {
      ok: [["mod", "pull", "pkg:0.0.1", join(work, "pulled")]],
      fail: [["mod", "pull", `oci://${down}/test/pkg`, "--tag", "1"]],
    },
    "mod add": { ok: [["mod", "add", "pkg:0.0.1"], app], fail: [["mod", "add", "pkg:0.0.1"], empty] },
    "mod update": { ok: [["mod", "update"], app], fail: [["mod", "update"], empty] },
    "mod graph": { ok: [["mod", "graph"], app], fail: [["mod", "graph"], empty] },
    "mod metadata": { ok: [["mod", "metadata"], app], fail: [["mod", "metadata"], empty] },
    "mod pkg": { ok: [["mod", "pkg", "--target", join(work, "app.tar")], app], fail: [["mod", "pkg"], app] },
    "mod remove": { ok: [["mod", "remove", "pkg"], app], fail: [["mod", "remove", "nope"], app] },
    "config": { ok: [["config"]], fail: [["config", "--timeout", "soon"]] },
    "config set": {
      ok: [["config", "set", "DefaultOciRepo", "test"]],
      fail: [["config", "set", "NoSuchKey", "x"]],
    },
    "config unset": { ok: [["config", "unset", "DefaultOciRepo"]], fail: [["config", "unset", "NoSuchKey"]] },
    "artifact push": {
      ok: [["artifact", "push", `${host}/art:v1`, "hi.txt"]],
      fail: [["artifact", "push", `${down}/art:v1`, "hi.txt"]],
      after: (doc) => layer = (doc.layers as { digest: string }[])[0]!.digest,
    },
    "artifact pull": {
      ok: [["artifact", "pull", `${host}/art:v1`, "-o", "out"]],
      fail: [["artifact", "pull", `${down}/art:v1`]],
    },
    "artifact copy": {
      ok: [["artifact", "copy", `${host}/art:v1`, `${host}/art2:v1`]],
      fail: [["artifact", "copy", `${down}/art:v1`, `${host}/art2:v1`]],
    },
    "artifact tag": {
      ok: [["artifact", "tag", `${host}/art:v1`, "v2"]],
      fail: [["artifact", "tag", `${host}/art:nope`, "v2"]],
    },
    "artifact tags": {
      ok: [["artifact", "tags", `${host}/art`]],
      fail: [["artifact", "tags", `${down}/art`]],
    },
    "artifact manifest": {
      // with --json, -o FILE still writes the manifest (manifest push below reads it)
      ok: [["artifact", "manifest", `${host}/art:v1`, "-o", "manifest.json"]],
      fail: [["artifact", "manifest", `${host}/art:nope`]],
    },
    "artifact blob": {
      ok: [["artifact", "blob", `${host}/art@LAYER`, "-o", "blob.bin"]],
      fail: [["artifact", "blob", `${host}/art:v1`, "-o", "blob.bin"]],
    },
    "artifact attach": {
      ok: [["artifact", "attach", "--artifact-type", "x/y", `${host}/art:v1`, "hi.txt"]],
      fail: [["artifact", "attach", `${host}/art:v1`, "hi.txt"]],
    },
    "artifact discover": {
      ok: [["artifact", "discover", `${host}/art:v1`]],
      fail: [["artifact", "discover", `${host}/art:v1`, "--depth", "0"]],
    },
    "artifact manifest push": {
      ok: [["artifact", "manifest", "push", `${host}/art:v3`, "manifest.json"]],
      fail: [["artifact", "manifest", "push", `${host}/art:v3`, "hi.txt"]],
    },
    "artifact blob push": {
      ok: [["artifact", "blob", "push", `${host}/art4`, "hi.txt"]],
      fail: [["artifact", "blob", "push", `${down}/art4`, "hi.txt"]],
    },
    "artifact blob delete": {
      ok: [["artifact", "blob", "delete", `${host}/art2@LAYER`, "-f"]],
      fail: [["artifact", "blob", "delete", `${host}/art2:v1`, "-f"]],
    },
    "artifact manifest delete": {
      ok: [["artifact", "manifest", "delete", `${host}/art2:v1`, "-f"]],
      fail: [["artifact", "manifest", "delete", `${host}/art2:v1`]],
    },
    "artifact repo ls": { ok: [["artifact", "repo", "ls", host]], fail: [["artifact", "repo", "ls", down]] },
    "artifact resolve": {
      ok: [["artifact", "resolve", `${host}/art:v1`]],
      fail: [["artifact", "resolve", `${host}/art:nope`]],
    },
    "artifact keygen": { ok: [["artifact", "keygen"]], fail: [["artifact", "keygen"]] },
    "artifact sign": {
      ok: [["artifact", "sign", `${host}/art:v1`, "--key", "cosign.key"]],
      fail: [["artifact", "sign", `${host}/art:v1`, "--key", "missing.key"]],
    },
    "artifact verify": {
      ok: [["artifact", "verify", `${host}/art:v1`, "--key", "cosign.pub"]],
      fail: [["artifact", "verify", `${host}/art2:nope`, "--key", "cosign.pub"]],
    },
  };
  try {
    await t.step("the cases cover the command table", () => {
      const servers = ["registry serve", "chart-repo serve"];
      const named = COMMANDS.map((c) => c.path.join(" ")).filter((p) =>
        !(p in STREAMS) && !servers.includes(p)
      );
      assertEquals(named.filter((p) => !(p in cases)), []);
    });
    await t.step(
      "registry serve and chart-repo serve: one document when they listen (the registry folder is gc's below)",
      async () => {
        for (
          const args of [
            ["registry", "serve", "--addr", "127.0.0.1:0", "--root", join(work, "served")],
            ["chart-repo", "serve", "--addr", "127.0.0.1", "--port", "0", "--storage-registry-repo", host],
          ]
        ) {
          const { document, stdout } = await serverDocument(args, env, work);
          assert(typeof document?.url === "string", stdout);
          assertEquals(JSON.parse(stdout), document);
        }
      },
    );
    await kpm(["mod", "init", "app"]);
    for (const [path, c] of Object.entries(cases)) {
      await t.step(path, async () => {
        const withLayer = (args: string[]) => args.map((a) => a.replace("LAYER", layer));
        const ok = await kpm(withLayer(c.ok[0]), c.ok[1]);
        assertEquals(ok.code, 0, describe(ok));
        const document = oneDocument(ok);
        assert(!("error" in document), describe(ok));
        c.after?.(document);
        const failed = await kpm(withLayer(c.fail[0]), c.fail[1]);
        assert(failed.code === 1 || failed.code === 2, describe(failed));
        assertEquals((oneDocument(failed).error as { status: number }).status, failed.code, describe(failed));
      });
    }
    for (const [path, what] of Object.entries(STREAMS)) {
      await t.step(`${path} (its success prints ${what}): a failure is one error document`, async () => {
        const failed = await kpm(path === "run" ? ["run"] : ["completion", "tcsh"], empty);
        assert(failed.code === 1 || failed.code === 2, describe(failed));
        assertEquals((oneDocument(failed).error as { status: number }).status, failed.code, describe(failed));
      });
    }
  } finally {
    await registry.close();
    await locked.close();
  }
});
