/**
 * `collectGarbage` (kpm registry gc) over a folder filled through the registry's API by kpm's client: what it
 * keeps (tagged, untagged and referrer manifests, index children, blobs another repository still uses) and
 * what it frees (deleted manifests' content, blob links to freed content, leftover uploads, temporary files),
 * `--dry-run`, and the lock against a running server.
 */

import { join } from "node:path";
import { RegistryClient } from "../lib/oci/client.ts";
import { type Digest, digestOf } from "../lib/oci/digest.ts";
import { type Descriptor, encodeManifest, type ImageIndex, type ImageManifest } from "../lib/oci/manifest.ts";
import { OCI_CONFIG, OCI_INDEX, OCI_MANIFEST } from "../lib/oci/media_types.ts";
import { collectGarbage } from "../lib/server/gc.ts";
import { type RunningRegistry, startRegistry } from "../lib/server/registry.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { Repository } from "../lib/oci/repository.ts";

const client = new RegistryClient();

async function blob(registry: RunningRegistry, repository: string, text: string): Promise<Descriptor> {
  const bytes = new TextEncoder().encode(text);
  const descriptor = {
    mediaType: "application/octet-stream",
    digest: digestOf(bytes),
    size: bytes.byteLength,
  };
  await new Repository(client, { registry: registry.host, repository }).blobs.push(descriptor, bytes);
  return descriptor;
}

async function manifest(
  registry: RunningRegistry,
  repository: string,
  content: ImageManifest | ImageIndex,
  tag?: string,
): Promise<Descriptor> {
  const bytes = encodeManifest(content);
  const mediaType = content.mediaType!;
  await new Repository(client, { registry: registry.host, repository }).manifests.push(
    bytes,
    mediaType,
    { tag },
  );
  return { mediaType, digest: digestOf(bytes), size: bytes.byteLength };
}

async function image(
  registry: RunningRegistry,
  repository: string,
  layerText: string,
  extra: Partial<ImageManifest> = {},
) {
  const config = { ...(await blob(registry, repository, "{}")), mediaType: OCI_CONFIG };
  const layer = await blob(registry, repository, layerText);
  const content: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config,
    layers: [layer],
    ...extra,
  };
  return { layer, content };
}

Deno.test("gc keeps every manifest a repository holds and what they reference, frees the rest, and says what", async () => {
  const root = await Deno.makeTempDir({ prefix: "kpm_registry_gc_" });
  let registry = await startRegistry({ root, delete: true });
  try {
    const kept = await image(registry, "team/app", "kept layer");
    const keptManifest = await manifest(registry, "team/app", kept.content, "v1");
    const untagged = await image(registry, "team/app", "untagged layer");
    await manifest(registry, "team/app", untagged.content);
    const child = await image(registry, "team/multi", "child layer");
    const childManifest = await manifest(registry, "team/multi", child.content);
    await manifest(registry, "team/multi", {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [childManifest],
    }, "v1");
    const referrer = await image(registry, "team/app", "signature", { subject: keptManifest });
    await manifest(registry, "team/app", referrer.content);
    const shared = await image(registry, "team/other", "shared layer");
    const sharedInOther = await manifest(registry, "team/other", shared.content, "v1");
    const sharedHere = await image(registry, "team/app", "shared layer", { annotations: { in: "team/app" } });
    const deletedShared = await manifest(registry, "team/app", sharedHere.content, "gone");
    const deleted = await image(registry, "team/app", "deleted layer");
    const deletedManifest = await manifest(registry, "team/app", deleted.content, "gone2");
    const orphan = await blob(registry, "team/app", "a blob no manifest references");
    for (const digest of [deletedManifest.digest, deletedShared.digest]) {
      await new Repository(client, { registry: registry.host, repository: "team/app" }).manifests
        .delete(digest);
    }
    await registry.close();
    // What a crash leaves: a temporary file of an interrupted write, an upload of the previous run.
    await Deno.writeTextFile(
      join(root, "blobs", "sha256", kept.layer.digest.slice(7, 9), ".stray.abcd.tmp"),
      "half written",
    );
    await Deno.writeTextFile(join(root, "uploads", "leftover"), "upload");

    const dry = await collectGarbage(root, { dryRun: true });
    const report = await collectGarbage(root);
    assertEquals(dry.bytes, report.bytes);
    const removed = new Set(report.removed.map((r) => r.digest));
    const expected: string[] = [
      deleted.layer.digest,
      deletedManifest.digest,
      orphan.digest,
      deletedShared.digest,
    ];
    for (const digest of expected) assert(removed.has(digest), `${digest} freed`);
    assert([...removed].some((r) => r.endsWith(".stray.abcd.tmp")), "the temporary file is freed");
    assertEquals(report.removed.length, expected.length + 1);
    assertEquals(report.uploads, 1);
    assertEquals(report.links, 2, "team/app's links to the deleted layer and the orphan");
    const freed = deleted.layer.size + deletedManifest.size + orphan.size + deletedShared.size +
      "half written".length +
      "upload".length;
    assertEquals(report.bytes, freed);

    registry = await startRegistry({ root });
    const host = registry.host;
    for (const digest of [keptManifest.digest, childManifest.digest, sharedInOther.digest] as Digest[]) {
      const repository = digest === childManifest.digest
        ? "team/multi"
        : digest === sharedInOther.digest
        ? "team/other"
        : "team/app";
      const fetched = await new Repository(client, { registry: host, repository }).manifests.fetch(
        digest,
      );
      for (const layer of (fetched.manifest as ImageManifest).layers) {
        const response = await fetch(`${registry.url}/v2/${repository}/blobs/${layer.digest}`);
        assertEquals(response.status, 200, `${repository} still serves ${layer.digest}`);
        await response.body?.cancel();
      }
    }
    const referrers = await (await fetch(`${registry.url}/v2/team/app/referrers/${keptManifest.digest}`))
      .json();
    assertEquals(referrers.manifests.length, 1, "the referrer survives");
    const gone = await fetch(`${registry.url}/v2/team/app/blobs/${deleted.layer.digest}`);
    assertEquals(gone.status, 404);
    await gone.body?.cancel();
  } finally {
    await registry.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("gc refuses a folder a server is using, and a folder that is not a registry", async () => {
  const root = await Deno.makeTempDir({ prefix: "kpm_registry_gc_lock_" });
  const registry = await startRegistry({ root });
  try {
    const error = await assertRejects(() => collectGarbage(root), Error);
    assert(error.message.includes("another kpm process"), error.message);
    const second = await assertRejects(() => startRegistry({ root }), Error);
    assert(second.message.includes("another kpm process"), "two servers on one folder are refused too");
  } finally {
    await registry.close();
  }
  assertEquals((await collectGarbage(root)).bytes, 0, "once the server stopped, gc runs");
  const empty = await Deno.makeTempDir({ prefix: "kpm_registry_gc_empty_" });
  const notRegistry = await assertRejects(() => collectGarbage(empty), Error);
  assert(notRegistry.message.includes("not a kpm registry folder"), notRegistry.message);
  await Deno.remove(root, { recursive: true });
  await Deno.remove(empty, { recursive: true });
});
