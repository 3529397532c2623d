/**
 * The public library (mod.ts) against kpm's embedded registry and OCI layout folders: credentials, push from
 * memory and files, pull to disk and memory with allowed media types, copy, tags and referrers, KCL packages
 * under a trust policy, and the refusals (digest references, oversized in-memory pulls, swapped blobs,
 * anonymous access to a protected registry).
 */

import { join } from "node:path";
import {
  ArtifactError,
  Client,
  copy,
  DigestError,
  dockerCredentials,
  openLayout,
  pull,
  pullPackage,
  pullToMemory,
  push,
  pushPackage,
  readLockFile,
  RegistryError,
  resolvePackage,
  serveRegistry,
  staticCredentials,
  TrustError,
  writeModFile,
} from "../mod.ts";
import { registryClientOf } from "../lib/api/client.ts";
import { signManifest } from "../lib/oci/sign/cosign.ts";
import { generateKeyPair, readPrivateKey } from "../lib/oci/sign/keys.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { Repository } from "../lib/oci/repository.ts";

const USER = { username: "test", password: "1234" };

async function withRegistry(fn: (host: string, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kpm-library-" });
  const registry = await serveRegistry({ root: join(dir, "registry"), users: [USER] });
  try {
    await fn(registry.host, dir);
  } finally {
    await registry.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("library push from memory and pull back allowing one media type, with given credentials", async () => {
  await withRegistry(async (host, dir) => {
    const client = new Client({ credentials: staticCredentials({ [host]: USER }) });
    const ref = `${host}/demo/hello:v1`;
    const pushed = await push(ref, [
      { name: "hello.txt", content: "Hello World!\n", mediaType: "my.custom.media.type" },
      {
        name: "other.txt",
        content: new Uint8Array([1, 2]),
        mediaType: "text/plain",
        annotations: { k: "v" },
      },
    ], { client, artifactType: "application/vnd.example", annotations: { team: "kcl" }, tags: ["latest"] });
    assertEquals(pushed.tags, ["v1", "latest"]);
    const repo = client.repository(ref);
    assertEquals(await repo.tags(), ["latest", "v1"]);
    const { manifest } = await repo.fetchManifest("latest");
    assert(!("manifests" in manifest));
    assertEquals(manifest.artifactType, "application/vnd.example");
    assertEquals(manifest.annotations?.team, "kcl");
    assertEquals(manifest.layers[1]?.annotations?.k, "v");

    const out = join(dir, "out");
    const result = await pull(ref, out, { client, allowedMediaTypes: ["my.custom.media.type"] });
    assertEquals(result.manifest.digest, pushed.manifest.digest);
    assertEquals(result.files.map((f) => f.path), [join(out, "hello.txt")]);
    assertEquals(await Deno.readTextFile(join(out, "hello.txt")), "Hello World!\n");
    await assertRejects(() => Deno.stat(join(out, "other.txt")), Deno.errors.NotFound);

    const memory = await pullToMemory(repo, { client, reference: "v1" });
    assertEquals(memory.files.map((f) => [f.name, f.mediaType, [...f.content]]), [
      ["hello.txt", "my.custom.media.type", [...new TextEncoder().encode("Hello World!\n")]],
      ["other.txt", "text/plain", [1, 2]],
    ]);
  });
});

Deno.test("library calls without credentials are refused by a protected registry with a RegistryError", async () => {
  await withRegistry(async (host) => {
    const error = await assertRejects(
      () => push(`${host}/demo/x:v1`, [{ name: "a", content: "a" }]),
      RegistryError,
    );
    assertEquals(error.status, 401);
  });
});

Deno.test("dockerCredentials reads auths from a docker config file; a missing file means anonymous", async () => {
  await withRegistry(async (host, dir) => {
    const configFile = join(dir, "config.json");
    await Deno.writeTextFile(configFile, JSON.stringify({ auths: { [host]: { auth: btoa("test:1234") } } }));
    const client = new Client({ credentials: dockerCredentials({ configFile }) });
    const pushed = await push(`${host}/demo/docker:v1`, [{ name: "a.txt", content: "a" }], { client });
    assertEquals(pushed.layers.length, 1);
    const none = dockerCredentials({ env: { DOCKER_CONFIG: join(dir, "missing") } });
    assertEquals(await none(host), undefined);
  });
});

Deno.test("library copy goes registry → layout → registry keeping the tag, and referrers with it", async () => {
  await withRegistry(async (host, dir) => {
    const client = new Client({ credentials: staticCredentials({ [host]: USER }) });
    const image = await push(`${host}/demo/app:1.0`, [{ name: "app.txt", content: "app" }], { client });
    const sig = await push(`${host}/demo/app`, [{ name: "sig", content: "signed" }], {
      client,
      subject: "1.0",
      artifactType: "application/vnd.example.sig",
    });
    assertEquals(sig.tags, [], "an artifact with a subject is not tagged latest");
    const layoutDir = join(dir, "layout");
    const first = await copy(`${host}/demo/app:1.0`, `oci-layout:${layoutDir}`, { client, referrers: true });
    assertEquals(first.tags, ["1.0"]);
    assertEquals(first.root.digest, image.manifest.digest);
    const layout = await openLayout(layoutDir);
    assertEquals((await layout.referrers("1.0")).map((d) => d.digest), [sig.manifest.digest]);
    const second = await copy(layout, client.repository(`${host}/copied/app`), {
      client,
      reference: "1.0",
      tags: ["a", "b"],
    });
    assertEquals(second.tags, ["a", "b"]);
    assertEquals(await client.repository(`${host}/copied/app`).tags(), ["a", "b"]);
  });
});

Deno.test("library refusals: a push to a digest, an in-memory pull over maxBytes, a bad tag", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kpm-library-" });
  try {
    const layout = `oci-layout:${dir}`;
    const pushed = await push(`${layout}:v1`, [{ name: "big.bin", content: new Uint8Array(1000) }]);
    await assertRejects(
      () => push(`${layout}@${pushed.manifest.digest}`, [{ name: "a", content: "a" }]),
      ArtifactError,
      "Cannot push to a digest",
    );
    await assertRejects(
      () => pullToMemory(`${layout}:v1`, { maxBytes: 999 }),
      ArtifactError,
      "over the limit",
    );
    const target = await openLayout(dir);
    await assertRejects(() => target.tag("v1", "bad tag"), ArtifactError, 'Invalid tag "bad tag"');
    assertEquals(await target.tags(), ["v1"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pullToMemory refuses a layer whose stored bytes were swapped, even at the declared size", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kpm-library-" });
  try {
    const pushed = await push(`oci-layout:${dir}:v1`, [{ name: "a.txt", content: "genuine" }]);
    const blob = join(dir, "blobs", "sha256", pushed.layers[0]!.digest.slice("sha256:".length));
    await Deno.writeTextFile(blob, "forged!");
    await assertRejects(() => pullToMemory(`oci-layout:${dir}:v1`), DigestError);
    await Deno.writeTextFile(blob, "genuine plus a tail");
    await assertRejects(() => pullToMemory(`oci-layout:${dir}:v1`), DigestError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pullPackage and resolvePackage apply a trust policy file: unsigned refused, signed accepted", async () => {
  await withRegistry(async (host, dir) => {
    const client = new Client({ credentials: staticCredentials({ [host]: USER }) });
    const keys = await generateKeyPair("secret");
    const policy = join(dir, "kpm.json");
    await Deno.writeTextFile(
      policy,
      JSON.stringify({ TrustPolicy: [{ Scope: `${host}/signed/**`, Keys: [keys.publicPem] }] }),
    );
    const pkg = join(dir, "helper");
    await Deno.mkdir(pkg);
    await writeModFile(pkg, { package: { name: "helper", edition: "v0.11.0", version: "0.1.0" } });
    const pushed = await pushPackage(pkg, `oci://${host}/signed/helper`, { client, home: join(dir, "home") });
    const options = { client, home: join(dir, "home"), trustPolicyFile: policy };
    await assertRejects(() => pullPackage(`oci://${host}/signed/helper:0.1.0`, options), TrustError);

    const store = new Repository(registryClientOf(client), {
      registry: host,
      repository: "signed/helper",
    });
    await signManifest(store, pushed.manifest, await readPrivateKey(keys.privatePem, "secret", "test key"));
    const pulled = await pullPackage(`oci://${host}/signed/helper:0.1.0`, options);
    assertEquals([pulled.name, pulled.version], ["helper", "0.1.0"]);

    const app = join(dir, "app");
    await Deno.mkdir(app);
    await writeModFile(app, {
      package: { name: "app", edition: "v0.11.0", version: "0.0.1" },
      dependencies: new Map([["helper", { kind: "oci", oci: `oci://${host}/signed/helper`, tag: "0.1.0" }]]),
    });
    const resolution = await resolvePackage(app, { ...options, writeLock: true });
    assertEquals([...resolution.packages.keys()], ["helper"]);
    assertEquals((await readLockFile(app)).get("helper")?.version, "0.1.0");
  });
});
