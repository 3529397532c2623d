/**
 * Repository and Registry (lib/oci/repository.ts): what a copy into a registry sends, and the one not-found
 * kind every Store shares.
 *
 * @module
 */

import { join } from "node:path";
import { serveRegistry } from "../lib/api/registry.ts";
import { pushToStore } from "../lib/artifact/push.ts";
import { copyGraph } from "../lib/oci/copy.ts";
import { digestOf } from "../lib/oci/digest.ts";
import { openLayout } from "../lib/oci/layout.ts";
import { Registry, Repository } from "../lib/oci/repository.ts";
import { isNotFound, type Store } from "../lib/oci/store.ts";
import { countingClient } from "./counting_client.ts";
import { assert, assertEquals } from "./assert.ts";

Deno.test("a copy into a registry asks once per blob whether it is there", async () => {
  const dir = await Deno.makeTempDir();
  const registry = await serveRegistry({ root: join(dir, "registry") });
  try {
    const source = await openLayout(join(dir, "layout"), { create: true });
    const text = (value: string) => new TextEncoder().encode(value);
    const pushed = await pushToStore(source, [
      { path: "a.txt", content: text("a") },
      { path: "b.txt", content: text("b") },
    ], { cwd: dir, tags: ["v1"] });
    const { client, sent } = countingClient();
    const target = new Repository(client, { registry: registry.host, repository: "copy/me" });
    const result = await copyGraph(source, target, pushed.manifest, { tags: ["v1"] });
    assertEquals(result.copied, 4, "a config, two layers and the manifest");
    const heads = sent.filter((line) => line.startsWith("HEAD ") && line.includes("/blobs/"));
    assertEquals(heads.length, 3, heads.join("\n"));
    assertEquals(new Set(heads).size, 3, "no blob is asked about twice");

    sent.length = 0;
    const again = await copyGraph(source, target, pushed.manifest, { tags: ["v1"] });
    assertEquals(again.skipped, 1);
    assert(sent.every((line) => !line.includes("/blobs/")), sent.join("\n"));
  } finally {
    await registry.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every store says 'not found' the same way: isNotFound", async () => {
  const dir = await Deno.makeTempDir();
  const registry = await serveRegistry({ root: join(dir, "registry") });
  try {
    const { client } = countingClient();
    const stores: Store[] = [
      await openLayout(join(dir, "layout"), { create: true }),
      new Repository(client, { registry: registry.host, repository: "none/here" }),
    ];
    const missing = { mediaType: "application/octet-stream", digest: digestOf("x"), size: 1 };
    for (const store of stores) {
      const failures = await Promise.all([
        store.resolve("v1").catch((error) => error),
        store.fetchManifest(digestOf("{}")).catch((error) => error),
        store.fetchBlob(missing).then((stream) => new Response(stream).arrayBuffer()).catch((error) => error),
      ]);
      for (const failure of failures) assert(isNotFound(failure), `${store.name}: ${failure}`);
      assertEquals(await store.statBlob(missing.digest), undefined);
    }
    assert(!isNotFound(new Error("not found")), "a message is not a kind");
  } finally {
    await registry.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Registry.ping reaches the API root; the catalog lists pushed repositories", async () => {
  const dir = await Deno.makeTempDir();
  const server = await serveRegistry({ root: join(dir, "registry") });
  try {
    const { client, sent } = countingClient();
    const registry = new Registry(client, server.host);
    await registry.ping();
    assertEquals(sent, ["GET /v2/"]);
    const bytes = new TextEncoder().encode("{}");
    await registry.repository("a/b").blobs.push({ digest: digestOf(bytes), size: 2 }, bytes);
    assertEquals(await registry.repositories(), ["a/b"]);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
