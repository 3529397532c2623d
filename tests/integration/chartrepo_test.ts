/**
 * `kpm chart-repo serve` against real registries: the CNCF `distribution` registry and, when present, kpm's
 * embedded registry. Charts are real packaged charts pushed with kpm's own client.
 */

import { loadYaml } from "../../lib/deps.ts";
import { RegistryClient } from "../../lib/oci/client.ts";
import { digestHex, digestOf } from "../../lib/oci/digest.ts";
import { OCI_CONFIG, OCI_LAYER_TAR, OCI_MANIFEST } from "../../lib/oci/media_types.ts";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { availableRegistries, packageChart, pushChart } from "./chart_fixture.ts";
import { startDistribution } from "./support/distribution.ts";
import { ignoreWithoutPeers } from "./support/peers.ts";
import { serveCharts, startChartRepoCli } from "./support/chart_repo.ts";
import { Repository } from "../../lib/oci/repository.ts";

const { parseYaml } = await loadYaml();

type Index = { apiVersion: string; generated: string; entries: Record<string, Record<string, unknown>[]> };

for (const [label, start, peers] of availableRegistries()) {
  Deno.test(`chart-repo serves the Helm charts of the ${label}`, {
    ignore: await ignoreWithoutPeers(peers),
  }, async (t) => {
    const registry = await start();
    const { repo, client, logs } = await serveCharts(registry.host, { refreshSeconds: 3600 });
    const get = (path: string, init?: RequestInit) => fetch(`${repo.url}${path}`, init);
    try {
      const nginx1 = await pushChart(client, { registry: registry.host, repository: "charts/nginx" }, {
        apiVersion: "v2",
        name: "nginx",
        version: "1.0.0",
        description: "A web server",
        appVersion: "1.25.3",
        keywords: ["http", "proxy"],
        maintainers: [{ name: "Ann", email: "ann@example.com" }],
        annotations: { category: "web" },
        type: "application",
      }, {
        prov: new TextEncoder().encode("-----BEGIN PGP SIGNED MESSAGE-----\n"),
        created: "2024-01-02T03:04:05Z",
      });
      const nginx2 = await pushChart(client, { registry: registry.host, repository: "charts/nginx" }, {
        apiVersion: "v2",
        name: "nginx",
        version: "1.2.0+build.5",
      });
      const alpine = await pushChart(client, { registry: registry.host, repository: "alpine" }, {
        apiVersion: "v1",
        name: "alpine",
        version: "0.1.0",
      });
      await pushImage(client, registry.host);

      let etag = "";
      await t.step("index.yaml lists exactly the charts, with their fields and digests", async () => {
        const response = await get("/index.yaml?refresh=1");
        assertEquals(response.status, 200);
        etag = response.headers.get("ETag") ?? "";
        assert(etag, "an ETag");
        const index = parseYaml(await response.text()) as Index;
        assertEquals(index.apiVersion, "v1");
        assert(!Number.isNaN(Date.parse(index.generated)));
        assertEquals(Object.keys(index.entries), ["alpine", "nginx"]);
        assertEquals(index.entries.nginx!.map((e) => e.version), ["1.2.0+build.5", "1.0.0"]);
        assertEquals(index.entries.nginx![1], {
          apiVersion: "v2",
          annotations: { category: "web" },
          appVersion: "1.25.3",
          created: "2024-01-02T03:04:05Z",
          description: "A web server",
          digest: digestHex(digestOf(nginx1.tgz)),
          keywords: ["http", "proxy"],
          maintainers: [{ email: "ann@example.com", name: "Ann" }],
          name: "nginx",
          type: "application",
          urls: ["charts/nginx-1.0.0.tgz"],
          version: "1.0.0",
        });
        assertEquals(index.entries.nginx![0]!.digest, digestHex(nginx2.chart.digest));
        assertEquals(index.entries.nginx![0]!.urls, ["charts/nginx-1.2.0%2Bbuild.5.tgz"]);
        assertEquals(index.entries.alpine![0]!.digest, digestHex(digestOf(alpine.tgz)));
        assert(typeof index.entries.alpine![0]!.created === "string");
      });

      await t.step("downloads are byte-identical, + versions included", async () => {
        for (
          const [path, bytes] of [
            ["/charts/nginx-1.0.0.tgz", nginx1.tgz],
            ["/charts/nginx-1.0.0.tgz.prov", nginx1.prov!],
            ["/charts/nginx-1.2.0+build.5.tgz", nginx2.tgz],
            ["/charts/nginx-1.2.0%2Bbuild.5.tgz", nginx2.tgz],
            ["/charts/alpine-0.1.0.tgz", alpine.tgz],
          ] as const
        ) {
          const response = await get(path);
          assertEquals(response.status, 200, path);
          assertEquals(new Uint8Array(await response.arrayBuffer()), bytes, path);
        }
      });

      await t.step("unknown files are 404 with a clear message", async () => {
        for (const path of ["/charts/nginx-9.9.9.tgz", "/charts/alpine-0.1.0.tgz.prov", "/charts/x.zip"]) {
          const response = await get(path);
          assertEquals(response.status, 404, path);
          assert((await response.text()).length > 10);
        }
        const text = await (await get("/charts/nginx-9.9.9.tgz")).text();
        assertStringIncludes(text, `"nginx-9.9.9.tgz" is not in registry "${registry.host}"`);
      });

      await t.step("If-None-Match answers 304 while the index is unchanged", async () => {
        const response = await get("/index.yaml", { headers: { "If-None-Match": etag } });
        assertEquals(response.status, 304);
        await response.body?.cancel();
        const refreshed = await get("/index.yaml?refresh=1", { headers: { "If-None-Match": etag } });
        assertEquals(refreshed.status, 304, "an unchanged registry keeps the ETag");
        await refreshed.body?.cancel();
      });

      await t.step("new charts are served once a refresh indexes them, not before", async () => {
        const next = await pushChart(client, { registry: registry.host, repository: "charts/nginx" }, {
          apiVersion: "v2",
          name: "nginx",
          version: "1.3.0",
        });
        const redis = await pushChart(client, { registry: registry.host, repository: "db/redis" }, {
          apiVersion: "v2",
          name: "redis",
          version: "7.0.0",
        });
        const stale = await get("/index.yaml", { headers: { "If-None-Match": etag } });
        assertEquals(stale.status, 304, "within the refresh interval the index is cached");
        await stale.body?.cancel();
        const pushed = [["/charts/nginx-1.3.0.tgz", next.tgz], [
          "/charts/redis-7.0.0.tgz",
          redis.tgz,
        ]] as const;
        for (const [path] of pushed) {
          const response = await get(path);
          assertEquals(response.status, 404, `${path} before the index names it`);
          await response.body?.cancel();
        }
        const post = await get("/refresh", { method: "POST" });
        assertEquals(post.status, 200);
        await post.body?.cancel();
        const response = await get("/index.yaml", { headers: { "If-None-Match": etag } });
        assertEquals(response.status, 200);
        assert(response.headers.get("ETag") !== etag);
        const index = parseYaml(await response.text()) as Index;
        assertEquals(index.entries.nginx!.map((e) => e.version), ["1.3.0", "1.2.0+build.5", "1.0.0"]);
        assertEquals(index.entries.redis![0]!.digest, digestHex(redis.chart.digest));
        for (const [path, bytes] of pushed) {
          const response = await get(path);
          assertEquals(response.status, 200, path);
          assertEquals(new Uint8Array(await response.arrayBuffer()), bytes, path);
        }
      });

      await t.step("health endpoint", async () => {
        const response = await get("/healthz");
        assertEquals([response.status, await response.text()], [200, "ok\n"]);
      });
      assertEquals(logs.filter((l) => !l.includes("images/app")), [], logs.join("\n"));
    } finally {
      await repo.close();
      await registry.close();
    }
  });
}

Deno.test("kpm chart-repo serve reads registry credentials from --docker-config", {
  ignore: await ignoreWithoutPeers(["docker-registry", "htpasswd"]),
}, async () => {
  const registry = await startDistribution({
    auth: "htpasswd",
    users: [{ username: "alice", password: "s3cret" }],
  });
  const dir = await Deno.makeTempDir({ prefix: "kpm-chartrepo-cli-" });
  const config = `${dir}/dockerconfigjson`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({ auths: { [registry.host]: { auth: btoa("alice:s3cret") } } }),
  );
  const client = new RegistryClient({
    credentials: () => Promise.resolve({ username: "alice", password: "s3cret" }),
  });
  const pushed = await pushChart(client, { registry: registry.host, repository: "team/web" }, {
    apiVersion: "v2",
    name: "web",
    version: "0.3.0",
  });
  try {
    const repo = await startChartRepoCli([
      "--port=0",
      "--addr=127.0.0.1",
      "--storage=registry",
      `--storage-registry-repo=${registry.host}`,
      "--storage-registry-scheme=http",
      `--docker-config=${config}`,
    ]);
    const index = parseYaml(await (await fetch(`${repo.url}/index.yaml`)).text()) as Index;
    assertEquals(index.entries.web?.[0]?.digest, digestHex(pushed.chart.digest));
    const tgz = new Uint8Array(await (await fetch(`${repo.url}/charts/web-0.3.0.tgz`)).arrayBuffer());
    assertEquals(tgz, pushed.tgz);
    assertEquals((await repo.stop()).code, 0);
  } finally {
    await registry.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** A container image (not a chart) under a version-like tag: must be skipped. */
async function pushImage(client: RegistryClient, registry: string): Promise<void> {
  const target = { registry, repository: "images/app" };
  const config = new TextEncoder().encode('{"architecture":"amd64","os":"linux"}');
  const layer = await packageChart({ name: "notachart", version: "0.0.1" });
  const descriptors = [
    { mediaType: OCI_CONFIG, digest: digestOf(config), size: config.byteLength },
    { mediaType: OCI_LAYER_TAR, digest: digestOf(layer), size: layer.byteLength },
  ];
  await new Repository(client, target).blobs.push(descriptors[0]!, config);
  await new Repository(client, target).blobs.push(descriptors[1]!, layer);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: descriptors[0],
    layers: [descriptors[1]],
  };
  await new Repository(client, target).manifests.push(
    new TextEncoder().encode(JSON.stringify(manifest)),
    OCI_MANIFEST,
    { tag: "1.0.0" },
  );
}
