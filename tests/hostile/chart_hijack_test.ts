/**
 * The attacker can push to some repository of the registry behind `kpm chart-repo serve` (any team's
 * namespace), and wants Helm users of another team's chart to download the attacker's bytes, or to break the
 * repository for everyone. Real embedded registry, real chart-repo server, charts pushed with kpm's client.
 */

import { loadYaml } from "../../lib/deps.ts";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { type ChartMetadata, pushChart } from "../integration/chart_fixture.ts";
import { serveCharts } from "../integration/support/chart_repo.ts";
import { startEmbeddedRegistry } from "../integration/support/embedded.ts";

const { parseYaml } = await loadYaml();

type Index = { entries: Record<string, Record<string, unknown>[]> };

Deno.test("a push to one repository never changes what is served for a chart stored in another", async (t) => {
  const registry = await startEmbeddedRegistry();
  const { repo, client, logs } = await serveCharts(registry.host, { refreshSeconds: 3600 });
  const push = (repository: string, metadata: ChartMetadata, options?: { config?: Uint8Array }) =>
    pushChart(client, { registry: registry.host, repository }, { apiVersion: "v2", ...metadata }, options);
  const get = (path: string) => fetch(`${repo.url}${path}`);
  const download = async (file: string) => {
    const response = await get(`/charts/${file}`);
    return { status: response.status, bytes: new Uint8Array(await response.arrayBuffer()) };
  };
  const index = async () => parseYaml(await (await get("/index.yaml?refresh=1")).text()) as Index;
  try {
    const victim = await push("team/web", { name: "web", version: "1.0.0", description: "team's" });
    assertEquals((await index()).entries.web?.map((e) => e.digest), [victim.chart.digest.slice(7)]);

    await t.step("the same name and version in the attacker's repository is not served", async () => {
      const evil = await push("evil/web", { name: "web", version: "1.0.0", description: "attacker's" });
      assertEquals(await download("web-1.0.0.tgz"), { status: 200, bytes: victim.tgz }, "before a refresh");
      assertEquals((await index()).entries.web, undefined, "ambiguous: left out, not resolved by order");
      const refused = await download("web-1.0.0.tgz");
      assertEquals(refused.status, 409);
      assert(!sameBytes(refused.bytes, evil.tgz));
      const health = await (await get("/healthz")).text();
      const error = 'chart "web-1.0.0.tgz" is in "evil/web" and "team/web"';
      assertStringIncludes(health, `error: ${error}`);
      assert(logs.some((l) => l.startsWith("error: ") && l.includes(error)), logs.join("\n"));
    });

    await t.step("a chart stored under another chart's repository name is left out", async () => {
      await push("evil/db", { name: "web", version: "2.0.0" });
      assertEquals((await index()).entries.web, undefined);
      assertEquals((await download("web-2.0.0.tgz")).status, 404);
      assert(logs.some((l) => l.includes('"evil/db:2.0.0"') && l.includes('not "db"')), logs.join("\n"));
    });

    await t.step(
      "a chart pushed since the last index is served only once indexed, from its one holder",
      async () => {
        const api = await push("team/api", { name: "api", version: "1.0.0" });
        assertEquals((await download("api-1.0.0.tgz")).status, 404, "not indexed yet: not looked for");
        await index();
        assertEquals(await download("api-1.0.0.tgz"), { status: 200, bytes: api.tgz });
        const evil = await push("evil/api", { name: "api", version: "1.0.0" });
        await index();
        const refused = await download("api-1.0.0.tgz");
        assertEquals(refused.status, 409, "two repositories hold it");
        assert(!sameBytes(refused.bytes, evil.tgz));
      },
    );

    await t.step("two chart names that give the same file name are both left out", async () => {
      await push("team/x", { name: "x", version: "1.0.0-2.0.0" });
      await push("evil/x-1.0.0", { name: "x-1.0.0", version: "2.0.0" });
      const entries = (await index()).entries;
      assertEquals([entries.x, entries["x-1.0.0"]], [undefined, undefined]);
      assertEquals((await download("x-1.0.0-2.0.0.tgz")).status, 409);
    });

    await t.step("a config Helm could not load leaves the rest of the index loadable", async () => {
      const bad = (fields: Record<string, unknown>) => new TextEncoder().encode(JSON.stringify(fields));
      await push("evil/typed", { name: "typed", version: "1.0.0" }, {
        config: bad({ name: "typed", version: "1.0.0", maintainers: "everyone" }),
      });
      await push("evil/extra", { name: "extra", version: "1.0.0" }, {
        config: bad({ name: "extra", version: "1.0.0", urls: ["https://evil.example/x.tgz"], unknown: 1 }),
      });
      const entries = (await index()).entries;
      assertEquals(entries.typed, undefined);
      assertEquals(entries.extra?.[0]?.urls, ["charts/extra-1.0.0.tgz"]);
      assertEquals(entries.extra?.[0]?.unknown, undefined);
      assertEquals(entries.web, undefined);
      assertEquals(entries.api, undefined);
    });
  } finally {
    await repo.close();
    await registry.close();
  }
});

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, i) => v === b[i]);
}
