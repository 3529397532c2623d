/**
 * The OCI image-layout store (oci-layout, index.json tags, verified atomic blob writes, referrers), graph
 * copy between layouts, push/pull through a layout (folders included, hostile folder layers refused), the
 * annotation file and the REF forms.
 */

import { join } from "node:path";
import { mergeAnnotations, parseAnnotationFile } from "../lib/artifact/annotations.ts";
import { ArtifactError } from "../lib/artifact/files.ts";
import { pullFromStore } from "../lib/artifact/pull.ts";
import { pushToStore } from "../lib/artifact/push.ts";
import { parseTarget } from "../lib/artifact/target.ts";
import { createTarPacker } from "../lib/deps.ts";
import { copyGraph } from "../lib/oci/copy.ts";
import { DigestError, digestOf, digestStream } from "../lib/oci/digest.ts";
import { ANNOTATION_REF_NAME, LayoutError, openLayout } from "../lib/oci/layout.ts";
import type { Descriptor } from "../lib/oci/manifest.ts";
import { OCI_LAYER_TAR_GZIP, OCI_MANIFEST } from "../lib/oci/media_types.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { withTempDir } from "./temp_dir.ts";

function blob(text: string, mediaType = "text/plain"): { bytes: Uint8Array; descriptor: Descriptor } {
  const bytes = new TextEncoder().encode(text);
  return { bytes, descriptor: { mediaType, digest: digestOf(bytes), size: bytes.byteLength } };
}

Deno.test("a new layout has oci-layout and an empty index.json; a folder without oci-layout is refused", async () => {
  await withTempDir(async (dir) => {
    await assertRejects(() => openLayout(join(dir, "none")), LayoutError, "no oci-layout file");
    const store = await openLayout(join(dir, "l"), { create: true });
    assertEquals(JSON.parse(await Deno.readTextFile(join(dir, "l", "oci-layout"))), {
      imageLayoutVersion: "1.0.0",
    });
    assertEquals(JSON.parse(await Deno.readTextFile(join(dir, "l", "index.json"))), {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [],
    });
    assertEquals(await store.tags(), []);
    await openLayout(join(dir, "l"));
  });
});

Deno.test("an endless oci-layout, index.json or manifest blob (a link to /dev/zero) is refused, not read", async () => {
  await withTempDir(async (dir) => {
    const root = join(dir, "l");
    const store = await openLayout(root, { create: true });
    const manifest = blob("{}", OCI_MANIFEST).descriptor;
    await Deno.symlink("/dev/zero", store.blobPath(manifest.digest));
    await assertRejects(() => store.fetchManifest(manifest.digest), LayoutError, "byte limit of a manifest");
    await Deno.remove(join(root, "index.json"));
    await Deno.symlink("/dev/zero", join(root, "index.json"));
    await assertRejects(() => store.resolve("v1"), LayoutError, "byte limit of a manifest");
    await Deno.remove(join(root, "oci-layout"));
    await Deno.symlink("/dev/zero", join(root, "oci-layout"));
    await assertRejects(() => openLayout(root), LayoutError, "byte limit of a manifest");
  });
});

Deno.test("layout blobs are verified before they are renamed into place", async () => {
  await withTempDir(async (dir) => {
    const store = await openLayout(dir, { create: true });
    const good = blob("hello");
    await store.pushBlob(good.descriptor, good.bytes);
    assertEquals(
      await Deno.readTextFile(join(dir, "blobs", "sha256", good.descriptor.digest.slice(7))),
      "hello",
    );
    assert(await store.exists(good.descriptor));
    const lying = { ...blob("expected").descriptor };
    await assertRejects(() => store.pushBlob(lying, new TextEncoder().encode("other!!!")), DigestError);
    assert(!(await store.exists(lying)));
    const left = [...Deno.readDirSync(join(dir, "blobs", "sha256"))].map((e) => e.name);
    assertEquals(left, [good.descriptor.digest.slice(7)], "no temporary file is left");
    const stream = await store.fetchBlob(good.descriptor);
    assertEquals((await digestStream(stream)).digest, good.descriptor.digest);
    await Deno.writeTextFile(join(dir, "blobs", "sha256", good.descriptor.digest.slice(7)), "HELLO");
    await assertRejects(async () => await digestStream(await store.fetchBlob(good.descriptor)), DigestError);
  });
});

Deno.test("push to a layout, tags in index.json, referrers, copy to another layout, pull", async () => {
  await withTempDir(async (dir) => {
    const src = join(dir, "src");
    await Deno.mkdir(join(src, "conf", "sub"), { recursive: true });
    await Deno.writeTextFile(join(src, "hi.txt"), "hi\n");
    await Deno.writeTextFile(join(src, "conf", "sub", "x.yaml"), "x: 1\n");
    const store = await openLayout(join(dir, "layout"), { create: true });
    const pushed = await pushToStore(store, [{ path: "hi.txt" }, { path: "conf" }], {
      cwd: src,
      tags: ["v1", "latest"],
      annotations: { team: "kcl" },
      fileAnnotations: { "hi.txt": { note: "greeting" } },
      configAnnotations: { cfg: "yes" },
      created: new Date("2024-01-02T03:04:05Z"),
    });
    assertEquals(await store.tags(), ["latest", "v1"]);
    assertEquals((await store.resolve("v1")).digest, pushed.manifest.digest);
    const { manifest } = await store.fetchManifest("v1");
    assert(!("manifests" in manifest));
    assertEquals(manifest.artifactType, "application/vnd.unknown.artifact.v1");
    assertEquals(manifest.config.mediaType, "application/vnd.oci.empty.v1+json");
    assertEquals(manifest.config.annotations, { cfg: "yes" });
    assertEquals(manifest.annotations, {
      team: "kcl",
      "org.opencontainers.image.created": "2024-01-02T03:04:05Z",
    });
    assertEquals(manifest.layers[0]!.annotations, {
      note: "greeting",
      "org.opencontainers.image.title": "hi.txt",
    });
    const folder = manifest.layers[1]!;
    assertEquals(folder.mediaType, OCI_LAYER_TAR_GZIP);
    assertEquals(folder.annotations?.["io.deis.oras.content.unpack"], "true");
    assert(folder.annotations?.["io.deis.oras.content.digest"]?.startsWith("sha256:"));

    // Re-tagging moves the tag: one index entry per tag.
    const other = await pushToStore(store, [{ path: "hi.txt" }], {
      cwd: src,
      tags: ["v1"],
      artifactType: "x/y",
    });
    const index = JSON.parse(await Deno.readTextFile(join(dir, "layout", "index.json")));
    assertEquals(
      index.manifests.filter((d: Descriptor) => d.annotations?.[ANNOTATION_REF_NAME] === "v1").length,
      1,
    );
    assertEquals((await store.resolve("v1")).digest, other.manifest.digest);
    await store.tag(pushed.manifest, "v1");

    const sig = await pushToStore(store, [{ path: "hi.txt" }], {
      cwd: src,
      artifactType: "application/vnd.test.sig",
      subject: pushed.manifest,
    });
    const referrers = await store.referrers(pushed.manifest);
    assertEquals(referrers.map((d) => [d.digest, d.artifactType]), [[
      sig.manifest.digest,
      "application/vnd.test.sig",
    ]]);
    assertEquals(await store.referrers(pushed.manifest, { artifactType: "other" }), []);

    const copy = await openLayout(join(dir, "copy"), { create: true });
    const seen: string[] = [];
    const result = await copyGraph(store, copy, pushed.manifest, {
      tags: ["v1"],
      referrers: true,
      onNode: (d, outcome) => seen.push(`${outcome} ${d.mediaType}`),
    });
    assertEquals(result.referrers.map((d) => d.digest), [sig.manifest.digest]);
    assertEquals(result.skipped, 0);
    assertEquals((await copy.referrers(pushed.manifest)).length, 1);
    const again = await copyGraph(store, copy, pushed.manifest, { tags: ["v2"] });
    assertEquals(
      [again.copied, again.skipped],
      [0, 1],
      "a manifest the target has is skipped with its graph",
    );
    assertEquals(await copy.tags(), ["v1", "v2"]);

    const out = join(dir, "out");
    const pulled = await pullFromStore(copy, "v1", { outDir: out });
    assertEquals(pulled.manifest.digest, pushed.manifest.digest);
    assertEquals(await Deno.readTextFile(join(out, "hi.txt")), "hi\n");
    assertEquals(await Deno.readTextFile(join(out, "conf", "sub", "x.yaml")), "x: 1\n");
  });
});

Deno.test("pull skips untitled layers and refuses a hostile folder layer with nothing outside -o", async () => {
  await withTempDir(async (dir) => {
    const store = await openLayout(join(dir, "layout"), { create: true });
    const { readable, controller } = createTarPacker();
    const feeding = (async () => {
      await controller.add({ name: "evil/", type: "directory", size: 0 }).close();
      await controller.add({ name: "evil/up", type: "symlink", linkname: "../../..", size: 0 }).close();
      const body = controller.add({ name: "evil/up/pwned.txt", type: "file", size: 5 }).getWriter();
      await body.write(new TextEncoder().encode("pwned"));
      await body.close();
      controller.finalize();
    })();
    const tar = new Uint8Array(await new Response(readable).arrayBuffer());
    await feeding;
    const gz = new Uint8Array(
      await new Response(
        new Blob([tar]).stream().pipeThrough(
          new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
        ),
      ).arrayBuffer(),
    );
    const layer: Descriptor = {
      mediaType: OCI_LAYER_TAR_GZIP,
      digest: digestOf(gz),
      size: gz.byteLength,
      annotations: {
        "org.opencontainers.image.title": "evil",
        "io.deis.oras.content.unpack": "true",
        "io.deis.oras.content.digest": digestOf(tar),
      },
    };
    const untitled = blob("no title");
    await store.pushBlob(layer, gz);
    await store.pushBlob(untitled.descriptor, untitled.bytes);
    const config = blob("{}", "application/vnd.oci.empty.v1+json");
    await store.pushBlob(config.descriptor, config.bytes);
    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: config.descriptor,
      layers: [untitled.descriptor],
    };
    await store.pushManifest(new TextEncoder().encode(JSON.stringify(manifest)), OCI_MANIFEST, {
      tag: "plain",
    });
    const plain = await pullFromStore(store, "plain", { outDir: join(dir, "plain") });
    assertEquals(plain.skipped.map((d) => d.digest), [untitled.descriptor.digest]);
    assertEquals(plain.files, []);

    const evil = { ...manifest, layers: [layer] };
    await store.pushManifest(new TextEncoder().encode(JSON.stringify(evil)), OCI_MANIFEST, { tag: "evil" });
    const out = join(dir, "a", "b", "out");
    await assertRejects(
      () => pullFromStore(store, "evil", { outDir: out }),
      ArtifactError,
      "symlink pointing outside",
    );
    assertEquals([...Deno.readDirSync(out)], [], "the temporary folder is gone");
    assert(!(await Deno.stat(join(dir, "pwned.txt")).then(() => true, () => false)));
    assert(!(await Deno.stat(join(dir, "a", "pwned.txt")).then(() => true, () => false)));
  });
});

Deno.test("the annotation file: $manifest, $config and files, merged with --annotation", () => {
  const parsed = parseAnnotationFile(
    JSON.stringify({ $manifest: { a: "1" }, $config: { c: "2" }, "hi.txt": { f: "3" } }),
    "ann.json",
  );
  assertEquals(parsed, { manifest: { a: "1" }, config: { c: "2" }, files: { "hi.txt": { f: "3" } } });
  assertEquals(mergeAnnotations({ b: "x" }, parsed, ["hi.txt"]).manifest, { a: "1", b: "x" });
  assertThrows(() => mergeAnnotations({ a: "other" }, parsed, ["hi.txt"]), ArtifactError, "set by both");
  assertThrows(() => mergeAnnotations({}, parsed, ["else.txt"]), ArtifactError, `names "hi.txt"`);
  assertThrows(() => parseAnnotationFile("{", "bad.json"), ArtifactError, `"bad.json"`);
  const created = "org.opencontainers.image.created";
  assertEquals(mergeAnnotations({ [created]: "2026-01-02T03:04:05+01:00" }, undefined, []).manifest, {
    [created]: "2026-01-02T03:04:05+01:00",
  });
  for (const bad of ["x", "2026-01-02", "2026-13-02T03:04:05Z", "2026-01-02 03:04:05Z"]) {
    assertThrows(() => mergeAnnotations({ [created]: bad }, undefined, []), ArtifactError, "RFC 3339");
  }
  assertThrows(() => parseAnnotationFile(`{"f": {"k": 1}}`, "n.json"), ArtifactError, "is not a string");
  assertThrows(() => parseAnnotationFile(`[1]`, "a.json"), ArtifactError, "expected a JSON object");
});

Deno.test("REF forms: registries and oci-layout folders, tags, digests and tag lists", () => {
  const digest = digestOf("x");
  const cases: [string, unknown][] = [
    ["127.0.0.1:5000/a/b:v1", {
      kind: "registry",
      tags: ["v1"],
      repository: "a/b",
      registry: "127.0.0.1:5000",
    }],
    ["127.0.0.1:5000/a/b", { kind: "registry", tags: [], repository: "a/b", registry: "127.0.0.1:5000" }],
    [`localhost:5000/a@${digest}`, {
      kind: "registry",
      tags: [],
      digest,
      repository: "a",
      registry: "localhost:5000",
    }],
    ["oci-layout:out", { kind: "layout", tags: [], dir: "/w/out" }],
    ["oci-layout:./out:v1", { kind: "layout", tags: ["v1"], dir: "/w/out" }],
    ["oci-layout:/abs/dir:v1,v2", { kind: "layout", tags: ["v1", "v2"], dir: "/abs/dir" }],
    [`oci-layout:out@${digest}`, { kind: "layout", tags: [], digest, dir: "/w/out" }],
    ["127.0.0.1:5000/a:v1,v2", {
      kind: "registry",
      tags: ["v1", "v2"],
      repository: "a",
      registry: "127.0.0.1:5000",
    }],
  ];
  for (const [input, expected] of cases) {
    const target = parseTarget(input, { cwd: "/w", multipleTags: true });
    const flat = target.kind === "registry"
      ? {
        kind: target.kind,
        tags: target.tags,
        ...(target.digest && { digest: target.digest }),
        repository: target.ref.repository,
        registry: target.ref.registry,
      }
      : {
        kind: target.kind,
        tags: target.tags,
        ...(target.digest && { digest: target.digest }),
        dir: target.dir,
      };
    assertEquals(flat, expected, input);
  }
  assertThrows(() => parseTarget("127.0.0.1:5000/a:v1,v2", { cwd: "/w" }), ArtifactError, "only push");
  assertThrows(() => parseTarget("oci-layout:", { cwd: "/w" }), ArtifactError, "folder is missing");
  assertThrows(() => parseTarget("oci-layout:x:bad!", { cwd: "/w" }), ArtifactError, "tag");
  assertThrows(
    () => parseTarget("oci-layout:x@sha256:zz", { cwd: "/w" }),
    ArtifactError,
    "not a valid digest",
  );
});

Deno.test("concurrent tags through separate layout stores (as separate processes) are all kept", async () => {
  await withTempDir(async (dir) => {
    const stores = await Promise.all([1, 2, 3, 4].map(() => openLayout(dir, { create: true })));
    const config = blob("{}", "application/vnd.oci.empty.v1+json");
    await stores[0]!.pushBlob(config.descriptor, config.bytes);
    const bytes = new TextEncoder().encode(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: config.descriptor, layers: [] }),
    );
    await Promise.all(
      stores.flatMap((store, i) =>
        [0, 1, 2, 3, 4].map((j) => store.pushManifest(bytes, OCI_MANIFEST, { tag: `t${i}${j}` }))
      ),
    );
    assertEquals((await stores[0]!.tags()).length, 20);
    assert(
      !(await Deno.stat(join(dir, "index.json.lock")).then(() => true, () => false)),
      "the lock is released",
    );
  });
});

Deno.test("copy verifies blobs on the fly: a corrupt source blob fails the copy and lands nowhere", async () => {
  await withTempDir(async (dir) => {
    const src = join(dir, "files");
    await Deno.mkdir(src);
    await Deno.writeTextFile(join(src, "a.txt"), "original");
    const source = await openLayout(join(dir, "source"), { create: true });
    const pushed = await pushToStore(source, [{ path: "a.txt" }], { cwd: src, tags: ["v1"] });
    const layer = pushed.layers[0]!;
    await Deno.writeTextFile(source.blobPath(layer.digest), "tampered");
    const target = await openLayout(join(dir, "target"), { create: true });
    await assertRejects(
      () => copyGraph(source, target, pushed.manifest, { tags: ["v1"], concurrency: 1 }),
      DigestError,
    );
    assert(!(await target.exists(layer)));
    assertEquals(await target.tags(), []);
    assertEquals([...Deno.readDirSync(join(dir, "target", "blobs", "sha256"))].length, 1, "only the config");
  });
});
