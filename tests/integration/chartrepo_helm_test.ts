/**
 * The chart-repo adapter with real Helm, as seed 004 (alauda/oci-chartrepo) uses it: Helm 3.6.3's experimental
 * `helm chart save` / `helm chart push` (layer `application/tar+gzip`) and current Helm's `helm push` (3.8+)
 * fill distribution and kpm's embedded registry; current Helm and Helm 3.6.3 then `helm repo add` and
 * `helm pull` through `kpm chart-repo serve`, and the downloads must be the very bytes Helm saved.
 */

import { join } from "node:path";
import { loadYaml } from "../../lib/deps.ts";
import { digestHex, digestOf } from "../../lib/oci/digest.ts";
import { assertEquals } from "../assert.ts";
import { availableRegistries } from "./chart_fixture.ts";
import { serveCharts } from "./support/chart_repo.ts";
import { findHelm, HELM_PEERS, HelmHome } from "./support/helm.ts";
import { ignoreWithoutPeers } from "./support/peers.ts";

const { parseYaml } = await loadYaml();

for (const [label, start, peers] of availableRegistries()) {
  Deno.test(`Helm 3.6 chart save/push and Helm 3.8+ push through chart-repo serve, on the ${label}`, {
    ignore: await ignoreWithoutPeers([...peers, ...HELM_PEERS]),
  }, async () => {
    const { helm363, helm } = await findHelm();
    const registry = await start();
    const h = new HelmHome(await Deno.makeTempDir({ prefix: "kpm-chartrepo-helm-" }));
    const { repo } = await serveCharts(registry.host);
    try {
      // The seed's "How to use", with Helm 3.6.3.
      const ref = `${registry.host}/myrepo/mychart:2.7.0`;
      await h.createChart(helm363, "mychart", "2.7.0");
      await h.run(helm363, ["chart", "save", "mychart/", ref]);
      await h.run(helm363, ["chart", "push", ref]);
      const saved = await h.savedChart(ref);
      // Helm 3.8+: helm package, helm push.
      await h.createChart(helm, "web", "0.3.0+build.1");
      await h.run(helm, ["package", "web", "-d", "packaged"]);
      const packaged = await Deno.readFile(join(h.home, "packaged", "web-0.3.0+build.1.tgz"));
      await h.run(helm, [
        "push",
        "packaged/web-0.3.0+build.1.tgz",
        `oci://${registry.host}/team`,
        "--plain-http",
      ]);

      const index = parseYaml(await (await fetch(`${repo.url}/index.yaml?refresh=1`)).text()) as {
        entries: Record<string, { version: string; digest: string }[]>;
      };
      assertEquals(index.entries.mychart?.map((e) => [e.version, e.digest]), [
        ["2.7.0", digestHex(digestOf(saved))],
      ]);
      assertEquals(index.entries.web?.map((e) => [e.version, e.digest]), [
        ["0.3.0+build.1", digestHex(digestOf(packaged))],
      ]);
      for (const [name, binary] of [["current", helm], ["3.6.3", helm363]] as const) {
        await Deno.mkdir(join(h.home, `pulled-${name}`));
        await h.run(binary, ["repo", "add", `kpm-${name}`, repo.url]);
        await h.run(binary, ["pull", `kpm-${name}/mychart`, "--version", "2.7.0", "-d", `pulled-${name}`]);
        await h.run(binary, [
          "pull",
          `kpm-${name}/web`,
          "--version",
          "0.3.0+build.1",
          "-d",
          `pulled-${name}`,
        ]);
        const pulled = (file: string) => Deno.readFile(join(h.home, `pulled-${name}`, file));
        assertEquals(await pulled("mychart-2.7.0.tgz"), saved, `helm ${name}`);
        assertEquals(await pulled("web-0.3.0+build.1.tgz"), packaged, `helm ${name}`);
      }
    } finally {
      await repo.close();
      await registry.close();
      await Deno.remove(h.home, { recursive: true });
    }
  });
}
