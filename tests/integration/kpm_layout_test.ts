/**
 * KCL packages are ordinary artifacts: `kpm mod push` writes to an OCI image-layout folder as `kpm artifact
 * push` does (`oci-layout:DIR[:TAG]`, `--oci-layout DIR`), with the same layer bytes, the --force check and
 * --sign; real tools (skopeo's `oci:` transport, the ORAS CLI's `--oci-layout`) read the layout, skopeo copies
 * it into a registry, and `kpm mod add` takes the package from there.
 */

import { join } from "node:path";
import { packPackage } from "../../lib/kpm/package.ts";
import { digestStream } from "../../lib/oci/digest.ts";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { startEmbeddedRegistry } from "./support/embedded.ts";
import { ignoreWithoutPeers, runPeer } from "./support/peers.ts";
import { describe, kpmHome, type KpmResult, ROOT, runKpm } from "./ship_support.ts";

const MAIN = join(ROOT, "main.ts");

/** A kpm runner in a temporary home, and a package `dep` 0.1.0 in `HOME/dep`. */
async function setUp(home: { dir: string; env: Record<string, string> }) {
  const env = { ...home.env, KPM_SIGN_PASSWORD: "s3cret" };
  const kpm = (args: string[], cwd = home.dir) => runKpm(MAIN, args, { cwd, env });
  const ok = async (args: string[], cwd = home.dir) => {
    const result = await kpm(args, cwd);
    assertEquals(result.code, 0, `kpm ${args.join(" ")}: ${describe(result)}`);
    return result;
  };
  await ok(["mod", "init", "dep", "--version", "0.1.0"]);
  const dep = join(home.dir, "dep");
  await Deno.mkdir(join(dep, "sub"));
  await Deno.writeTextFile(join(dep, "sub", "helper.k"), "helper = 2\n");
  return { kpm, ok, dep };
}

const json = (result: KpmResult) => JSON.parse(result.stdout);
const exists = (path: string) => Deno.lstat(path).then(() => true, () => false);

Deno.test("mod push writes a package to an OCI layout, as artifact push names it", async (t) => {
  await using home = await kpmHome();
  const { kpm, ok, dep } = await setUp(home);
  const layout = join(home.dir, "layout");

  await t.step("oci-layout:DIR: the layer is the package's archive, tagged with the version", async () => {
    const pushed = json(await ok(["mod", "push", "oci-layout:../layout", "--json"], dep));
    assertEquals(pushed.reference, `oci-layout:${layout}:0.1.0`);
    const archive = await digestStream(packPackage(dep));
    assertEquals({ digest: pushed.layer.digest, size: pushed.layer.size }, archive);
    const index = JSON.parse(await Deno.readTextFile(join(layout, "index.json")));
    assertEquals(index.manifests.map((d: { digest: string }) => d.digest), [pushed.digest]);
    assertEquals(index.manifests[0].annotations["org.opencontainers.image.ref.name"], "0.1.0");
    const manifest = JSON.parse(
      await Deno.readTextFile(join(layout, "blobs", "sha256", pushed.digest.slice(7))),
    );
    assertEquals(manifest.annotations["org.kcllang.package.name"], "dep");
    assertEquals(manifest.annotations["org.kcllang.package.sum"], pushed.sum);
    assertEquals(manifest.layers[0].annotations["org.opencontainers.image.title"], "dep_0.1.0.tgz");
  });

  await t.step("an existing tag needs --force, with the hint", async () => {
    const again = await kpm(["mod", "push", "oci-layout:../layout"], dep);
    assertEquals(again.code, 1, describe(again));
    assertStringIncludes(again.stderr, `to "oci-layout:${layout}": tag "0.1.0" already exists`);
    assertStringIncludes(again.stderr, "--force");
    const forced = await ok(["mod", "push", "oci-layout:../layout", "--force"], dep);
    assertStringIncludes(forced.stdout, `Pushed oci-layout:${layout}:0.1.0`);
  });

  await t.step("--oci-layout DIR with --tag, and DIR:TAG", async () => {
    await ok(["mod", "push", "--oci-layout", "../layout", "--tag", "v2"], dep);
    await ok(["mod", "push", "oci-layout:../layout:v3"], dep);
    assertEquals((await ok(["artifact", "tags", `oci-layout:${layout}`])).stdout.trim().split("\n"), [
      "0.1.0",
      "v2",
      "v3",
    ]);
  });

  await t.step("a target naming two tags, a digest, or no folder is a usage error", async (t) => {
    for (
      const args of [
        ["oci-layout:../layout:a", "--tag", "b"],
        [`oci-layout:../layout@sha256:${"0".repeat(64)}`],
        ["--oci-layout"],
      ]
    ) {
      await t.step(args.join(" "), async () => {
        const result = await kpm(["mod", "push", ...args], dep);
        assertEquals(result.code, 2, describe(result));
      });
    }
  });

  await t.step("mod pull takes it back out of the layout into DEST/NAME_VERSION", async () => {
    const pulled = json(await ok(["mod", "pull", "oci-layout:layout:0.1.0", "out", "--json"]));
    assertEquals(pulled, { name: "dep", version: "0.1.0", path: join(home.dir, "out", "dep_0.1.0") });
    assertEquals(await Deno.readTextFile(join(pulled.path, "sub", "helper.k")), "helper = 2\n");
    await ok(["mod", "pull", "--oci-layout", "layout", "--tag", "v2", "out2"]);
    assertEquals(
      await Deno.readTextFile(join(home.dir, "out2", "dep_0.1.0", "sub", "helper.k")),
      "helper = 2\n",
    );
  });

  await t.step("a layer changed in the layout is refused, and nothing reaches the cache", async () => {
    await Deno.remove(join(home.env.KCL_PKG_PATH!, "dep_0.1.0"), { recursive: true });
    const index = JSON.parse(await Deno.readTextFile(join(layout, "index.json")));
    const manifestDigest: string = index.manifests[0].digest;
    const manifest = JSON.parse(
      await Deno.readTextFile(join(layout, "blobs", "sha256", manifestDigest.slice(7))),
    );
    const blob = join(layout, "blobs", "sha256", manifest.layers[0].digest.slice(7));
    const bytes = await Deno.readFile(blob);
    bytes[100] = bytes[100]! ^ 1;
    await Deno.chmod(blob, 0o644);
    await Deno.writeFile(blob, bytes);
    const result = await kpm(["mod", "pull", "oci-layout:layout:0.1.0", "tampered"]);
    assertEquals(result.code, 1, describe(result));
    assertStringIncludes(result.stderr, "mismatch");
    assert(!(await exists(join(home.env.KCL_PKG_PATH!, "dep_0.1.0"))), "not cached");
    assert(!(await exists(join(home.dir, "tampered"))), "not pulled");
    await ok(["mod", "push", "oci-layout:../layout", "--force"], dep);
  });

  await t.step("mod add refuses a layout (kcl.mod cannot name one)", async () => {
    const result = await kpm(["mod", "add", "oci-layout:../layout:0.1.0"], dep);
    assertEquals(result.code, 2, describe(result));
    assertStringIncludes(result.stderr, "cannot name an OCI layout");
  });

  await t.step("--sign signs in the layout; artifact verify checks it", async () => {
    await ok(["artifact", "keygen"]);
    const signed = await ok(["mod", "push", "oci-layout:../signed", "--sign", "../cosign.key"], dep);
    assertStringIncludes(signed.stdout, `Signed: oci-layout:${join(home.dir, "signed")}:sha256-`);
    await ok(["artifact", "verify", "oci-layout:signed:0.1.0", "--key", "cosign.pub"]);
  });
});

Deno.test({
  name: "a package pushed to an OCI layout is read by skopeo and oras, copied to a registry, and mod-added",
  ignore: await ignoreWithoutPeers(["skopeo", "oras"]),
  async fn(t) {
    await using home = await kpmHome();
    const { ok, dep } = await setUp(home);
    const layout = join(home.dir, "layout");
    const registry = await startEmbeddedRegistry();
    try {
      const pushed = json(await ok(["mod", "push", "oci-layout:../layout", "--json"], dep));

      await t.step("skopeo (oci: transport) and oras (--oci-layout) read the manifest", async () => {
        const raw = await runPeer("skopeo", ["inspect", "--raw", `oci:${layout}:0.1.0`]);
        assertEquals((await digestStream(new Blob([raw]).stream())).digest, pushed.digest);
        const fetched = await runPeer("oras", ["manifest", "fetch", "--oci-layout", `${layout}:0.1.0`]);
        assertEquals(JSON.parse(fetched).artifactType, "application/vnd.oci.image.layer.v1.tar+gzip");
      });

      await t.step("oras pulls the package archive out of the layout", async () => {
        const out = join(home.dir, "oras-out");
        await runPeer("oras", ["pull", "--oci-layout", `${layout}:0.1.0`, "-o", out]);
        const archive = await Deno.open(join(out, "dep_0.1.0.tgz"));
        assertEquals((await digestStream(archive.readable)).digest, pushed.layer.digest);
      });

      await t.step("skopeo copies it into a registry, and mod add takes it from there", async () => {
        const ref = `${registry.host}/test/dep:0.1.0`;
        await runPeer("skopeo", [
          "--insecure-policy",
          "copy",
          "--dest-tls-verify=false",
          `oci:${layout}:0.1.0`,
          `docker://${ref}`,
        ]);
        await ok(["mod", "init", "app"]);
        const app = join(home.dir, "app");
        await ok(["mod", "add", `oci://${registry.host}/test/dep`, "--tag", "0.1.0"], app);
        const lock = await Deno.readTextFile(join(app, "kcl.mod.lock"));
        assert(lock.includes(pushed.sum), lock);
      });
    } finally {
      await registry.close();
    }
  },
});
