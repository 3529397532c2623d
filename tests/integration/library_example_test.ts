/**
 * examples/simple_push_pull.ts (the ORAS Go README example, translated) run as a script: against kpm's
 * embedded registry, against the CNCF distribution registry with htpasswd auth (credentials from a docker
 * config file), and imported from an http URL with `--no-config` and the minimal permissions, the way scripts
 * in containers use it.
 */

import { join } from "node:path";
import { Client, staticCredentials } from "../../mod.ts";
import { assert, assertEquals } from "../assert.ts";
import { describe, kpmHome, ROOT, runKpm, serveStatic } from "./ship_support.ts";
import { startDistribution } from "./support/distribution.ts";
import { startEmbeddedRegistry } from "./support/embedded.ts";
import { ignoreWithoutPeers } from "./support/peers.ts";

const MINIMAL = ["--allow-net", "--allow-read", "--allow-write", "--allow-env"];

/** Runs the example in an empty folder of a temporary home and checks its output and the file it wrote. */
async function runExample(
  entry: string,
  ref: string,
  home: { dir: string; env: Record<string, string> },
  denoArgs: string[] = ["-A"],
): Promise<void> {
  const cwd = await Deno.makeTempDir({ dir: home.dir });
  const result = await runKpm(entry, [ref], { denoArgs, cwd, env: home.env });
  assertEquals(result.code, 0, describe(result));
  const lines = result.stdout.trimEnd().split("\n");
  assertEquals(lines[0], `Pushing hello.txt to ${ref}...`);
  assert(/^Pushed to .+ with digest sha256:[0-9a-f]{64}$/.test(lines[1]!), describe(result));
  assertEquals(lines[2], `Pulling from ${ref} and saving to hello.txt...`);
  assertEquals(
    lines[3],
    lines[1]!.replace(/^Pushed to/, "Pulled from"),
    "the pulled digest is the pushed one",
  );
  assertEquals(lines[4], "Try running 'cat hello.txt'");
  assertEquals(await Deno.readTextFile(join(cwd, "hello.txt")), "Hello World!\n");
  assertEquals([...Deno.readDirSync(cwd)].map((e) => e.name), ["hello.txt"]);
}

/** Checks the pushed artifact: one layer, titled hello.txt, of the custom media type. */
async function checkArtifact(ref: string, client = new Client()): Promise<void> {
  const { manifest } = await client.repository(ref).fetchManifest("test");
  assert("layers" in manifest);
  assertEquals(manifest.layers.map((l) => [l.mediaType, l.annotations?.["org.opencontainers.image.title"]]), [
    ["my.custom.media.type", "hello.txt"],
  ]);
}

Deno.test("examples/simple_push_pull.ts pushes and pulls against the embedded registry", async () => {
  const registry = await startEmbeddedRegistry();
  await using home = await kpmHome();
  try {
    const ref = `${registry.host}/oras:test`;
    await runExample(join(ROOT, "examples", "simple_push_pull.ts"), ref, home);
    await checkArtifact(ref);
  } finally {
    await registry.close();
  }
});

Deno.test({
  name: "examples/simple_push_pull.ts works against distribution with credentials from the docker config",
  ignore: await ignoreWithoutPeers(["docker-registry", "htpasswd"]),
  async fn() {
    const registry = await startDistribution({ auth: "htpasswd" });
    await using home = await kpmHome();
    try {
      const user = registry.users[0]!;
      await Deno.mkdir(join(home.dir, "docker"));
      const auth = btoa(`${user.username}:${user.password}`);
      await Deno.writeTextFile(
        join(home.dir, "docker", "config.json"),
        JSON.stringify({ auths: { [registry.host]: { auth } } }),
      );
      const ref = `${registry.host}/oras:test`;
      await runExample(join(ROOT, "examples", "simple_push_pull.ts"), ref, home);
      await checkArtifact(ref, new Client({ credentials: staticCredentials({ [registry.host]: user }) }));
    } finally {
      await registry.close();
    }
  },
});

Deno.test("examples/simple_push_pull.ts runs imported from an http URL with --no-config", async () => {
  const server = serveStatic(ROOT);
  const registry = await startEmbeddedRegistry();
  await using home = await kpmHome();
  try {
    const ref = `${registry.host}/oras:test`;
    const denoArgs = ["--no-config", `--reload=${server.origin}`, ...MINIMAL];
    await runExample(`${server.origin}/examples/simple_push_pull.ts`, ref, home, denoArgs);
    assert(
      server.served.includes("/mod.ts") && server.served.includes("/lib/api/push.ts"),
      "the code came over http",
    );
    assert(!server.served.includes("/deno.json"), "no configuration file is read");
    await checkArtifact(ref);
  } finally {
    await registry.close();
    await server.close();
  }
});
