/**
 * Chart-repo benchmark: 1,000 chart tags across 100 repositories, index.yaml built cold (empty caches) and
 * warm (manifests and configs cached by digest; tags re-listed and re-resolved).
 *
 * Run: `deno run -A bench/chartrepo_bench.ts [--repos 100] [--tags 10] [--runs 5]`
 *
 * @module
 */

import { parseArgs } from "node:util";
import { RegistryClient } from "../lib/oci/client.ts";
import { startChartRepo } from "../lib/server/chartrepo.ts";
import { availableRegistries, packageChart, pushChart } from "../tests/integration/chart_fixture.ts";

const { values } = parseArgs({
  options: {
    repos: { type: "string", default: "100" },
    tags: { type: "string", default: "10" },
    runs: { type: "string", default: "5" },
    concurrency: { type: "string", default: "16" },
  },
});
const repos = Number(values.repos);
const tagsPerRepo = Number(values.tags);
const runs = Number(values.runs);
const concurrency = Number(values.concurrency);

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const result = await fn();
  return [performance.now() - start, result];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Pushes `repos` × `tagsPerRepo` charts; the chart .tgz is shared, so each push is a small config + manifest. */
async function populate(host: string): Promise<void> {
  const client = new RegistryClient();
  const tgz = await packageChart({ apiVersion: "v2", name: "bench", version: "0.0.0" });
  // One worker per repository at a time: concurrent uploads of one blob into one repository race in
  // distribution (it answered DIGEST_INVALID to a manifest PUT).
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < repos) {
      const r = next++;
      for (let t = 0; t < tagsPerRepo; t++) {
        await pushChart(client, { registry: host, repository: `bench/chart${r}` }, {
          apiVersion: "v2",
          name: `chart${r}`,
          version: `1.${t}.0`,
          description: `benchmark chart ${r}`,
        }, { tgz });
      }
    }
  }));
}

const results: string[] = [];
for (const [label, start] of availableRegistries()) {
  const registry = await start();
  try {
    const [pushMs] = await timed(() => populate(registry.host));
    const client = new RegistryClient();
    const [coldMs, body] = await timed(async () => {
      const repo = await startChartRepo({
        hostname: "127.0.0.1",
        port: 0,
        registry: registry.host,
        client,
        concurrency,
      });
      const text = await (await fetch(`${repo.url}/index.yaml`)).text();
      return { repo, text };
    });
    const warm: number[] = [];
    for (let i = 0; i < runs; i++) {
      const [ms] = await timed(async () => (await fetch(`${body.repo.url}/index.yaml?refresh=1`)).text());
      warm.push(ms);
    }
    const cached: number[] = [];
    for (let i = 0; i < runs; i++) {
      const [ms] = await timed(async () => (await fetch(`${body.repo.url}/index.yaml`)).text());
      cached.push(ms);
    }
    await body.repo.close();
    const versions = (body.text.match(/^\s+version: /gm) ?? []).length;
    results.push(
      `${label}: ${repos} repositories × ${tagsPerRepo} tags (${versions} versions, ` +
        `${(body.text.length / 1024).toFixed(0)} KiB index.yaml, concurrency ${concurrency}); ` +
        `push ${(pushMs / 1000).toFixed(1)} s; cold ${coldMs.toFixed(0)} ms; ` +
        `warm refresh median ${median(warm).toFixed(0)} ms; cached ${median(cached).toFixed(1)} ms`,
    );
    console.log(results.at(-1));
  } finally {
    await registry.close();
  }
}
