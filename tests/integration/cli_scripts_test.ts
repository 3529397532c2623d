/**
 * What scripts and terminals rely on, through main.ts: a closed stdout ends quietly with 0, Ctrl-C is 130 at
 * a prompt, in a transfer and for a server (typed on a pseudo-terminal), `-p` warns, `--json` push output,
 * "Attached to" with one digest, `registry serve` naming its address, and shell completion.
 */

import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { startEmbeddedRegistry } from "./support/embedded.ts";
import { hasPty, runInPty } from "./support/pty.ts";
import { describe, kpmHome, ROOT, runKpm } from "./ship_support.ts";

const MAIN = join(ROOT, "main.ts");
const KPM = [Deno.execPath(), "run", "-A", MAIN];

/** Runs a bash pipeline with `kpm` standing for main.ts; returns bash's status (pipefail) and output. */
async function pipeline(script: string, cwd: string, env: Record<string, string>) {
  const out = await new Deno.Command("bash", {
    args: ["-c", `set -o pipefail; kpm() { ${KPM.map((a) => `'${a}'`).join(" ")} "$@"; }; ${script}`],
    cwd,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

Deno.test("scripts: closed stdout, -p warning, --json push, attach, serve address, completion", async (t) => {
  await using home = await kpmHome();
  const registry = await startEmbeddedRegistry();
  const kpm = (args: string[], stdin?: string) => runKpm(MAIN, args, { cwd: home.dir, env: home.env, stdin });
  const repo = `${registry.host}/demo/hello`;
  try {
    await Deno.writeTextFile(join(home.dir, "hello.txt"), "hello\n");
    let pushed = "";
    await t.step("--json push output carries artifactType and annotations", async () => {
      const result = await kpm([
        "artifact",
        "push",
        `${repo}:v1,v2,v3`,
        "hello.txt:text/plain",
        "--artifact-type",
        "application/vnd.demo",
        "--annotation",
        "team=kcl",
        "--json",
      ]);
      assertEquals(result.code, 0, describe(result));
      const json = JSON.parse(result.stdout);
      assertEquals(json.artifactType, "application/vnd.demo");
      assertEquals(json.annotations.team, "kcl");
      assert(json.annotations["org.opencontainers.image.created"], result.stdout);
      pushed = json.digest;
    });

    await t.step("a closed stdout ends kpm quietly with status 0 (`| head -1`, `| true`)", async () => {
      let result = await pipeline(`kpm artifact tags ${repo} | head -1`, home.dir, home.env);
      assertEquals(result.code, 0, describe(result));
      assertEquals(result.stdout, "v1\n");
      assertEquals(result.stderr, "");
      result = await pipeline(`kpm completion bash | true`, home.dir, home.env);
      assertEquals(result.code, 0, describe(result));
      assertEquals(result.stderr, "");
    });

    await t.step('"Attached to" names the subject digest once', async () => {
      for (const subject of [`${repo}:v1`, `${repo}@${pushed}`]) {
        const result = await kpm([
          "artifact",
          "attach",
          "--artifact-type",
          "application/vnd.sig",
          subject,
          "hello.txt",
        ]);
        assertEquals(result.code, 0, describe(result));
        const line = result.stdout.split("\n")[0]!;
        assertEquals(line.split("@").length, 2, line);
        assertStringIncludes(line, `@${pushed}`);
      }
    });

    await t.step("-p PASSWORD warns on stderr, as docker and oras do", async () => {
      const result = await kpm(["registry", "login", "-u", "u", "-p", "secret", registry.host]);
      assertStringIncludes(result.stderr, "WARNING! Using --password via the CLI is insecure");
      assert(!result.stderr.includes("secret") && !result.stdout.includes("secret"), describe(result));
      const quiet = await kpm(
        ["registry", "login", "-u", "u", "--password-stdin", registry.host],
        "secret\n",
      );
      assert(!quiet.stderr.includes("WARNING"), describe(quiet));
    });

    await t.step("registry serve --addr 0.0.0.0:P prints it; a port in use is named", async () => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (listener.addr as Deno.NetAddr).port;
      try {
        const busy = await kpm(["registry", "serve", "--addr", `127.0.0.1:${port}`, "--root", "data"]);
        assertEquals(busy.code, 1, describe(busy));
        assertStringIncludes(busy.stderr, `Cannot listen on "127.0.0.1:${port}": address already in use`);
      } finally {
        listener.close();
      }
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", MAIN, "registry", "serve", "--addr", "0.0.0.0:0", "--root", "data"],
        cwd: home.dir,
        env: home.env,
        clearEnv: true,
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const first = (await reader.read()).value ?? "";
      child.kill("SIGTERM");
      await reader.cancel();
      await child.status;
      assert(
        /^Listening on 0\.0\.0\.0:\d+ \(every interface; http:\/\/127\.0\.0\.1:\d+ from this machine\)/.test(
          first,
        ),
        first,
      );
    });

    await t.step("kpm completion bash|zsh|fish", async () => {
      const script = join(home.dir, "kpm.bash");
      const bash = await kpm(["completion", "bash"]);
      assertEquals(bash.code, 0, describe(bash));
      await Deno.writeTextFile(script, bash.stdout);
      const complete = async (...words: string[]) =>
        (await pipeline(
          `source '${script}'; COMP_WORDS=(kpm ${
            words.join(" ")
          }); COMP_CWORD=${words.length}; _kpm; echo "\${COMPREPLY[*]}"`,
          home.dir,
          home.env,
        )).stdout.trim();
      assertEquals(await complete("arti"), "artifact");
      assertEquals(await complete("mod", "pu"), "push pull");
      assertEquals(await complete("artifact", "pull", "x", "--media"), "--media-type");
      for (const shell of ["zsh", "fish"]) {
        const result = await kpm(["completion", shell]);
        assertEquals(result.code, 0, describe(result));
        assertStringIncludes(result.stdout, "artifact");
      }
      const unknown = await kpm(["completion", "tcsh"]);
      assertEquals(unknown.code, 2, describe(unknown));
    });
  } finally {
    await registry.close();
  }
});

Deno.test({
  name: "Ctrl-C ends kpm with 130: at the user and password prompts, in a transfer, in registry serve",
  ignore: !hasPty,
  fn: async (t) => {
    await using home = await kpmHome();
    // a registry that does not answer until the test ends: the transfer waits until Ctrl-C
    const { promise: released, resolve: release } = Promise.withResolvers<void>();
    const hanging = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => released.then(() => new Response("closing", { status: 503 })),
    );
    const host = `127.0.0.1:${hanging.addr.port}`;
    const cases: [string, string[], string][] = [
      ["user prompt", ["registry", "login", host], "Username: "],
      ["password prompt (raw mode)", ["registry", "login", "-u", "u", host], "Password: "],
      ["transfer", ["artifact", "pull", `${host}/a/b:1`, "-v"], `GET http://${host}/v2/`],
      ["registry serve", ["registry", "serve", "--addr", "127.0.0.1:0", "--root", "data"], "Listening on"],
    ];
    try {
      for (const [name, args, prompt] of cases) {
        await t.step(name, async () => {
          const result = await runInPty([...KPM, ...args], {
            cwd: home.dir,
            env: home.env,
            send: [[prompt, "\x03"]],
          });
          assertEquals(result.code, 130, result.output);
          assert(!result.output.includes("error:"), result.output);
        });
      }
    } finally {
      release();
      await hanging.shutdown();
    }
  },
});
