/**
 * kpm's embedded registry (`lib/server/registry.ts`) against kpm's own client (`lib/oci`) and raw requests:
 * every upload path, Range, mount, manifests by tag and digest, index, reference checks, size cap,
 * pagination, referrers, deletion, auth (Basic, token exchange, htpasswd), name tricks and restarts.
 */

import { join } from "node:path";
import { loadBcrypt } from "../lib/deps.ts";
import { downloadBlob } from "../lib/oci/blobs.ts";
import { RegistryClient } from "../lib/oci/client.ts";
import { type Digest, digestOf } from "../lib/oci/digest.ts";
import { encodeManifest, type ImageIndex, type ImageManifest } from "../lib/oci/manifest.ts";
import {
  DOCKER_CONFIG,
  DOCKER_MANIFEST,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_MANIFEST,
} from "../lib/oci/media_types.ts";
import { RegistryError } from "../lib/oci/registry_error.ts";
import { type RunningRegistry, startRegistry } from "../lib/server/registry.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { ignoreWithoutPeers } from "./integration/support/peers.ts";
import { randomBytes } from "./oci_fake.ts";
import { parseAddr } from "../lib/cli/registry_serve.ts";
import { UsageError } from "../lib/cli/command.ts";
import { Registry, Repository } from "../lib/oci/repository.ts";

interface Setup {
  registry: RunningRegistry;
  root: string;
  client: RegistryClient;
  /** A raw request to the registry. */
  req(path: string, init?: RequestInit): Promise<Response>;
}

/**
 * Sends `bytes` from offset `from` to its end as one chunk of the upload at `location`, with its Content-Range:
 * by PATCH, or by the closing PUT when a `digest` is given.
 */
function sendChunk(
  s: Setup,
  location: string,
  bytes: Uint8Array<ArrayBuffer>,
  from: number,
  digest?: Digest,
) {
  return s.req(digest ? `${location}?digest=${digest}` : location, {
    method: digest ? "PUT" : "PATCH",
    headers: { "Content-Range": `${from}-${bytes.byteLength - 1}` },
    body: bytes.subarray(from),
  });
}

async function withRegistry(
  fn: (s: Setup) => Promise<void>,
  options: { users?: { username: string; password: string }[]; htpasswd?: string } = {},
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "kpm_registry_" });
  const registry = await startRegistry({ root, delete: true, ...options });
  try {
    await fn({
      registry,
      root,
      client: new RegistryClient(),
      req: (path, init) => fetch(`${registry.url}${path}`, init),
    });
  } finally {
    await registry.close();
    await Deno.remove(root, { recursive: true });
  }
}

/** A request body from bytes. */
function buf(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}

async function errorCode(response: Response): Promise<string> {
  const body = await response.json() as { errors: { code: string }[] };
  return body.errors[0]!.code;
}

async function pushBytes(client: RegistryClient, host: string, repository: string, bytes: Uint8Array) {
  const digest = digestOf(bytes);
  await new Repository(client, { registry: host, repository }).blobs.push(
    { digest, size: bytes.byteLength },
    bytes,
  );
  return { mediaType: "application/octet-stream", digest, size: bytes.byteLength };
}

/** Pushes an image manifest with one layer and returns its bytes and digest. */
async function pushImage(
  s: Setup,
  repository: string,
  tag: string | undefined,
  extra: Partial<ImageManifest> = {},
): Promise<{ bytes: Uint8Array; digest: Digest }> {
  const host = s.registry.host;
  const config = await pushBytes(s.client, host, repository, new TextEncoder().encode("{}"));
  const layer = await pushBytes(s.client, host, repository, randomBytes(100));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { ...config, mediaType: OCI_CONFIG },
    layers: [layer],
    ...extra,
  };
  const bytes = encodeManifest(manifest);
  const digest = digestOf(bytes);
  await new Repository(s.client, { registry: host, repository }).manifests.push(bytes, OCI_MANIFEST, {
    tag,
  });
  return { bytes, digest };
}

async function rawRequest(port: number, target: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    new TextEncoder().encode(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
  );
  let text = "";
  const buffer = new Uint8Array(8192);
  for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
    text += new TextDecoder().decode(buffer.subarray(0, n));
  }
  conn.close();
  return text;
}

async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) found.push(...await filesUnder(path));
    else found.push(path);
  }
  return found;
}

Deno.test("registry: ping answers with the API version header", async () => {
  await withRegistry(async (s) => {
    const response = await s.req("/v2/");
    assertEquals(response.status, 200);
    assertEquals(response.headers.get("Docker-Distribution-API-Version"), "registry/2.0");
    assertEquals(await response.json(), {});
    assert(/^127\.0\.0\.1:\d+$/.test(s.registry.host));
    assertEquals(s.registry.url, `http://${s.registry.host}`);
  });
});

Deno.test("registry: /metrics counts unknown request methods as OTHER (callers cannot grow its labels)", async () => {
  const root = await Deno.makeTempDir();
  const registry = await startRegistry({ root });
  try {
    for (const method of ["GET", "FOO1", "BAR2"]) {
      await (await fetch(`${registry.url}/v2/`, { method })).body?.cancel();
    }
    const lines = (await (await fetch(`${registry.url}/metrics`)).text()).split("\n")
      .filter((line) => line.startsWith('kpm_registry_requests_total{route="base"'));
    assertEquals(lines, [
      'kpm_registry_requests_total{route="base",method="GET",status="200"} 1',
      'kpm_registry_requests_total{route="base",method="OTHER",status="200"} 2',
    ]);
  } finally {
    await registry.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("registry: blob uploads", async (t) => {
  await withRegistry(async (s) => {
    const repo = { registry: s.registry.host, repository: "team/app" };
    const dir = await Deno.makeTempDir({ prefix: "kpm_registry_dl_" });
    try {
      await t.step("monolithic POST then PUT, then HEAD says it exists and GET streams it back", async () => {
        const bytes = randomBytes(3000);
        const digest = digestOf(bytes);
        assertEquals(
          await new Repository(s.client, repo).blobs.push({ digest, size: 3000 }, bytes),
          "uploaded",
        );
        assertEquals(
          await new Repository(s.client, repo).blobs.push({ digest, size: 3000 }, bytes),
          "exists",
        );
        const head = await s.req(`/v2/team/app/blobs/${digest}`, { method: "HEAD" });
        assertEquals(head.status, 200);
        assertEquals(head.headers.get("Content-Length"), "3000");
        assertEquals(head.headers.get("Docker-Content-Digest"), digest);
        await downloadBlob(new Repository(s.client, repo), { digest, size: 3000 }, join(dir, "mono"));
        assertEquals(await Deno.readFile(join(dir, "mono")), bytes);
      });

      await t.step("single POST with ?digest stores the blob (201)", async () => {
        const bytes = randomBytes(500);
        const digest = digestOf(bytes);
        const response = await s.req(`/v2/team/app/blobs/uploads/?digest=${digest}`, {
          method: "POST",
          body: bytes,
        });
        assertEquals(response.status, 201);
        assertEquals(response.headers.get("Location"), `/v2/team/app/blobs/${digest}`);
        assertEquals(response.headers.get("Docker-Content-Digest"), digest);
        assertEquals(
          new Uint8Array(await (await s.req(`/v2/team/app/blobs/${digest}`)).arrayBuffer()),
          bytes,
        );
      });

      await t.step("chunked PATCH uploads with Content-Range", async () => {
        const bytes = randomBytes(10_000);
        const digest = digestOf(bytes);
        const outcome = await new Repository(s.client, repo).blobs.push(
          { digest, size: 10_000 },
          () => new Blob([bytes]).stream(),
          {
            chunkSize: 3000,
          },
        );
        assertEquals(outcome, "uploaded");
        await downloadBlob(new Repository(s.client, repo), { digest, size: 10_000 }, join(dir, "chunked"));
        assertEquals(await Deno.readFile(join(dir, "chunked")), bytes);
        const other = randomBytes(10_000);
        const started = await s.req("/v2/team/app/blobs/uploads/", { method: "POST" });
        let location = started.headers.get("Location")!;
        for (let at = 0; at < 10_000; at += 4000) {
          const part = other.subarray(at, Math.min(at + 4000, 10_000));
          const patched = await s.req(location, {
            method: "PATCH",
            headers: { "Content-Range": `${at}-${at + part.byteLength - 1}` },
            body: buf(part),
          });
          assertEquals(patched.status, 202);
          assertEquals(patched.headers.get("Range"), `0-${at + part.byteLength - 1}`);
          location = patched.headers.get("Location")!;
        }
        const done = await s.req(`${location}?digest=${digestOf(other)}`, { method: "PUT" });
        assertEquals(done.status, 201);
        assertEquals(done.headers.get("Docker-Content-Digest"), digestOf(other));
        const back = await s.req(`/v2/team/app/blobs/${digestOf(other)}`);
        assertEquals(new Uint8Array(await back.arrayBuffer()), other);
      });

      await t.step(
        "a streamed PATCH that breaks off keeps what arrived; the client resumes from there",
        async () => {
          const bytes = randomBytes(4 * 1024 * 1024);
          const digest = digestOf(bytes);
          let opened = 0;
          const content = () => {
            if (opened++ > 0) return new Blob([bytes]).stream();
            let sent = 0;
            return new ReadableStream<Uint8Array>({
              pull(controller) {
                if (sent >= 2 * 1024 * 1024) {
                  controller.error(new Error("connection dropped"));
                  return;
                }
                controller.enqueue(bytes.slice(sent, sent + 256 * 1024));
                sent += 256 * 1024;
              },
            });
          };
          const outcome = await new Repository(s.client, repo).blobs.push(
            { digest, size: bytes.byteLength },
            content,
            {
              chunkSize: 1024 * 1024,
              upload: "stream",
            },
          );
          assertEquals(outcome, "uploaded");
          assertEquals(opened, 2);
          await downloadBlob(
            new Repository(s.client, repo),
            { digest, size: bytes.byteLength },
            join(dir, "resumed"),
          );
          assertEquals(await Deno.readFile(join(dir, "resumed")), bytes);
        },
      );

      await t.step(
        "a chunk at the wrong offset gets 416 with the upload's Range; status GET agrees",
        async () => {
          const started = await s.req("/v2/team/app/blobs/uploads/", { method: "POST" });
          assertEquals(started.status, 202);
          const location = started.headers.get("Location")!;
          assert(started.headers.get("Docker-Upload-UUID"));
          const first = await s.req(location, {
            method: "PATCH",
            headers: { "Content-Range": "0-9" },
            body: randomBytes(10),
          });
          assertEquals(first.status, 202);
          assertEquals(first.headers.get("Range"), "0-9");
          const wrong = await s.req(location, {
            method: "PATCH",
            headers: { "Content-Range": "20-29" },
            body: randomBytes(10),
          });
          assertEquals(wrong.status, 416);
          assertEquals(await errorCode(wrong), "RANGE_INVALID");
          assertEquals(wrong.headers.get("Range"), "0-9");
          const status = await s.req(location);
          assertEquals(status.status, 204);
          assertEquals(status.headers.get("Range"), "0-9");
          assertEquals((await s.req(location, { method: "DELETE" })).status, 204);
          assertEquals((await s.req(location)).status, 404);
        },
      );

      await t.step(
        "an empty upload answers Range 0--1 (no byte received) on POST, to an out-of-order first chunk and on GET",
        async () => {
          const bytes = randomBytes(2048);
          const started = await s.req("/v2/team/app/blobs/uploads/", { method: "POST" });
          assertEquals(started.status, 202);
          assertEquals(started.headers.get("Range"), "0--1");
          const location = started.headers.get("Location")!;
          const skipped = await sendChunk(s, location, bytes, 1024);
          assertEquals(skipped.status, 416);
          assertEquals(await errorCode(skipped), "RANGE_INVALID");
          assertEquals(skipped.headers.get("Range"), "0--1");
          const status = await s.req(skipped.headers.get("Location")!);
          assertEquals(status.status, 204);
          assertEquals(status.headers.get("Range"), "0--1");
          assertEquals(
            (await sendChunk(s, location, bytes.subarray(0, 1024), 0)).headers.get("Range"),
            "0-1023",
          );
          assertEquals((await sendChunk(s, location, bytes, 1024, digestOf(bytes))).status, 201);
        },
      );

      await t.step(
        "a closing PUT whose chunk is out of order gets 416 and leaves the upload open to resume",
        async () => {
          const bytes = randomBytes(3000);
          const digest = digestOf(bytes);
          const started = await s.req("/v2/team/app/blobs/uploads/", { method: "POST" });
          const location = started.headers.get("Location")!;
          assertEquals((await sendChunk(s, location, bytes.subarray(0, 1000), 0)).status, 202);
          const ahead = await sendChunk(s, location, bytes, 2000, digest);
          assertEquals(ahead.status, 416);
          assertEquals(await errorCode(ahead), "RANGE_INVALID");
          assertEquals(ahead.headers.get("Range"), "0-999");
          assertEquals((await s.req(`/v2/team/app/blobs/${digest}`, { method: "HEAD" })).status, 404);
          const status = await s.req(location);
          assertEquals(status.status, 204);
          assertEquals(status.headers.get("Range"), "0-999");
          assertEquals((await sendChunk(s, location, bytes.subarray(0, 2000), 1000)).status, 202);
          assertEquals((await sendChunk(s, location, bytes, 2000, digest)).status, 201);
          const stored = await s.req(`/v2/team/app/blobs/${digest}`);
          assertEquals(new Uint8Array(await stored.arrayBuffer()), bytes);
        },
      );

      await t.step("an unknown upload is BLOB_UPLOAD_UNKNOWN for PATCH, PUT and GET", async () => {
        const unknown = `/v2/team/app/blobs/uploads/${crypto.randomUUID()}`;
        for (const [method, query] of [["PATCH", ""], ["PUT", `?digest=${digestOf("")}`], ["GET", ""]]) {
          const response = await s.req(unknown + query, { method, body: method === "GET" ? undefined : "x" });
          assertEquals(response.status, 404, method);
          assertEquals(await errorCode(response), "BLOB_UPLOAD_UNKNOWN");
        }
      });

      await t.step("a wrong digest is DIGEST_INVALID and stores nothing", async () => {
        const before = (await filesUnder(join(s.root, "blobs"))).length;
        const wrongDigest = digestOf("something else");
        const single = await s.req(`/v2/team/app/blobs/uploads/?digest=${wrongDigest}`, {
          method: "POST",
          body: randomBytes(200),
        });
        assertEquals(single.status, 400);
        assertEquals(await errorCode(single), "DIGEST_INVALID");
        const started = await s.req("/v2/team/app/blobs/uploads/", { method: "POST" });
        const put = await s.req(`${started.headers.get("Location")}?digest=${wrongDigest}`, {
          method: "PUT",
          body: randomBytes(300),
        });
        assertEquals(put.status, 400);
        assertEquals(await errorCode(put), "DIGEST_INVALID");
        const malformed = await s.req(`/v2/team/app/blobs/uploads/?digest=sha256:nothex`, {
          method: "POST",
          body: "x",
        });
        assertEquals(await errorCode(malformed), "DIGEST_INVALID");
        assertEquals(await new Repository(s.client, repo).blobs.exists(wrongDigest), false);
        assertEquals((await filesUnder(join(s.root, "blobs"))).length, before);
        assertEquals(await filesUnder(join(s.root, "uploads")), []);
      });

      await t.step("Range GET answers 206 with Content-Range; an unsatisfiable range 416", async () => {
        const bytes = randomBytes(1000);
        const { digest } = await pushBytes(s.client, repo.registry, repo.repository, bytes);
        const part = await s.req(`/v2/team/app/blobs/${digest}`, { headers: { Range: "bytes=100-199" } });
        assertEquals(part.status, 206);
        assertEquals(part.headers.get("Content-Range"), "bytes 100-199/1000");
        assertEquals(new Uint8Array(await part.arrayBuffer()), bytes.subarray(100, 200));
        const tail = await s.req(`/v2/team/app/blobs/${digest}`, { headers: { Range: "bytes=900-" } });
        assertEquals(new Uint8Array(await tail.arrayBuffer()), bytes.subarray(900));
        const bad = await s.req(`/v2/team/app/blobs/${digest}`, { headers: { Range: "bytes=5000-" } });
        assertEquals(bad.status, 416);
        assertEquals(bad.headers.get("Content-Range"), "bytes */1000");
        await bad.body?.cancel();
      });

      await t.step("cross-repository mount, and an upload when the source lacks the blob", async () => {
        const bytes = randomBytes(700);
        const { digest } = await pushBytes(s.client, repo.registry, "team/source", bytes);
        const target = { registry: repo.registry, repository: "team/target" };
        assertEquals(await new Repository(s.client, target).blobs.exists(digest), false);
        const outcome = await new Repository(s.client, target).blobs.push({ digest, size: 700 }, bytes, {
          mountFrom: "team/source",
        });
        assertEquals(outcome, "mounted");
        assertEquals(await new Repository(s.client, target).blobs.exists(digest), true);
        const missing = digestOf("not there");
        const fallback = await s.req(`/v2/team/other/blobs/uploads/?mount=${missing}&from=team/source`, {
          method: "POST",
        });
        assertEquals(fallback.status, 202);
        assert(fallback.headers.get("Location")?.startsWith("/v2/team/other/blobs/uploads/"));
      });

      await t.step("blob DELETE forgets the blob in that repository only", async () => {
        const bytes = randomBytes(50);
        const { digest } = await pushBytes(s.client, repo.registry, "team/one", bytes);
        await pushBytes(s.client, repo.registry, "team/two", bytes);
        const deleted = await s.req(`/v2/team/one/blobs/${digest}`, { method: "DELETE" });
        assertEquals(deleted.status, 202);
        const gone = await s.req(`/v2/team/one/blobs/${digest}`);
        assertEquals(gone.status, 404);
        assertEquals(await errorCode(gone), "BLOB_UNKNOWN");
        assertEquals((await s.req(`/v2/team/two/blobs/${digest}`, { method: "HEAD" })).status, 200);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("registry: manifests", async (t) => {
  await withRegistry(async (s) => {
    const host = s.registry.host;
    let image: { bytes: Uint8Array; digest: Digest };

    await t.step("by tag and by digest, with Content-Type and Docker-Content-Digest", async () => {
      image = await pushImage(s, "apps/web", "v1");
      const byTag = await new Repository(s.client, { registry: host, repository: "apps/web" })
        .manifests.fetch("v1");
      assertEquals(byTag.bytes, image.bytes);
      assertEquals(byTag.descriptor.digest, image.digest);
      const byDigest = await new Repository(s.client, {
        registry: host,
        repository: "apps/web",
      }).manifests.fetch(image.digest);
      assertEquals(byDigest.descriptor.mediaType, OCI_MANIFEST);
      const head = await new Repository(s.client, { registry: host, repository: "apps/web" })
        .manifests.head("v1");
      assertEquals(head?.digest, image.digest);
      assertEquals(head?.size, image.bytes.byteLength);
      const raw = await s.req("/v2/apps/web/manifests/v1");
      assertEquals(raw.headers.get("Content-Type"), OCI_MANIFEST);
      assertEquals(raw.headers.get("Docker-Content-Digest"), image.digest);
      await raw.body?.cancel();
      const unknown = await s.req("/v2/apps/web/manifests/v9");
      assertEquals(unknown.status, 404);
      assertEquals(await errorCode(unknown), "MANIFEST_UNKNOWN");
    });

    await t.step("Docker schema 2 manifests keep their type", async () => {
      const config = await pushBytes(s.client, host, "apps/docker", new TextEncoder().encode("{}"));
      const bytes = encodeManifest({
        schemaVersion: 2,
        mediaType: DOCKER_MANIFEST,
        config: { ...config, mediaType: DOCKER_CONFIG },
        layers: [],
      });
      await new Repository(s.client, { registry: host, repository: "apps/docker" }).manifests.push(
        bytes,
        DOCKER_MANIFEST,
        { tag: "d" },
      );
      const raw = await s.req("/v2/apps/docker/manifests/d");
      assertEquals(raw.headers.get("Content-Type"), DOCKER_MANIFEST);
      assertEquals(new Uint8Array(await raw.arrayBuffer()), bytes);
    });

    await t.step(
      "an index of manifests the repository holds; a missing child is MANIFEST_BLOB_UNKNOWN",
      async () => {
        const index: ImageIndex = {
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: [{
            mediaType: OCI_MANIFEST,
            digest: image.digest,
            size: image.bytes.byteLength,
            platform: { os: "linux", architecture: "amd64" },
          }],
        };
        const bytes = encodeManifest(index);
        await new Repository(s.client, { registry: host, repository: "apps/web" }).manifests
          .push(bytes, OCI_INDEX, { tag: "multi" });
        const fetched = await new Repository(s.client, {
          registry: host,
          repository: "apps/web",
        }).manifests.fetch("multi");
        assertEquals(fetched.descriptor.mediaType, OCI_INDEX);
        const other = encodeManifest({
          ...index,
          manifests: [{ ...index.manifests[0]!, digest: digestOf("x") }],
        });
        const refused = await s.req("/v2/apps/web/manifests/bad", {
          method: "PUT",
          headers: { "Content-Type": OCI_INDEX },
          body: buf(other),
        });
        assertEquals(refused.status, 400);
        assertEquals(await errorCode(refused), "MANIFEST_BLOB_UNKNOWN");
      },
    );

    await t.step(
      "a missing layer is MANIFEST_BLOB_UNKNOWN; bad JSON MANIFEST_INVALID; over 4 MiB 413",
      async () => {
        const manifest = encodeManifest({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: OCI_CONFIG, digest: digestOf("{}"), size: 2 },
          layers: [{ mediaType: "application/octet-stream", digest: digestOf("absent"), size: 6 }],
        });
        const missing = await s.req("/v2/apps/web/manifests/missing", {
          method: "PUT",
          headers: { "Content-Type": OCI_MANIFEST },
          body: buf(manifest),
        });
        assertEquals(missing.status, 400);
        assertEquals(await errorCode(missing), "MANIFEST_BLOB_UNKNOWN");
        const invalid = await s.req("/v2/apps/web/manifests/invalid", {
          method: "PUT",
          headers: { "Content-Type": OCI_MANIFEST },
          body: "{not json",
        });
        assertEquals(invalid.status, 400);
        assertEquals(await errorCode(invalid), "MANIFEST_INVALID");
        const huge = await s.req("/v2/apps/web/manifests/huge", {
          method: "PUT",
          headers: { "Content-Type": OCI_MANIFEST },
          body: new Uint8Array(4 * 1024 * 1024 + 1).fill(32),
        });
        assertEquals(huge.status, 413);
        assertEquals(await errorCode(huge), "MANIFEST_INVALID");
        const wrongDigest = await s.req(`/v2/apps/web/manifests/${digestOf("other")}`, {
          method: "PUT",
          headers: { "Content-Type": OCI_MANIFEST },
          body: buf(image.bytes),
        });
        assertEquals(await errorCode(wrongDigest), "DIGEST_INVALID");
        const badTag = await s.req("/v2/apps/web/manifests/-bad", {
          method: "PUT",
          headers: { "Content-Type": OCI_MANIFEST },
          body: buf(image.bytes),
        });
        assertEquals(await errorCode(badTag), "TAG_INVALID");
        assertEquals((await s.req("/v2/apps/web/manifests/missing", { method: "HEAD" })).status, 404);
        const readBadTag = await s.req("/v2/apps/web/manifests/.INVALID_MANIFEST_NAME");
        assertEquals(
          readBadTag.status,
          404,
          "a tag outside the grammar names nothing: 404, as the conformance suite expects",
        );
        assertEquals(await errorCode(readBadTag), "MANIFEST_UNKNOWN");
      },
    );

    await t.step("tags list pages with n/last and a Link header", async () => {
      for (const tag of ["a", "b", "c", "d"]) {
        await new Repository(s.client, { registry: host, repository: "apps/web" }).manifests.push(
          image.bytes,
          OCI_MANIFEST,
          { tag },
        );
      }
      const first = await s.req("/v2/apps/web/tags/list?n=2");
      assertEquals(await first.json(), { name: "apps/web", tags: ["a", "b"] });
      assertEquals(first.headers.get("Link"), '</v2/apps/web/tags/list?n=2&last=b>; rel="next"');
      const second = await s.req("/v2/apps/web/tags/list?n=2&last=b");
      assertEquals((await second.json()).tags, ["c", "d"]);
      assertEquals(
        await new Repository(s.client, { registry: host, repository: "apps/web" }).tags({ pageSize: 2 }),
        ["a", "b", "c", "d", "multi", "v1"],
      );
      const unknown = await s.req("/v2/apps/nothing/tags/list");
      assertEquals(unknown.status, 404);
      assertEquals(await errorCode(unknown), "NAME_UNKNOWN");
    });

    await t.step("catalog pages with n/last and a Link header", async () => {
      const first = await s.req("/v2/_catalog?n=1");
      assertEquals(await first.json(), { repositories: ["apps/docker"] });
      assertEquals(first.headers.get("Link"), '</v2/_catalog?n=1&last=apps%2Fdocker>; rel="next"');
      assertEquals(await new Registry(s.client, host).repositories({ pageSize: 1 }), [
        "apps/docker",
        "apps/web",
      ]);
    });

    await t.step("referrers: OCI-Subject on push, the index, and the artifactType filter", async () => {
      const subject = { mediaType: OCI_MANIFEST, digest: image.digest, size: image.bytes.byteLength };
      const sbomBytes = encodeManifest({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: "application/spdx+json",
        config: { mediaType: "application/vnd.oci.empty.v1+json", digest: digestOf("{}"), size: 2 },
        layers: [],
        subject,
        annotations: { kind: "sbom" },
      });
      const put = await s.req(`/v2/apps/web/manifests/${digestOf(sbomBytes)}`, {
        method: "PUT",
        headers: { "Content-Type": OCI_MANIFEST },
        body: buf(sbomBytes),
      });
      assertEquals(put.status, 201);
      assertEquals(put.headers.get("OCI-Subject"), image.digest);
      await pushImage(s, "apps/web", undefined, { subject, artifactType: "application/signature" });
      const all = await new Repository(s.client, {
        registry: host,
        repository: "apps/web",
      }).referrers({ digest: image.digest });
      assertEquals(all.length, 2);
      const sboms = await new Repository(s.client, {
        registry: host,
        repository: "apps/web",
      }).referrers({ digest: image.digest }, { artifactType: "application/spdx+json" });
      assertEquals(sboms, [{
        mediaType: OCI_MANIFEST,
        digest: digestOf(sbomBytes),
        size: sbomBytes.byteLength,
        artifactType: "application/spdx+json",
        annotations: { kind: "sbom" },
      }]);
      const raw = await s.req(
        `/v2/apps/web/referrers/${image.digest}?artifactType=${encodeURIComponent("application/spdx+json")}`,
      );
      assertEquals(raw.headers.get("OCI-Filters-Applied"), "artifactType");
      assertEquals(raw.headers.get("Content-Type"), OCI_INDEX);
      assertEquals((await raw.json()).manifests.length, 1);
      const none = await s.req(`/v2/apps/web/referrers/${digestOf("nothing")}`);
      assertEquals((await none.json()).manifests, []);
    });

    await t.step("DELETE by digest removes the manifest and its tags; by tag only the tag", async () => {
      const other = await pushImage(s, "apps/del", "keep");
      await new Repository(s.client, { registry: host, repository: "apps/del" }).manifests.push(
        other.bytes,
        OCI_MANIFEST,
        { tag: "also" },
      );
      assertEquals((await s.req("/v2/apps/del/manifests/also", { method: "DELETE" })).status, 202);
      assertEquals(await new Repository(s.client, { registry: host, repository: "apps/del" }).tags(), [
        "keep",
      ]);
      await new Repository(s.client, { registry: host, repository: "apps/del" })
        .manifests.delete(other.digest);
      await assertRejects(
        () =>
          new Repository(s.client, { registry: host, repository: "apps/del" }).manifests
            .fetch(other.digest),
        RegistryError,
        "MANIFEST_UNKNOWN",
      );
      assertEquals(await new Repository(s.client, { registry: host, repository: "apps/del" }).tags(), []);
    });
  });
});

Deno.test("registry: 20 parallel pushes of the same blob and tag, and of distinct ones, all land", async () => {
  await withRegistry(async (s) => {
    const shared = randomBytes(50_000);
    const distinct = Array.from({ length: 20 }, () => randomBytes(10_000));
    await Promise.all([
      ...distinct.map((bytes) => pushBytes(s.client, s.registry.host, "par/one", bytes)),
      ...Array.from({ length: 20 }, () => pushBytes(s.client, s.registry.host, "par/one", shared)),
      ...Array.from({ length: 20 }, () => pushImage(s, "par/two", "same")),
    ]);
    for (const bytes of [shared, ...distinct]) {
      const response = await s.req(`/v2/par/one/blobs/${digestOf(bytes)}`);
      assertEquals(new Uint8Array(await response.arrayBuffer()), bytes);
    }
    assertEquals(
      await new Repository(s.client, { registry: s.registry.host, repository: "par/two" }).tags(),
      ["same"],
    );
    assertEquals(await filesUnder(join(s.root, "uploads")), []);
  });
});

Deno.test("registry: names with path tricks are NAME_INVALID and touch nothing outside the root", async () => {
  await withRegistry(async (s) => {
    await pushImage(s, "safe/repo", "v1");
    const tricks = [
      "/v2/safe/../safe/repo/tags/list",
      "/v2/safe/%2e%2e/repo/tags/list",
      "/v2/safe/%2E%2E/%2E%2E/etc/manifests/v1",
      "/v2/..%2f..%2fetc/blobs/uploads/",
      "/v2//etc/tags/list",
      "/v2/safe\\repo/tags/list",
      "/v2/Safe/Repo/tags/list",
      "/v2/safe/_manifests/tags/list",
    ];
    for (const target of tricks) {
      const answer = await rawRequest(s.registry.port, target);
      assert(answer.startsWith("HTTP/1.1 400"), `${target}: ${answer.split("\r\n")[0]}`);
      assert(answer.includes('"NAME_INVALID"'), `${target}: ${answer}`);
    }
  });
});

Deno.test("registry: accounts need authentication, by Basic or by a token from the token endpoint", async (t) => {
  const hash = (await (await loadBcrypt()).hash("hunter2", 5)).replace(/^\$2[ab]\$/, "$2y$");
  const dir = await Deno.makeTempDir({ prefix: "kpm_registry_htpasswd_" });
  const htpasswd = join(dir, "htpasswd");
  await Deno.writeTextFile(htpasswd, `bob:${hash}\n`);
  try {
    await withRegistry(async (s) => {
      const host = s.registry.host;
      await t.step("anonymous requests get 401 with a Bearer challenge naming the scope", async () => {
        const ping = await s.req("/v2/");
        assertEquals(ping.status, 401);
        assertEquals(await errorCode(ping), "UNAUTHORIZED");
        const blob = await s.req(`/v2/a/b/blobs/${digestOf("")}`);
        assertEquals(
          blob.headers.get("WWW-Authenticate"),
          `Bearer realm="http://${host}/token",service="kpm-registry",scope="repository:a/b:pull"`,
        );
        await blob.body?.cancel();
      });

      await t.step("kpm's client exchanges credentials for one token and pushes and pulls", async () => {
        const lines: string[] = [];
        let tokenRequests = 0;
        const client = new RegistryClient({
          credentials: () => Promise.resolve({ username: "test", password: "1234" }),
          fetch: (input, init) => {
            if (String(input instanceof Request ? input.url : input).includes("/token")) tokenRequests++;
            return fetch(input, init);
          },
          log: (line) => lines.push(line),
        });
        const bytes = randomBytes(64);
        const digest = digestOf(bytes);
        await new Repository(client, { registry: host, repository: "a/b" }).blobs.push(
          { digest, size: 64 },
          bytes,
        );
        assertEquals(tokenRequests, 1);
        assertEquals(
          await new Repository(client, { registry: host, repository: "a/b" }).blobs.exists(digest),
          true,
        );
      });

      await t.step("a wrong password is refused with 401 UNAUTHORIZED", async () => {
        const client = new RegistryClient({
          credentials: () => Promise.resolve({ username: "test", password: "wrong" }),
        });
        const error = await assertRejects(
          () => new Repository(client, { registry: host, repository: "a/b" }).blobs.exists(digestOf("")),
          RegistryError,
        );
        assertEquals(error.status, 401);
        const token = await s.req("/token?scope=repository:a/b:pull", {
          headers: { Authorization: `Basic ${btoa("test:wrong")}` },
        });
        assertEquals(token.status, 401);
        await token.body?.cancel();
      });

      await t.step("Basic directly, the OAuth2 POST form, and htpasswd bcrypt accounts", async () => {
        const basic = await s.req("/v2/_catalog", {
          headers: { Authorization: `Basic ${btoa("bob:hunter2")}` },
        });
        assertEquals(basic.status, 200);
        assertEquals(await basic.json(), { repositories: ["a/b"] });
        const form = await s.req("/token", {
          method: "POST",
          body: new URLSearchParams({
            grant_type: "password",
            username: "test",
            password: "1234",
            scope: "repository:a/b:pull",
            service: "kpm-registry",
            access_type: "offline",
          }),
        });
        const answer = await form.json();
        assertEquals(answer.token, answer.access_token);
        assertEquals(answer.expires_in, 300);
        assert(answer.issued_at && answer.refresh_token);
        const pull = await s.req("/v2/a/b/tags/list", {
          headers: { Authorization: `Bearer ${answer.token}` },
        });
        assertEquals(pull.status, 200);
        await pull.body?.cancel();
        const push = await s.req("/v2/a/b/blobs/uploads/", {
          method: "POST",
          headers: { Authorization: `Bearer ${answer.token}` },
        });
        assertEquals(push.status, 401);
        assert(push.headers.get("WWW-Authenticate")?.includes('error="insufficient_scope"'));
        await push.body?.cancel();
        const pushToken = await (await s.req("/token?scope=repository:a/b:pull,push", {
          headers: { Authorization: `Basic ${btoa("test:1234")}` },
        })).json();
        const other = randomBytes(32);
        await pushBytes(
          new RegistryClient({ credentials: () => Promise.resolve({ username: "test", password: "1234" }) }),
          host,
          "c/d",
          other,
        );
        const mount = await s.req(`/v2/a/b/blobs/uploads/?mount=${digestOf(other)}&from=c/d`, {
          method: "POST",
          headers: { Authorization: `Bearer ${pushToken.token}` },
        });
        assertEquals(mount.status, 202, "no pull on the source: an upload instead of a mount");
        await mount.body?.cancel();
        const refreshed = await s.req("/token", {
          method: "POST",
          body: new URLSearchParams({
            grant_type: "refresh_token",
            refresh_token: answer.refresh_token,
            scope: "repository:a/b:pull,push",
          }),
        });
        assertEquals(refreshed.status, 200);
        await refreshed.body?.cancel();
      });
    }, { users: [{ username: "test", password: "1234" }], htpasswd });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("registry: data survives a restart; unfinished uploads do not", async () => {
  const root = await Deno.makeTempDir({ prefix: "kpm_registry_restart_" });
  try {
    let registry = await startRegistry({ root });
    const client = new RegistryClient();
    const s = {
      registry,
      root,
      client,
      req: (p: string, i?: RequestInit) => fetch(`${registry.url}${p}`, i),
    };
    const image = await pushImage(s, "keep/me", "v1");
    const started = await s.req("/v2/keep/me/blobs/uploads/", { method: "POST" });
    const location = started.headers.get("Location")!;
    await registry.close();
    registry = await startRegistry({ root });
    try {
      const host = registry.host;
      const fetched = await new Repository(client, { registry: host, repository: "keep/me" })
        .manifests.fetch("v1");
      assertEquals(fetched.descriptor.digest, image.digest);
      const layer = (fetched.manifest as ImageManifest).layers[0]!;
      assertEquals(
        await new Repository(client, { registry: host, repository: "keep/me" }).blobs.exists(layer.digest),
        true,
      );
      const stale = await fetch(`${registry.url}${location}`);
      assertEquals(stale.status, 404);
      assertEquals(await errorCode(stale), "BLOB_UPLOAD_UNKNOWN");
    } finally {
      await registry.close();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("kpm registry serve prints its address, logs requests with -v and stops on SIGTERM", async () => {
  const root = await Deno.makeTempDir({ prefix: "kpm_registry_cli_" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../main.ts", import.meta.url).pathname,
      "registry",
      "serve",
      "--addr",
      "127.0.0.1:0",
      "--root",
      root,
      "--user",
      "test:1234",
      "-v",
    ],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const url = /^Listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(text)?.[1];
    assert(url, `stdout: ${text}`);
    const ping = await fetch(`${url}/v2/`, { headers: { Authorization: `Basic ${btoa("test:1234")}` } });
    assertEquals(ping.status, 200);
    await ping.body?.cancel();
    child.kill("SIGTERM");
    const status = await child.status;
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    const stderr = new TextDecoder().decode(
      new Uint8Array(await new Response(child.stderr).arrayBuffer()),
    );
    assertEquals(status.code, 0, stderr);
    assert(/GET \/v2\/ 200/.test(stderr), stderr);
    assert(stderr.includes("Shutting down"), stderr);
    assert(!stderr.includes("1234"), "the password is not logged");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("kpm registry serve --addr takes HOST:PORT, [IPv6]:PORT and :PORT", () => {
  assertEquals(parseAddr("127.0.0.1:5000"), { hostname: "127.0.0.1", port: 5000 });
  assertEquals(parseAddr("localhost:5001"), { hostname: "localhost", port: 5001 });
  assertEquals(parseAddr("[::1]:5002"), { hostname: "::1", port: 5002 });
  assertEquals(parseAddr(":5003"), { hostname: "0.0.0.0", port: 5003 });
  for (const bad of ["5000", "host:", "host:99999", "a:b:c"]) {
    assertThrows(() => parseAddr(bad), UsageError, bad);
  }
});

Deno.test({
  name: "registry: accounts from a file written by htpasswd -B",
  ignore: await ignoreWithoutPeers(["htpasswd"]),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "kpm_registry_htpasswd_" });
    try {
      const out = await new Deno.Command("htpasswd", { args: ["-Bbn", "ann", "s3cret:x"], stdout: "piped" })
        .output();
      await Deno.writeFile(join(dir, "htpasswd"), out.stdout);
      await withRegistry(async (s) => {
        const ok = await s.req("/v2/", { headers: { Authorization: `Basic ${btoa("ann:s3cret:x")}` } });
        assertEquals(ok.status, 200);
        await ok.body?.cancel();
        const wrong = await s.req("/v2/", { headers: { Authorization: `Basic ${btoa("ann:s3cret")}` } });
        assertEquals(wrong.status, 401);
        await wrong.body?.cancel();
      }, { htpasswd: join(dir, "htpasswd") });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
