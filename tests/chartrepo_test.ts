/**
 * The chart-repo server against a fake registry that counts requests: caching by digest, a corrupted layer,
 * the https → http probe, and the CLI's start-up line and graceful shutdown.
 */

import { RegistryClient } from "../lib/oci/client.ts";
import { digestOf } from "../lib/oci/digest.ts";
import { HELM_CHART, HELM_CONFIG, OCI_MANIFEST } from "../lib/oci/media_types.ts";
import { type ChartRepoScheme, connectRegistry, startChartRepo } from "../lib/server/chartrepo.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./assert.ts";
import { serveCharts, startChartRepoCli } from "./integration/support/chart_repo.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

const encoder = new TextEncoder();

/** A minimal read-only registry: catalog, tags, manifests (HEAD/GET) and blobs; counts requests by kind. */
function fakeRegistry() {
  const blobs = new Map<string, Uint8Array<ArrayBuffer>>();
  const tags = new Map<string, Map<string, Uint8Array<ArrayBuffer>>>();
  const counts: Record<string, number> = {};
  const corrupt = new Set<string>();
  const count = (kind: string) => counts[kind] = (counts[kind] ?? 0) + 1;
  const blob = (bytes: Uint8Array<ArrayBuffer>, mediaType: string) => {
    const digest = digestOf(bytes);
    blobs.set(digest, bytes);
    return { mediaType, digest, size: bytes.byteLength };
  };
  const addChart = (repository: string, name: string, version: string) => {
    const tgz = encoder.encode(`chart ${name} ${version} `.repeat(1000));
    const layer = blob(tgz, HELM_CHART);
    const manifest = encoder.encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: blob(encoder.encode(JSON.stringify({ name, version, apiVersion: "v2" })), HELM_CONFIG),
      layers: [layer],
    }));
    const list = tags.get(repository) ?? new Map();
    list.set(version.replaceAll("+", "_"), manifest);
    tags.set(repository, list);
    return { tgz, layer };
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const path = new URL(request.url).pathname;
    let match;
    if (path === "/v2/") return count("ping"), new Response("{}");
    if (path === "/v2/_catalog") {
      count("catalog");
      return Response.json({ repositories: [...tags.keys()].sort() });
    }
    if ((match = /^\/v2\/(.+)\/tags\/list$/.exec(path))) {
      count("tags");
      return Response.json({ name: match[1], tags: [...(tags.get(match[1]!)?.keys() ?? [])] });
    }
    if ((match = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path))) {
      count(`manifest ${request.method}`);
      const list = tags.get(match[1]!);
      const bytes = list?.get(match[2]!) ??
        [...(list?.values() ?? [])].find((m) => digestOf(m) === match![2]);
      if (!bytes) return new Response("{}", { status: 404 });
      const headers = { "Content-Type": OCI_MANIFEST, "Docker-Content-Digest": digestOf(bytes) };
      return new Response(request.method === "HEAD" ? null : bytes, { headers });
    }
    if ((match = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(path))) {
      count("blob");
      const bytes = blobs.get(match[2]!);
      if (!bytes) return new Response("{}", { status: 404 });
      if (!corrupt.has(match[2]!)) return new Response(bytes);
      const bad = bytes.slice();
      bad[bad.length - 1] = bad[bad.length - 1]! ^ 1;
      return new Response(bad);
    }
    return new Response("unexpected", { status: 400 });
  });
  const host = `127.0.0.1:${server.addr.port}`;
  return { host, addChart, counts, corrupt, close: () => server.shutdown() };
}

Deno.test("warm refreshes cost one HEAD per tag; manifests and configs are fetched once", async () => {
  const registry = fakeRegistry();
  for (let i = 0; i < 3; i++) registry.addChart(`charts/c${i}`, `c${i}`, "1.0.0");
  const { repo } = await serveCharts(registry.host);
  try {
    await (await fetch(`${repo.url}/index.yaml?refresh=1`)).text();
    const cold = { ...registry.counts };
    assertEquals(cold["manifest GET"], 3);
    await (await fetch(`${repo.url}/index.yaml?refresh=1`)).text();
    assertEquals(registry.counts["manifest GET"], 3, "manifests cached by digest");
    assertEquals(registry.counts.blob, cold.blob, "configs cached by digest");
    assertEquals(registry.counts["manifest HEAD"], cold["manifest HEAD"]! + 3);
    assertEquals(registry.counts.catalog, cold.catalog! + 1);
  } finally {
    await repo.close();
    await registry.close();
  }
});

Deno.test("unknown chart files are answered from the index: no registry walk, at most one rebuild per refresh", async () => {
  const registry = fakeRegistry();
  for (let i = 0; i < 5; i++) registry.addChart(`team${i}/web`, "web", "1.0.0");
  registry.addChart("charts/app", "app", "1.0.0");
  let clock = Date.parse("2026-01-01T00:00:00Z");
  const repo = await startChartRepo({
    hostname: "127.0.0.1",
    port: 0,
    registry: registry.host,
    client: new RegistryClient({ plainHttp: true }),
    scheme: "http",
    refreshSeconds: 60,
    now: () => new Date(clock),
  });
  const total = () => Object.values(registry.counts).reduce((a, b) => a + b, 0);
  const unknown = (i: number) => [`nope-${i}.0.0.tgz`, `web-${i}.0.1.tgz`, `app-${i}.9.9.tgz.prov`];
  const ask = async (files: string[]) => {
    for (const response of await Promise.all(files.map((f) => fetch(`${repo.url}/charts/${f}`)))) {
      assertEquals(response.status, 404, response.url);
      await response.body?.cancel();
    }
  };
  try {
    await (await fetch(`${repo.url}/index.yaml`)).text();
    const indexed = total();
    for (let i = 0; i < 20; i++) await ask(unknown(i));
    assertEquals(total(), indexed, "a fresh index answers unknown names alone");
    clock += 61_000;
    await ask(Array.from({ length: 20 }, (_, i) => unknown(i)).flat());
    for (let i = 0; i < 20; i++) await ask(unknown(i));
    assertEquals(registry.counts.catalog, 2, "a stale index is rebuilt once, not once per name");
    const download = await fetch(`${repo.url}/charts/app-1.0.0.tgz`);
    assertEquals(download.status, 200);
    await download.arrayBuffer();
  } finally {
    await repo.close();
    await registry.close();
  }
});

Deno.test("a chart layer that does not match its digest aborts the download", async () => {
  const registry = fakeRegistry();
  const { layer } = registry.addChart("charts/bad", "bad", "1.0.0");
  registry.corrupt.add(layer.digest);
  const { repo, logs: lines } = await serveCharts(registry.host);
  try {
    const response = await fetch(`${repo.url}/charts/bad-1.0.0.tgz`);
    assertEquals(response.headers.get("Content-Length"), String(layer.size));
    await assertRejects(() => response.arrayBuffer());
    assert(lines.some((l) => l.includes("Digest mismatch")), lines.join("\n"));
  } finally {
    await repo.close();
    await registry.close();
  }
});

Deno.test("an empty scheme tries https, then http", async (t) => {
  const seen: string[] = [];
  const fakeFetch = (https: boolean): typeof fetch => (input) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    seen.push(url.protocol);
    if (url.protocol === "https:" && !https) return Promise.reject(new TypeError("tls handshake failed"));
    return Promise.resolve(new Response("{}"));
  };
  const factory = (https: boolean) => (scheme: ChartRepoScheme) =>
    new RegistryClient({ fetch: fakeFetch(https), plainHttp: scheme === "http", retries: 0 });
  await t.step("http only", async () => {
    seen.length = 0;
    const lines: string[] = [];
    const client = await connectRegistry({
      registry: "charts.example:5000",
      client: factory(false),
      log: (l) => lines.push(l),
    });
    assertEquals(seen, ["https:", "http:"]);
    assertEquals(client.baseUrl("charts.example:5000"), "http://charts.example:5000/v2/");
    assertEquals(lines.length, 2);
    assertStringIncludes(lines[1]!, "over http from now on");
  });
  await t.step("https works", async () => {
    seen.length = 0;
    const client = await connectRegistry({ registry: "charts.example", client: factory(true) });
    assertEquals(seen, ["https:"]);
    assertEquals(client.baseUrl("charts.example"), "https://charts.example/v2/");
  });
  await t.step("an explicit scheme is not probed", async () => {
    seen.length = 0;
    const client = await connectRegistry({
      registry: "charts.example",
      scheme: "http",
      client: factory(true),
    });
    assertEquals(seen, []);
    assertEquals(client.baseUrl("charts.example"), "http://charts.example/v2/");
  });
});

Deno.test("an explicit https is honoured for a loopback registry too: no fallback to http", async () => {
  const registry = fakeRegistry();
  registry.addChart("charts/web", "web", "2.0.0");
  const factory = (scheme: ChartRepoScheme) =>
    new RegistryClient({ plainHttp: scheme === "http", httpsOnly: scheme === "https", retries: 0 });
  const lines: string[] = [];
  const strict = await startChartRepo({
    hostname: "127.0.0.1",
    port: 0,
    registry: registry.host,
    scheme: "https",
    client: factory,
    log: (line) => lines.push(line),
  });
  try {
    const response = await fetch(`${strict.url}/index.yaml?refresh=1`);
    assertEquals(response.status, 502);
    assertStringIncludes(await response.text(), registry.host);
    assertEquals(registry.counts, {}, "nothing was asked over http");
  } finally {
    await strict.close();
  }
  const detected = await startChartRepo({
    hostname: "127.0.0.1",
    port: 0,
    registry: registry.host,
    client: factory,
  });
  try {
    assertStringIncludes(await (await fetch(`${detected.url}/index.yaml?refresh=1`)).text(), "web-2.0.0.tgz");
  } finally {
    await detected.close();
    await registry.close();
  }
});

Deno.test("kpm chart-repo serve prints its address and stops on SIGTERM", async () => {
  const registry = fakeRegistry();
  registry.addChart("charts/web", "web", "2.0.0");
  const config = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(config, '{"auths":{}}');
  try {
    const args = ["--port", "0", "--addr", "127.0.0.1", "--storage", "registry"];
    const repo = await startChartRepoCli([
      ...args,
      "--storage-registry-repo",
      registry.host,
      "--docker-config",
      config,
    ]);
    assert(/^http:\/\/127\.0\.0\.1:\d+$/.test(repo.url), repo.url);
    assertEquals(await (await fetch(`${repo.url}/healthz`)).text(), "ok\n");
    const download = await fetch(`${repo.url}/charts/web-2.0.0.tgz`);
    assertEquals(download.status, 200);
    await download.arrayBuffer();
    const { code, stderr } = await repo.stop();
    assertEquals(code, 0, stderr);
  } finally {
    await registry.close();
    await Deno.remove(config);
  }
});

Deno.test("--storage-registry-scheme takes the original's HTTP and HTTPS in either case, nothing else", async () => {
  const registry = fakeRegistry();
  registry.addChart("charts/web", "web", "2.0.0");
  try {
    const base = [
      "--port=0",
      "--addr=127.0.0.1",
      "--storage=registry",
      `--storage-registry-repo=${registry.host}`,
    ];
    for (const scheme of ["HTTP", "http"]) {
      const repo = await startChartRepoCli([...base, `--storage-registry-scheme=${scheme}`]);
      assertEquals((await fetch(`${repo.url}/charts/web-2.0.0.tgz`)).status, 200, scheme);
      assertEquals((await repo.stop()).code, 0);
    }
    const refused = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "chart-repo", "serve", ...base, "--storage-registry-scheme=FTP"],
      stdout: "null",
      stderr: "piped",
    }).output();
    assertEquals(refused.code, 2);
    assertStringIncludes(new TextDecoder().decode(refused.stderr), '--storage-registry-scheme "FTP"');
  } finally {
    await registry.close();
  }
});
