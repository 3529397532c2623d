/**
 * `alias oras='kpm artifact'`: seed 003's command lines verbatim (push with media types, pull -t, pull -a,
 * pull -u -p, the container's /workspace), and the ORAS spellings (manifest fetch|push|delete, blob
 * fetch|push|delete, repo ls|tags, resolve, --format json, --oci-layout, layout archives, --export-manifest,
 * --disable-path-validation, --include-subject, --platform, discover as a tree, Uploaded/Exists states, a
 * --media-type that matches nothing), through main.ts against the embedded registry.
 */

import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { startEmbeddedRegistry } from "./support/embedded.ts";
import { describe, kpmHome, ROOT, runKpm } from "./ship_support.ts";

const MAIN = join(ROOT, "main.ts");
const USER = { username: "test", password: "1234" };

Deno.test("seed 003's oras lines work verbatim with kpm artifact", async (t) => {
  await using home = await kpmHome();
  const registry = await startEmbeddedRegistry({ users: [USER] });
  const host = registry.host.replace(/^127\.0\.0\.1:/, "localhost:");
  const oras = (line: string, cwd = home.dir, stdin?: string) =>
    runKpm(MAIN, ["artifact", ...line.split(" ")], { cwd, env: home.env, stdin });
  try {
    await Deno.writeTextFile(join(home.dir, "hi.txt"), "hi\n");
    await Deno.writeTextFile(join(home.dir, "bye.txt"), "bye\n");
    await t.step("pull -u USER -p PASS REF on a fresh machine (nothing stored)", async () => {
      const push = await oras(`push ${host}/hello:latest hi.txt -u test -p 1234`);
      assertEquals(push.code, 0, describe(push));
      const out = join(home.dir, "fresh");
      await Deno.mkdir(out);
      const result = await oras(`pull -u test -p 1234 ${host}/hello:latest`, out);
      assertEquals(result.code, 0, describe(result));
      assertStringIncludes(result.stderr, "WARNING! Using --password via the CLI is insecure");
      assertEquals(await Deno.readTextFile(join(out, "hi.txt")), "hi\n");
      const wrong = await oras(`pull -u test -p nope ${host}/hello:latest`, out);
      assertEquals(wrong.code, 1, describe(wrong));
    });
    const login = await runKpm(MAIN, ["registry", "login", "-u", "test", "--password-stdin", host], {
      cwd: home.dir,
      env: home.env,
      stdin: "1234\n",
    });
    assertEquals(login.code, 0, describe(login));
    await t.step("push REF hi.txt:application/vnd.me.hi bye.txt:application/vnd.me.bye", async () => {
      const result = await oras(
        `push ${host}/hello:latest hi.txt:application/vnd.me.hi bye.txt:application/vnd.me.bye`,
      );
      assertEquals(result.code, 0, describe(result));
      const manifest = JSON.parse((await oras(`manifest fetch ${host}/hello:latest`)).stdout);
      assertEquals(manifest.layers.map((l: { mediaType: string }) => l.mediaType), [
        "application/vnd.me.hi",
        "application/vnd.me.bye",
      ]);
    });
    await t.step("pull REF -t TYPE takes only that type; -a takes all", async () => {
      for (
        const [flags, files] of [["-t application/vnd.me.hi", ["hi.txt"]], ["-a", [
          "bye.txt",
          "hi.txt",
        ]]] as const
      ) {
        const out = join(home.dir, `out${flags.length}`);
        await Deno.mkdir(out);
        const result = await oras(`pull ${host}/hello:latest ${flags}`, out);
        assertEquals(result.code, 0, describe(result));
        assertEquals([...Deno.readDirSync(out)].map((e) => e.name).sort(), [...files]);
      }
    });
    await t.step("the container works in /workspace: the Dockerfile's working folder", async () => {
      const dockerfile = await Deno.readTextFile(join(ROOT, "Dockerfile"));
      const runtime = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
      assert(/^WORKDIR \/workspace$/m.test(runtime), "WORKDIR /workspace in the runtime stage");
      assert(/^ENTRYPOINT \["kpm"\]$/m.test(runtime), "kpm is the entry point");
      // `docker run -it --rm -v $(pwd):/workspace IMAGE help`, and a pull into the mounted folder
      const workspace = join(home.dir, "workspace");
      await Deno.mkdir(workspace);
      const help = await runKpm(MAIN, ["help"], { cwd: workspace, env: home.env });
      assertEquals(help.code, 0, describe(help));
      assertStringIncludes(help.stdout, "artifact pull");
      const pulled = await oras(`pull ${host}/hello:latest -a`, workspace);
      assertEquals(pulled.code, 0, describe(pulled));
      assertEquals(await Deno.readTextFile(join(workspace, "bye.txt")), "bye\n");
    });
  } finally {
    await registry.close();
  }
});

Deno.test("ORAS spellings: manifest, blob, repo, resolve, layouts, discover, states", async (t) => {
  await using home = await kpmHome();
  const registry = await startEmbeddedRegistry({ delete: true });
  const repo = `${registry.host}/demo/app`;
  const kpm = (args: string[], stdin?: string) =>
    runKpm(MAIN, ["artifact", ...args], { cwd: home.dir, env: home.env, stdin });
  const ok = async (args: string[], stdin?: string) => {
    const result = await kpm(args, stdin);
    assertEquals(result.code, 0, describe(result));
    return result;
  };
  try {
    await Deno.writeTextFile(join(home.dir, "a.txt"), "alpha\n");
    await Deno.writeTextFile(join(home.dir, "b.txt"), "beta\n");
    let digest = "";
    await t.step(
      "push reports Uploaded, then Exists for a blob the registry has; --export-manifest",
      async () => {
        let result = await ok(["push", `${repo}:v1`, "a.txt", "--export-manifest", "exported.json"]);
        assertStringIncludes(result.stderr, "Uploaded  a.txt");
        result = await ok(["push", `${repo}:v2`, "a.txt", "b.txt"]);
        assertStringIncludes(result.stderr, "Exists    a.txt");
        assertStringIncludes(result.stderr, "Uploaded  b.txt");
        digest = /Digest: (\S+)/.exec(result.stdout)![1]!;
        const exported = await Deno.readFile(join(home.dir, "exported.json"));
        const fetched = await ok(["manifest", "fetch", `${repo}:v1`]);
        assertEquals(new TextDecoder().decode(exported), fetched.stdout);
      },
    );
    await t.step("resolve, repo tags --last, repo ls with a namespace and --last", async () => {
      assertEquals((await ok(["resolve", `${repo}:v2`])).stdout, `${digest}\n`);
      assertEquals((await ok(["resolve", `${repo}:v2`, "-l"])).stdout, `${repo}@${digest}\n`);
      assertEquals((await ok(["repo", "tags", repo, "--last", "v1"])).stdout, "v2\n");
      await ok(["push", `${registry.host}/demo/zeta:1`, "a.txt"]);
      await ok(["push", `${registry.host}/other/x:1`, "a.txt"]);
      assertEquals((await ok(["repo", "ls", registry.host])).stdout, "demo/app\ndemo/zeta\nother/x\n");
      assertEquals((await ok(["repo", "ls", `${registry.host}/demo`])).stdout, "app\nzeta\n");
      assertEquals((await ok(["repo", "ls", registry.host, "--last", "demo/zeta"])).stdout, "other/x\n");
    });
    await t.step(
      "blob fetch -o - writes the bytes to stdout; --descriptor; blob push and delete",
      async () => {
        const manifest = JSON.parse((await ok(["manifest", "fetch", `${repo}:v2`, "--pretty"])).stdout);
        const layer = manifest.layers[1];
        assertEquals((await ok(["blob", "fetch", `${repo}@${layer.digest}`, "-o", "-"])).stdout, "beta\n");
        assertEquals(
          JSON.parse((await ok(["blob", "fetch", `${repo}@${layer.digest}`, "--descriptor"])).stdout).size,
          5,
        );
        const pushed = JSON.parse(
          (await ok(["blob", "push", repo, "-", "--format", "json"], "gamma")).stdout,
        );
        assertEquals(pushed.size, 5);
        assertEquals((await ok(["blob", "fetch", `${repo}@${pushed.digest}`, "-o", "-"])).stdout, "gamma");
        const refused = await kpm(["blob", "delete", `${repo}@${pushed.digest}`]);
        assertEquals(refused.code, 2, describe(refused));
        assertStringIncludes(refused.stderr, "add -f");
        await ok(["blob", "delete", `${repo}@${pushed.digest}`, "-f"]);
        assertEquals((await kpm(["blob", "fetch", `${repo}@${pushed.digest}`, "-o", "-"])).code, 1);
      },
    );
    await t.step("manifest push from a file and stdin, then manifest delete -f", async () => {
      const bytes = (await ok(["manifest", "fetch", `${repo}:v1`])).stdout;
      await Deno.writeTextFile(join(home.dir, "m.json"), bytes);
      const pushed = await ok(["manifest", "push", `${repo}:copy`, "m.json"]);
      assertStringIncludes(pushed.stdout, (await ok(["resolve", `${repo}:v1`])).stdout.trim());
      await ok(["manifest", "push", `${repo}:copy2`, "-"], bytes);
      await ok(["manifest", "delete", `${repo}:copy2`, "-f"]);
      assertEquals(
        (await kpm(["resolve", `${repo}:v1`])).code,
        1,
        "the digest is gone, with every tag on it",
      );
    });
    await t.step(
      "--platform picks a manifest of an index; without it, an index of two is an error",
      async () => {
        const amd = JSON.parse((await ok(["push", `${repo}:amd`, "a.txt", "--json"])).stdout);
        const arm = JSON.parse((await ok(["push", `${repo}:arm`, "b.txt", "--json"])).stdout);
        const entry = (d: { digest: string; size: number }, architecture: string) => ({
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: d.digest,
          size: d.size,
          platform: { os: "linux", architecture },
        });
        const index = {
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.index.v1+json",
          manifests: [entry(amd, "amd64"), entry(arm, "arm64")],
        };
        await ok(["manifest", "push", `${repo}:multi`, "-"], JSON.stringify(index));
        const out = join(home.dir, "arm");
        await ok(["pull", `${repo}:multi`, "--platform", "linux/arm64", "-o", out]);
        assertEquals([...Deno.readDirSync(out)].map((e) => e.name), ["b.txt"]);
        assertEquals(
          (await ok(["resolve", `${repo}:multi`, "--platform", "linux/amd64"])).stdout.trim(),
          amd.digest,
        );
        const ambiguous = await kpm(["pull", `${repo}:multi`, "-o", out]);
        assertEquals(ambiguous.code, 1, describe(ambiguous));
        assertStringIncludes(ambiguous.stderr, "--platform");
      },
    );
    await t.step("a --media-type that matches nothing is an error naming what is there", async () => {
      const result = await kpm(["pull", `${repo}:v2`, "-t", "application/nothing", "-o", "none"]);
      assertEquals(result.code, 1, describe(result));
      assertStringIncludes(result.stderr, 'no layer has media type "application/nothing"');
    });
    await t.step("discover shows every level; pull --include-subject pulls the subject too", async () => {
      const sig = JSON.parse(
        (await ok(["attach", "--artifact-type", "sig", `${repo}:v2`, "a.txt", "--json"])).stdout,
      );
      await ok(["attach", "--artifact-type", "sig-of-sig", `${repo}@${sig.digest}`, "b.txt"]);
      const tree = (await ok(["discover", `${repo}:v2`])).stdout.split("\n");
      assertEquals(tree[1], "└── sig");
      assertEquals(tree[2], `    └── ${sig.digest}`);
      assertEquals(tree[3], "        └── sig-of-sig");
      assertEquals((await ok(["discover", `${repo}:v2`, "--depth", "1"])).stdout.split("\n").length, 4);
      const out = join(home.dir, "with-subject");
      await ok(["pull", `${repo}@${sig.digest}`, "--include-subject", "-o", out]);
      assertEquals([...Deno.readDirSync(out)].map((e) => e.name).sort(), ["a.txt", "b.txt"]);
    });
    await t.step("--oci-layout, --oci-layout-path and a layout tar archive (read)", async () => {
      const layout = join(home.dir, "layout");
      await ok(["copy", `${repo}:v2`, "layout:v2", "--to-oci-layout"]);
      assertEquals((await ok(["tags", "--oci-layout", "layout"])).stdout, "v2\n");
      assertEquals((await ok(["resolve", "--oci-layout-path", "layout", "v2"])).stdout.trim(), digest);
      const tar = await new Deno.Command("tar", {
        args: ["-C", layout, "-cf", join(home.dir, "layout.tar"), "."],
      }).output();
      assert(tar.success);
      const out = join(home.dir, "from-tar");
      await ok(["pull", "--oci-layout", "layout.tar:v2", "-o", out]);
      assertEquals(await Deno.readTextFile(join(out, "b.txt")), "beta\n");
      const write = await kpm(["push", "--oci-layout", "layout.tar:v3", "a.txt"]);
      assertEquals(write.code, 2, describe(write));
    });
    await t.step("--disable-path-validation pushes an absolute path, titled as given", async () => {
      const absolute = join(home.dir, "a.txt");
      assertEquals((await kpm(["push", `${repo}:abs`, absolute])).code, 1);
      await ok(["push", `${repo}:abs`, absolute, "--disable-path-validation"]);
      const manifest = JSON.parse((await ok(["manifest", "fetch", `${repo}:abs`])).stdout);
      assertEquals(manifest.layers[0].annotations["org.opencontainers.image.title"], absolute);
    });
    await t.step("--format json is --json; another format is a usage error", async () => {
      assertEquals(
        JSON.parse((await ok(["repo", "tags", repo, "--format", "json"])).stdout).repository,
        repo,
      );
      assertEquals((await kpm(["repo", "tags", repo, "--format", "go-template"])).code, 2);
    });
  } finally {
    await registry.close();
  }
});
