/**
 * A git source the attacker controls: a server that accepts and never answers is given up after the idle
 * timeout (`--timeout`), Ctrl-C stops git and its helpers, neither leaves a half-written clone; a git that
 * prints without end does not fill kpm's memory; and a kcl.mod's URL cannot make git run a command through
 * `ext::` or another remote helper (`name::…`), whatever the user's git config allows.
 */

import { join } from "node:path";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { hasGit } from "../git_support.ts";
import { describe, type KpmHome, kpmHome, ROOT, runKpm } from "../integration/ship_support.ts";
import { fetchGitPackage } from "../../lib/kpm/git_package.ts";
import { GIT_STDERR_TAIL_BYTES } from "../../lib/kpm/git_command.ts";
import { PackageError } from "../../lib/kpm/errors.ts";
import { tempRoot } from "../../lib/kpm/cache.ts";

const MAIN = join(ROOT, "main.ts");
/** A safety net only: a kpm (or a git left behind) that hangs fails the test instead of blocking the suite. */
const HANG_MS = 60_000;

/** A TCP server on 127.0.0.1 that accepts connections and never answers; `closed` settles when the first ends. */
function silentServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const { promise: accepted, resolve: accept } = Promise.withResolvers<Deno.Conn>();
  (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      accept(conn);
    }
  })().catch(() => {});
  /** Settles true when the first connection is closed by the peer (false after HANG_MS). */
  const closed = async () => {
    const conn = await accepted;
    const buffer = new Uint8Array(64 * 1024);
    const timer = new Promise<false>((resolve) => setTimeout(() => resolve(false), HANG_MS));
    const read = (async () => {
      while ((await conn.read(buffer).catch(() => null)) !== null) {
        // the request git sent
      }
      return true;
    })();
    return await Promise.race([read, timer]);
  };
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/evil/pkg.git`,
    accepted,
    closed,
    close() {
      listener.close();
      for (const conn of conns) conn.close();
    },
  };
}

/** A kpm home with an initialised package `app`. */
async function appHome(): Promise<KpmHome & { app: string }> {
  const home = await kpmHome();
  const app = join(home.dir, "app");
  const result = await runKpm(MAIN, ["mod", "init", "app"], { cwd: home.dir, env: home.env });
  assertEquals(result.code, 0, describe(result));
  return Object.assign(home, { app });
}

/** The clone folders left in the cache's temporary folder (which the clone made). */
async function leftovers(home: KpmHome): Promise<string[]> {
  const entries = await Array.fromAsync(Deno.readDir(tempRoot(home.env.KCL_PKG_PATH!)));
  return entries.map((entry) => entry.name).filter((name) => name.startsWith("git-"));
}

Deno.test(
  { name: "a git server that never answers is given up after --timeout, leaving no clone", ignore: !hasGit },
  async () => {
    await using home = await appHome();
    const server = silentServer();
    try {
      const result = await runKpm(
        MAIN,
        ["mod", "add", "--git", server.url, "--tag", "v1", "--timeout", "1s"],
        {
          cwd: home.app,
          env: home.env,
          signal: AbortSignal.timeout(HANG_MS),
        },
      );
      assertEquals(result.code, 1, describe(result));
      assertStringIncludes(
        result.stderr,
        `error: Cannot clone "${server.url}" at "v1": git made no progress for 1 s, so kpm stopped it`,
      );
      assert(await server.closed(), "git's helper (git-remote-http) still holds the connection");
      assertEquals(await leftovers(home), []);
    } finally {
      server.close();
    }
  },
);

Deno.test(
  { name: "Ctrl-C during a git clone stops git and its helpers, leaving no clone", ignore: !hasGit },
  async () => {
    await using home = await appHome();
    const server = silentServer();
    try {
      const result = await runKpm(MAIN, ["mod", "add", "--git", server.url, "--tag", "v1"], {
        cwd: home.app,
        env: home.env,
        interrupt: server.accepted,
        signal: AbortSignal.timeout(HANG_MS),
      });
      assertEquals(result.code, 130, describe(result));
      assert(!result.stderr.includes("error:"), describe(result));
      assert(await server.closed(), "git's helper (git-remote-http) still holds the connection");
      assertEquals(await leftovers(home), []);
    } finally {
      server.close();
    }
  },
);

Deno.test("a git that prints without end leaves a one-line error of bounded size", async () => {
  await using home = await kpmHome();
  const gitBin = join(home.dir, "noisy-git");
  // 8 MiB of progress-like output without a newline, then a failure
  await Deno.writeTextFile(gitBin, "#!/bin/sh\nhead -c 8388608 /dev/zero | tr '\\0' x >&2\nexit 1\n", {
    mode: 0o755,
  });
  const error = await assertRejects(
    () => fetchGitPackage({ url: "https://127.0.0.1:9/x.git", tag: "v1" }, { home: home.dir, gitBin }),
    PackageError,
    'Cannot clone "https://127.0.0.1:9/x.git" at "v1": xxxx',
  );
  assert(
    error.message.length < GIT_STDERR_TAIL_BYTES + 100,
    `a message of ${error.message.length} characters`,
  );
});

Deno.test(
  { name: "a kcl.mod's git URL cannot run a command through ext:: or a remote helper", ignore: !hasGit },
  async (t) => {
    await using home = await appHome();
    const bin = join(home.dir, "bin");
    const marker = join(home.dir, "owned");
    await Deno.mkdir(bin);
    const script = `#!/bin/sh\ntouch ${marker}\n`;
    await Deno.writeTextFile(join(bin, "git-remote-evil"), script, { mode: 0o755 });
    await Deno.writeTextFile(join(bin, "evil.sh"), script, { mode: 0o755 });
    // the user allows ext:: for their own repositories; a kcl.mod from elsewhere must not use that
    await Deno.writeTextFile(join(home.dir, ".gitconfig"), '[protocol "ext"]\n\tallow = always\n');
    const env = { ...home.env, PATH: `${bin}:${home.env.PATH}` };
    const cases: [string, string][] = [
      ["evil::payload", "transport 'evil' not allowed"],
      [`ext::${join(bin, "evil.sh")}`, "transport 'ext' not allowed"],
    ];
    for (const [url, says] of cases) {
      await t.step(url, async () => {
        await Deno.writeTextFile(
          join(home.app, "kcl.mod"),
          `[package]\nname = "app"\nversion = "0.0.1"\n\n[dependencies]\ndep = { git = "${url}", tag = "v1" }\n`,
        );
        const result = await runKpm(MAIN, ["mod", "update"], {
          cwd: home.app,
          env,
          signal: AbortSignal.timeout(HANG_MS),
        });
        assertEquals(result.code, 1, describe(result));
        assertStringIncludes(result.stderr, `error: Cannot clone "${url}" at "v1": ${says}`);
        assert(!(await Deno.stat(marker).then(() => true, () => false)), "git ran the URL's command");
      });
    }
  },
);
