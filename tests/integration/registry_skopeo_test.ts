/**
 * kpm's embedded registry against a real OCI client: skopeo copies a multi-layer image from an OCI layout
 * (written here, no internet) into the registry with an account (token exchange), inspects it, and copies it
 * back out to a `dir:` folder; the bytes must survive the round trip. Skipped with a message when skopeo is
 * missing, and failing under CI=true.
 */

import { join } from "node:path";
import { RegistryClient } from "../../lib/oci/client.ts";
import { type Digest, digestHex, digestOf } from "../../lib/oci/digest.ts";
import { OCI_CONFIG, OCI_INDEX, OCI_LAYER_TAR_GZIP, OCI_MANIFEST } from "../../lib/oci/media_types.ts";
import { startRegistry } from "../../lib/server/registry.ts";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { ignoreWithoutPeers } from "./support/peers.ts";
import { Repository } from "../../lib/oci/repository.ts";

const USER = { username: "test", password: "1234" };

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Writes an OCI image layout with a three-layer image tagged `v1`; returns the manifest's bytes and blobs. */
async function writeLayout(dir: string): Promise<{ manifest: Uint8Array; blobs: Map<Digest, Uint8Array> }> {
  const blobs = new Map<Digest, Uint8Array>();
  await Deno.mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  const put = async (bytes: Uint8Array) => {
    const digest = digestOf(bytes);
    blobs.set(digest, bytes);
    await Deno.writeFile(join(dir, "blobs", "sha256", digestHex(digest)), bytes);
    return { digest, size: bytes.byteLength };
  };
  const layers = [];
  const diffIds = [];
  for (let i = 0; i < 3; i++) {
    const raw = crypto.getRandomValues(new Uint8Array(20_000 + i * 1000));
    diffIds.push(digestOf(raw));
    layers.push({ mediaType: OCI_LAYER_TAR_GZIP, ...await put(await gzip(raw)) });
  }
  const config = await put(new TextEncoder().encode(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    created: "2024-01-02T03:04:05Z",
    config: { Labels: { "made.by": "kpm-test" } },
    rootfs: { type: "layers", diff_ids: diffIds },
  })));
  const manifest = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, ...config },
    layers,
  }));
  const described = await put(manifest);
  await Deno.writeTextFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await Deno.writeTextFile(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{
        mediaType: OCI_MANIFEST,
        ...described,
        annotations: { "org.opencontainers.image.ref.name": "v1" },
      }],
    }),
  );
  return { manifest, blobs };
}

async function skopeo(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command("skopeo", { args: ["--insecure-policy", ...args], env, stdin: "null" })
    .output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

Deno.test({
  name: "skopeo copies a multi-layer image into kpm's embedded registry and back out, and inspects it",
  ignore: await ignoreWithoutPeers(["skopeo"]),
  async fn(t) {
    const work = await Deno.makeTempDir({ prefix: "kpm_skopeo_" });
    const requests: string[] = [];
    const registry = await startRegistry({
      root: join(work, "registry"),
      users: [USER],
      log: (line) => requests.push(line),
    });
    const env = { HOME: work, REGISTRY_AUTH_FILE: join(work, "auth.json"), TMPDIR: work };
    const image = `docker://${registry.host}/skopeo/image:v1`;
    const creds = `${USER.username}:${USER.password}`;
    try {
      const { manifest, blobs } = await writeLayout(join(work, "layout"));
      const manifestDigest = digestOf(manifest);

      await t.step("skopeo copy oci: → registry, with credentials", async () => {
        const copy = await skopeo(
          ["copy", "--dest-tls-verify=false", "--dest-creds", creds, `oci:${join(work, "layout")}:v1`, image],
          env,
        );
        assertEquals(copy.code, 0, copy.stderr);
        assert(requests.some((line) => / GET \/token 200 /.test(line)), "skopeo exchanged a token");
        assert(requests.some((line) => / PUT \/v2\/skopeo\/image\/manifests\/v1 201 /.test(line)));
        const client = new RegistryClient({ credentials: () => Promise.resolve(USER) });
        const pulled = await new Repository(client, {
          registry: registry.host,
          repository: "skopeo/image",
        }).manifests.fetch("v1");
        assertEquals(pulled.descriptor.digest, manifestDigest);
        assertEquals(
          await new Repository(client, { registry: registry.host, repository: "skopeo/image" }).tags(),
          ["v1"],
        );
      });

      await t.step("skopeo inspect reads the manifest and config", async () => {
        const inspect = await skopeo(["inspect", "--tls-verify=false", "--creds", creds, image], env);
        assertEquals(inspect.code, 0, inspect.stderr);
        const info = JSON.parse(inspect.stdout) as {
          Digest: string;
          Layers: string[];
          Architecture: string;
          Labels: Record<string, string>;
        };
        assertEquals(info.Digest, manifestDigest);
        assertEquals(info.Layers.length, 3);
        assertEquals(info.Architecture, "amd64");
        assertEquals(info.Labels, { "made.by": "kpm-test" });
      });

      await t.step("skopeo copy registry → dir: gives back the same bytes", async () => {
        const out = join(work, "out");
        const copy = await skopeo(
          ["copy", "--src-tls-verify=false", "--src-creds", creds, image, `dir:${out}`],
          env,
        );
        assertEquals(copy.code, 0, copy.stderr);
        assertEquals(await Deno.readFile(join(out, "manifest.json")), manifest);
        for (const [digest, bytes] of blobs) {
          if (digest === manifestDigest) continue;
          assertEquals(await Deno.readFile(join(out, digestHex(digest))), bytes, digest);
        }
      });

      await t.step("a wrong password fails", async () => {
        const inspect = await skopeo(["inspect", "--tls-verify=false", "--creds", "test:wrong", image], env);
        assert(inspect.code !== 0);
        assertStringIncludes(inspect.stderr.toLowerCase(), "unauthorized");
      });
    } finally {
      await registry.close();
      await Deno.remove(work, { recursive: true });
    }
  },
});
