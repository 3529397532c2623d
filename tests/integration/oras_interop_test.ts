/**
 * The ORAS CLI (v1.3.6, built by scripts/peers.sh) and `kpm artifact` both ways, against distribution (Basic
 * and token auth) and kpm's embedded registry, kpm using the credentials that `oras login` stored: what one
 * pushes the other pulls byte for byte (files, folders, configs, annotations, artifact types), the same inputs
 * give the same manifest (but for the folder's tar bytes), referrers attached by one are discovered by the
 * other and survive `cp -r` by either, and OCI layout folders written by one are read by the other.
 */

import { join } from "node:path";
import { digestOf } from "../../lib/oci/digest.ts";
import type { Descriptor, ImageManifest as Manifest } from "../../lib/oci/manifest.ts";
import { assert, assertEquals } from "../assert.ts";
import { forEachRegistry, USER } from "./kpm_registries.ts";
import { kpmSucceeds } from "./support/kpm_cli.ts";
import { ignoreWithoutPeers, runPeer } from "./support/peers.ts";
import { kpmHome } from "./ship_support.ts";

const ARTIFACT_TYPE = "application/vnd.example.bundle";
const CONFIG_TYPE = "application/vnd.example.config+json";
const SIGNATURE_TYPE = "application/vnd.example.signature";
const CREATED = "org.opencontainers.image.created=2026-01-02T03:04:05Z";

/** The inputs both tools push: a typed file, a folder, a config and an annotation file. */
async function writeInputs(work: string): Promise<void> {
  await Deno.mkdir(join(work, "conf", "sub"), { recursive: true });
  await Deno.writeTextFile(join(work, "hi.txt"), "hello\n");
  await Deno.writeTextFile(join(work, "conf", "app.yaml"), "replicas: 2\n");
  await Deno.writeTextFile(join(work, "conf", "sub", "x.k"), "x = 1\n");
  await Deno.writeTextFile(join(work, "cfg.json"), '{"a":1}\n');
  await Deno.writeTextFile(join(work, "sig.txt"), "signed\n");
  await Deno.writeTextFile(
    join(work, "ann.json"),
    JSON.stringify({
      $manifest: { "org.example.by": "file", "org.opencontainers.image.created": "2026-01-02T03:04:05Z" },
      "hi.txt": { "org.example.file": "1" },
      conf: { "org.example.folder": "yes" },
    }),
  );
}

/** The same push arguments for `oras push` and `kpm artifact push`. */
function pushArgs(ref: string): string[] {
  return [
    ref,
    "hi.txt:text/x-hi",
    "conf",
    "--artifact-type",
    ARTIFACT_TYPE,
    "--config",
    `cfg.json:${CONFIG_TYPE}`,
    "--annotation-file",
    "ann.json",
  ];
}

/** Asserts that `dir` holds exactly the pushed file and folder, byte for byte. */
async function assertPulled(dir: string): Promise<void> {
  assertEquals(await Deno.readTextFile(join(dir, "hi.txt")), "hello\n");
  assertEquals(await Deno.readTextFile(join(dir, "conf", "app.yaml")), "replicas: 2\n");
  assertEquals(await Deno.readTextFile(join(dir, "conf", "sub", "x.k")), "x = 1\n");
}

/** A manifest without what legitimately differs between two tools: the folder's tar bytes. */
function withoutTarBytes(manifest: Manifest): unknown {
  const layers = manifest.layers.map((layer) => {
    if (layer.mediaType !== "application/vnd.oci.image.layer.v1.tar+gzip") return layer;
    const { "io.deis.oras.content.digest": _, ...annotations } = layer.annotations ?? {};
    return { mediaType: layer.mediaType, annotations };
  });
  return { ...manifest, layers };
}

/** The digests `oras discover --format json` lists (v1.3: `referrers`, earlier: `manifests`). */
function orasReferrers(json: string): string[] {
  const parsed = JSON.parse(json) as { referrers?: { digest: string }[]; manifests?: { digest: string }[] };
  return (parsed.referrers ?? parsed.manifests ?? []).map((entry) => entry.digest).sort();
}

await forEachRegistry("ORAS CLI and kpm artifact, both ways", async (t, registry) => {
  await using home = await kpmHome();
  const work = join(home.dir, "work");
  await writeInputs(work);
  const kpm = async (...args: string[]) => (await kpmSucceeds(args, work, home.env)).stdout;
  const oras = (...args: string[]) => {
    const plain = args[0] === "cp" ? ["--from-plain-http", "--to-plain-http"] : ["--plain-http"];
    return runPeer("oras", [...args, ...plain], { cwd: work, env: home.env });
  };
  const repo = `${registry.host}/interop/oras`;
  await runPeer("oras", ["login", registry.host, "-u", USER.username, "--password-stdin", "--plain-http"], {
    cwd: work,
    env: home.env,
    stdin: USER.password,
  });
  await t.step("oras push → kpm pull, manifest, tags and blob fetch agree", async () => {
    await oras("push", ...pushArgs(`${repo}:by-oras`));
    await kpm("artifact", "pull", `${repo}:by-oras`, "-o", "from-oras");
    await assertPulled(join(work, "from-oras"));
    const manifest = await oras("manifest", "fetch", `${repo}:by-oras`);
    assertEquals(await kpm("artifact", "manifest", `${repo}:by-oras`), manifest);
    const config = (JSON.parse(manifest) as Manifest).config;
    await kpm("artifact", "blob", `${repo}@${config.digest}`, "-o", "cfg.kpm");
    assertEquals(await Deno.readTextFile(join(work, "cfg.kpm")), '{"a":1}\n');
    assertEquals(await oras("blob", "fetch", `${repo}@${config.digest}`, "--output", "-"), '{"a":1}\n');
  });

  await t.step("kpm push → oras pull, the same manifest as oras's but for the tar bytes", async () => {
    await kpm("artifact", "push", ...pushArgs(`${repo}:by-kpm`));
    await oras("pull", `${repo}:by-kpm`, "-o", "from-kpm");
    await assertPulled(join(work, "from-kpm"));
    const byKpm = await oras("manifest", "fetch", `${repo}:by-kpm`);
    assertEquals(await kpm("artifact", "manifest", `${repo}:by-kpm`), byKpm);
    const byOras = JSON.parse(await oras("manifest", "fetch", `${repo}:by-oras`)) as Manifest;
    assertEquals(withoutTarBytes(JSON.parse(byKpm)), withoutTarBytes(byOras));
    const tags = (await oras("repo", "tags", repo)).trim().split("\n").sort();
    assertEquals(tags, ["by-kpm", "by-oras"]);
    assertEquals((await kpm("artifact", "tags", repo)).trim().split("\n").sort(), tags);
  });

  await t.step("--annotation K=V and the default artifact type agree", async () => {
    await oras(
      "push",
      `${repo}:plain-oras`,
      "hi.txt",
      "-a",
      "k=v",
      "-a",
      CREATED,
    );
    await kpm(
      "artifact",
      "push",
      `${repo}:plain-kpm`,
      "hi.txt",
      "-a",
      "k=v",
      "-a",
      CREATED,
    );
    assertEquals(
      await oras("manifest", "fetch", `${repo}:plain-kpm`),
      await oras("manifest", "fetch", `${repo}:plain-oras`),
    );
  });

  await t.step("attach by one tool, discover by the other", async () => {
    await oras("attach", "--artifact-type", SIGNATURE_TYPE, `${repo}:by-kpm`, "sig.txt");
    await kpm("artifact", "attach", "--artifact-type", SIGNATURE_TYPE, `${repo}:by-oras`, "sig.txt");
    const byKpm = JSON.parse(await kpm("artifact", "discover", `${repo}:by-kpm`, "--json"));
    const seenByOras = orasReferrers(await oras("discover", `${repo}:by-kpm`, "--format", "json"));
    assertEquals(byKpm.manifests.map((m: Descriptor) => m.digest).sort(), seenByOras);
    assertEquals(seenByOras.length, 1);
    const byOras = JSON.parse(await kpm("artifact", "discover", `${repo}:by-oras`, "--json"));
    assertEquals(
      orasReferrers(await oras("discover", `${repo}:by-oras`, "--format", "json")),
      byOras.manifests.map((m: Descriptor) => m.digest).sort(),
    );
  });

  await t.step("the same attach by both tools is the same referrer, byte for byte", async () => {
    await kpm("artifact", "push", `${repo}:subject`, "hi.txt");
    const attach = ["--artifact-type", SIGNATURE_TYPE, `${repo}:subject`, "sig.txt", "-a", CREATED];
    const byOras = JSON.parse(await oras("attach", ...attach, "--format", "json")).digest;
    const byKpm = JSON.parse(await kpm("artifact", "attach", ...attach, "--json")).digest;
    assertEquals(byKpm, byOras);
    assertEquals(orasReferrers(await oras("discover", `${repo}:subject`, "--format", "json")), [byOras]);
  });

  await t.step("cp -r by either tool carries the other's referrers", async () => {
    await oras(
      "cp",
      "-r",
      `${repo}:by-kpm`,
      `${registry.host}/interop/oras-copy:by-kpm`,
    );
    await kpm("artifact", "copy", "-r", `${repo}:by-oras`, `${registry.host}/interop/kpm-copy:by-oras`);
    for (const [from, to] of [["by-kpm", "oras-copy"], ["by-oras", "kpm-copy"]]) {
      const source = orasReferrers(await oras("discover", `${repo}:${from}`, "--format", "json"));
      const copied = JSON.parse(
        await kpm("artifact", "discover", `${registry.host}/interop/${to}:${from}`, "--json"),
      );
      assertEquals(copied.manifests.map((m: Descriptor) => m.digest).sort(), source);
      assertEquals(
        await oras("manifest", "fetch", `${registry.host}/interop/${to}:${from}`),
        await oras("manifest", "fetch", `${repo}:${from}`),
      );
    }
  });
}, { peers: ["oras"] });

Deno.test("ORAS CLI and kpm artifact share OCI layout folders", {
  ignore: await ignoreWithoutPeers(["oras"]),
}, async () => {
  await using home = await kpmHome();
  const work = join(home.dir, "work");
  await writeInputs(work);
  const kpm = async (...args: string[]) => (await kpmSucceeds(args, work, home.env)).stdout;
  const oras = (...args: string[]) => runPeer("oras", args, { cwd: work, env: home.env });
  await oras("push", "--oci-layout", ...pushArgs("by-oras:v1"));
  await kpm("artifact", "pull", "oci-layout:by-oras:v1", "-o", "from-oras");
  await assertPulled(join(work, "from-oras"));
  await kpm("artifact", "push", ...pushArgs("oci-layout:by-kpm:v1"));
  await oras("pull", "--oci-layout", "by-kpm:v1", "-o", "from-kpm");
  await assertPulled(join(work, "from-kpm"));
  const manifest = await oras("manifest", "fetch", "--oci-layout", "by-kpm:v1");
  assertEquals(await kpm("artifact", "manifest", "oci-layout:by-kpm:v1"), manifest);
  const digest = digestOf(manifest);
  assert((await oras("repo", "tags", "--oci-layout", "by-kpm")).includes("v1"));
  assertEquals(
    (await kpm("artifact", "manifest", "oci-layout:by-kpm:v1", "--descriptor")).includes(digest),
    true,
  );
});
