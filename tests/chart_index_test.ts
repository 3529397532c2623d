import { loadYaml } from "../lib/deps.ts";
import { type Digest, digestHex, digestOf } from "../lib/oci/digest.ts";
import type { Descriptor, ImageManifest, Manifest } from "../lib/oci/manifest.ts";
import {
  HELM_CHART,
  HELM_CONFIG,
  HELM_PROVENANCE,
  OCI_CONFIG,
  OCI_MANIFEST,
} from "../lib/oci/media_types.ts";
import { ChartIndexer, type ChartSource } from "../lib/server/chart_index.ts";
import { renderIndex } from "../lib/server/chart_index_yaml.ts";
import { tagFromVersion, versionFromTag } from "../lib/server/chart_names.ts";
import { assert, assertEquals } from "./assert.ts";

const { parseYaml } = await loadYaml();
const encoder = new TextEncoder();

/** An in-memory registry that counts the requests it answers. */
class StubSource implements ChartSource {
  blobs = new Map<Digest, Uint8Array>();
  manifests = new Map<Digest, Manifest>();
  tags = new Map<string, Map<string, Digest>>();
  calls = { catalog: 0, tags: 0, resolve: 0, manifest: 0, blob: 0 };
  broken = new Set<string>();

  blob(bytes: Uint8Array | string, mediaType: string): Descriptor {
    const data = typeof bytes === "string" ? encoder.encode(bytes) : bytes;
    const digest = digestOf(data);
    this.blobs.set(digest, data);
    return { mediaType, digest, size: data.byteLength };
  }

  push(repository: string, tag: string, manifest: Manifest): Digest {
    const digest = digestOf(JSON.stringify(manifest));
    this.manifests.set(digest, manifest);
    const tags = this.tags.get(repository) ?? new Map();
    tags.set(tag, digest);
    this.tags.set(repository, tags);
    return digest;
  }

  chart(
    repository: string,
    metadata: Record<string, unknown>,
    options: { prov?: boolean; created?: string } = {},
  ) {
    const layers = [this.blob(`tgz of ${JSON.stringify(metadata)}`, HELM_CHART)];
    if (options.prov) layers.push(this.blob(`prov of ${metadata.name}`, HELM_PROVENANCE));
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: this.blob(JSON.stringify(metadata), HELM_CONFIG),
      layers,
      annotations: options.created ? { "org.opencontainers.image.created": options.created } : undefined,
    };
    this.push(repository, tagFromVersion(String(metadata.version)), manifest);
    return layers[0]!;
  }

  listRepositories() {
    this.calls.catalog++;
    return Promise.resolve([...this.tags.keys()].sort());
  }
  listTags(repository: string) {
    this.calls.tags++;
    if (this.broken.has(repository)) return Promise.reject(new Error("UNAUTHORIZED"));
    return Promise.resolve([...(this.tags.get(repository)?.keys() ?? [])]);
  }
  resolveTag(repository: string, tag: string) {
    this.calls.resolve++;
    return Promise.resolve(this.tags.get(repository)?.get(tag));
  }
  fetchManifest(_repository: string, digest: Digest) {
    this.calls.manifest++;
    return Promise.resolve(this.manifests.get(digest)!);
  }
  fetchBlob(_repository: string, descriptor: Descriptor) {
    this.calls.blob++;
    return Promise.resolve(this.blobs.get(descriptor.digest)!);
  }
}

const FIXED = () => new Date("2024-01-02T03:04:05.000Z");

Deno.test("chart versions map to tags with _ for +", () => {
  assertEquals(versionFromTag("1.2.3_build.7"), "1.2.3+build.7");
  assertEquals(versionFromTag("1.0.0-rc.1"), "1.0.0-rc.1");
  assertEquals(versionFromTag("latest"), undefined);
  assertEquals(versionFromTag("sha256-abc"), undefined);
  assertEquals(versionFromTag("v2.0.0"), "v2.0.0");
  for (const hostile of ["1.0.0/../../x", "01.0.0", "1.0", "1.0.0_a_b", "9999999999999999.0.0", "1.0.0-"]) {
    assertEquals(versionFromTag(hostile), undefined, hostile);
  }
  assertEquals(tagFromVersion("1.2.3+build.7"), "1.2.3_build.7");
});

Deno.test("index lists charts with every Chart.yaml field, newest first, skipping other artifacts", async () => {
  const source = new StubSource();
  const nginx1 = source.chart("charts/nginx", {
    apiVersion: "v2",
    name: "nginx",
    version: "1.0.0",
    description: "web",
    keywords: ["http"],
    maintainers: [{ name: "a", email: "a@example.com" }],
    annotations: { category: "web" },
    dependencies: [{ name: "common", version: "1.x", repository: "oci://x" }],
  }, { created: "2023-05-06T07:08:09Z", prov: true });
  source.chart("charts/nginx", { apiVersion: "v2", name: "nginx", version: "1.10.0" });
  source.chart("charts/nginx", { apiVersion: "v2", name: "nginx", version: "1.2.0+build.5" });
  source.chart("other/alpine", { apiVersion: "v1", name: "alpine", version: "0.1.0", appVersion: "3.19" });
  // an image, a chart under a non-version tag, and a tag whose config names another version
  source.push("images/app", "1.0.0", {
    schemaVersion: 2,
    config: source.blob("{}", OCI_CONFIG),
    layers: [source.blob("x", "application/vnd.oci.image.layer.v1.tar")],
  });
  source.push(
    "charts/nginx",
    "latest",
    source.manifests.get(source.tags.get("charts/nginx")!.get("1.0.0")!)!,
  );
  source.push("charts/nginx", "9.9.9", source.manifests.get(source.tags.get("charts/nginx")!.get("1.0.0")!)!);
  source.tags.set("broken/repo", new Map());
  source.broken.add("broken/repo");
  const lines: string[] = [];
  const indexer = new ChartIndexer(source, { now: FIXED, log: (l) => lines.push(l) });
  const catalog = await indexer.walk();
  const rendered = renderIndex(catalog.charts, "2024-02-03T00:00:00.000Z");
  const index = parseYaml(rendered.body) as {
    apiVersion: string;
    generated: string;
    entries: Record<string, Record<string, unknown>[]>;
  };
  assertEquals(index.apiVersion, "v1");
  assertEquals(index.generated, "2024-02-03T00:00:00.000Z");
  assertEquals(Object.keys(index.entries), ["alpine", "nginx"]);
  assertEquals(index.entries.nginx!.map((e) => e.version), ["1.10.0", "1.2.0+build.5", "1.0.0"]);
  assertEquals(index.entries.nginx![2], {
    apiVersion: "v2",
    annotations: { category: "web" },
    created: "2023-05-06T07:08:09Z",
    dependencies: [{ name: "common", repository: "oci://x", version: "1.x" }],
    description: "web",
    digest: digestHex(nginx1.digest),
    keywords: ["http"],
    maintainers: [{ email: "a@example.com", name: "a" }],
    name: "nginx",
    urls: ["charts/nginx-1.0.0.tgz"],
    version: "1.0.0",
  });
  assertEquals(index.entries.nginx![1]!.urls, ["charts/nginx-1.2.0%2Bbuild.5.tgz"]);
  assertEquals(index.entries.nginx![0]!.created, FIXED().toISOString());
  assertEquals(index.entries.alpine![0]!.appVersion, "3.19");
  assert(rendered.files.get("nginx-1.0.0.tgz")?.provenance, "provenance layer recorded");
  assert(lines.some((l) => l.includes('"broken/repo"') && l.includes("UNAUTHORIZED")), lines.join("\n"));
  assert(lines.some((l) => l.includes('"charts/nginx:9.9.9"')), lines.join("\n"));
  assertEquals(rendered.body.split("\n").slice(0, 2), ["apiVersion: v1", "entries:"]);
});

Deno.test("a warm walk reuses manifests and configs by digest and only re-resolves tags", async () => {
  const source = new StubSource();
  for (let i = 0; i < 5; i++) {
    source.chart(`charts/c${i}`, { apiVersion: "v2", name: `c${i}`, version: "1.0.0" });
  }
  const indexer = new ChartIndexer(source, { now: FIXED });
  await indexer.walk();
  assertEquals(source.calls, { catalog: 1, tags: 5, resolve: 5, manifest: 5, blob: 5 });
  source.chart("charts/c0", { apiVersion: "v2", name: "c0", version: "1.1.0" });
  const warm = await indexer.walk();
  assertEquals(source.calls, { catalog: 2, tags: 10, resolve: 11, manifest: 6, blob: 6 });
  assertEquals(warm.charts.length, 6);
});

Deno.test("equal entries keep generated, so the body and its ETag stay the same", async () => {
  const source = new StubSource();
  source.chart("charts/a", { apiVersion: "v2", name: "a", version: "1.0.0" });
  const indexer = new ChartIndexer(source, { now: FIXED });
  const first = renderIndex((await indexer.walk()).charts, "2024-01-01T00:00:00.000Z");
  const second = renderIndex((await indexer.walk()).charts, "2024-06-01T00:00:00.000Z", { previous: first });
  assertEquals(second.body, first.body);
  source.chart("charts/a", { apiVersion: "v2", name: "a", version: "1.0.1" });
  const third = renderIndex((await indexer.walk()).charts, "2024-06-01T00:00:00.000Z", { previous: second });
  assert(third.body.includes("2024-06-01") && third.body !== first.body);
});

Deno.test("the same chart version in two repositories is left out, never resolved by order", async () => {
  const source = new StubSource();
  source.chart("a/web", { apiVersion: "v2", name: "web", version: "1.0.0", description: "a" });
  source.chart("b/web", { apiVersion: "v2", name: "web", version: "1.0.0", description: "b" });
  source.chart("b/web", { apiVersion: "v2", name: "web", version: "1.1.0", description: "b" });
  const rendered = renderIndex((await new ChartIndexer(source).walk()).charts, "x");
  assertEquals([...rendered.files.keys()], ["web-1.1.0.tgz"]);
  assertEquals([...rendered.conflicts.values()], [
    'chart "web-1.0.0.tgz" is in "a/web" and "b/web": left out of the index until only one repository holds it',
  ]);
  assert(!rendered.body.includes("1.0.0"), rendered.body);
});

Deno.test("charts not named after their repository, and configs Helm could not load, are left out", async () => {
  const source = new StubSource();
  source.chart("team/web", { apiVersion: "v2", name: "web", version: "1.0.0" });
  source.chart("evil/db", { apiVersion: "v2", name: "web", version: "2.0.0" });
  source.chart("odd/keys", { apiVersion: "v2", name: "keys", version: "1.0.0", keywords: "not-a-list" });
  source.chart("extra/app", { apiVersion: "v2", name: "app", version: "1.0.0", surprise: { a: 1 } }, {
    created: "yesterday",
  });
  const lines: string[] = [];
  const catalog = await new ChartIndexer(source, { now: FIXED, log: (l) => lines.push(l) }).walk();
  assertEquals(catalog.charts.map((c) => `${c.repository}:${c.version}`), [
    "extra/app:1.0.0",
    "team/web:1.0.0",
  ]);
  assertEquals(catalog.charts[0]!.metadata, { name: "app", version: "1.0.0", apiVersion: "v2" });
  assertEquals(catalog.charts[0]!.created, FIXED().toISOString());
  assert(
    lines.some((l) => l.includes('"evil/db:2.0.0"') && l.includes('named "web", not "db"')),
    lines.join("\n"),
  );
  assert(lines.some((l) => l.includes('field "keywords"')), lines.join("\n"));
});

Deno.test("a lasting problem is logged once, and again when it comes back", async () => {
  const source = new StubSource();
  source.chart("charts/a", { apiVersion: "v2", name: "a", version: "1.0.0" });
  source.tags.set("broken/repo", new Map());
  source.broken.add("broken/repo");
  const lines: string[] = [];
  const indexer = new ChartIndexer(source, { log: (l) => lines.push(l) });
  await indexer.walk();
  await indexer.walk();
  assertEquals(lines.length, 1);
  source.broken.delete("broken/repo");
  await indexer.walk();
  source.broken.add("broken/repo");
  await indexer.walk();
  assertEquals(lines.length, 2);
});
