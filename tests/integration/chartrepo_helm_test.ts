/**
 * The chart-repo adapter with real Helm, as seed 004 (alauda/oci-chartrepo) uses it: Helm 3.6.3's experimental
 * `helm chart save` / `helm chart push` (layer `application/tar+gzip`) and current Helm's `helm push` (3.8+)
 * fill distribution and kpm's embedded registry; current Helm and Helm 3.6.3 then `helm repo add` and
 * `helm pull` through `kpm chart-repo serve`, and the downloads must be the very bytes Helm saved.
 */

import { join } from "node:path";
import { loadYaml } from "../../lib/deps.ts";
import { digestHex, digestOf } from "../../lib/oci/digest.ts";
import { HELM_CHART_LEGACY } from "../../lib/oci/media_types.ts";
import { serveCharts } from "./support/chart_repo.ts";
import { assertEquals } from "../assert.ts";
import { availableRegistries } from "./chart_fixture.ts";
import { ignoreWithoutPeers } from "./support/peers.ts";

const { parseYaml } = await loadYaml();

/**
 * Where a built peer is: `$KPM_PEERS_BIN/NAME`, then `~/.cache/kpm-peers/bin/NAME`, then PATH (the rule of the
 * interop branch's `peerPath`, which replaces this once it is on main).
 */
async function peerPath(name: string): Promise<string | undefined> {
  const folders = [
    Deno.env.get("KPM_PEERS_BIN"),
    join(Deno.env.get("HOME") ?? "/", ".cache", "kpm-peers", "bin"),
  ];
  for (const folder of folders) {
    if (folder && await Deno.stat(join(folder, name)).then((s) => s.isFile, () => false)) {
      return join(folder, name);
    }
  }
  const out = await new Deno.Command("sh", { args: ["-c", 'command -v "$1"', "sh", name], stdout: "piped" })
    .output();
  return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
}

/** Runs a Helm binary in a private HOME (XDG folders inside), with the experimental OCI commands on. */
async function helm(binary: string, home: string, args: string[], cwd = home): Promise<string> {
  const out = await new Deno.Command(binary, {
    args,
    cwd,
    env: {
      HOME: home,
      XDG_CACHE_HOME: join(home, "cache"),
      XDG_CONFIG_HOME: join(home, "config"),
      XDG_DATA_HOME: join(home, "data"),
      HELM_EXPERIMENTAL_OCI: "1",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`helm ${args.join(" ")} failed: ${text}${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

/** Creates a chart with `helm create` and sets its version. */
async function createChart(binary: string, home: string, name: string, version: string): Promise<string> {
  await helm(binary, home, ["create", name]);
  const file = join(home, name, "Chart.yaml");
  await Deno.writeTextFile(
    file,
    (await Deno.readTextFile(file)).replace(/^version: .*$/m, `version: ${version}`),
  );
  return join(home, name);
}

/**
 * The chart .tgz Helm 3.6's `helm chart save` put in its OCI-layout cache for `ref`, read through the cache's
 * index.json and the manifest; the layer must have the old media type.
 */
async function savedChart(home: string, ref: string): Promise<Uint8Array> {
  const cache = join(home, "cache", "helm", "registry", "cache");
  const blob = (digest: string) => Deno.readFile(join(cache, "blobs", ...digest.split(":")));
  const index = JSON.parse(await Deno.readTextFile(join(cache, "index.json")));
  const entry = index.manifests.find((m: { annotations?: Record<string, string> }) =>
    m.annotations?.["org.opencontainers.image.ref.name"] === ref
  );
  const manifest = JSON.parse(new TextDecoder().decode(await blob(entry.digest)));
  assertEquals(manifest.layers.map((l: { mediaType: string }) => l.mediaType), [HELM_CHART_LEGACY]);
  return await blob(manifest.layers[0].digest);
}

const [helm363, helmCurrent] = [await peerPath("helm363"), await peerPath("helm")];
const helmMissing = !helm363 || !helmCurrent;
if (helmMissing && Deno.env.get("CI") !== "true") {
  console.error(
    "skipping the Helm tests: helm363 or helm not built (scripts/peers.sh; they fail when CI=true)",
  );
}

for (const [label, start, peers] of availableRegistries()) {
  Deno.test(`Helm 3.6 chart save/push and Helm 3.8+ push through chart-repo serve, on the ${label}`, {
    ignore: await ignoreWithoutPeers(peers) || (helmMissing && Deno.env.get("CI") !== "true"),
  }, async () => {
    const registry = await start();
    const home = await Deno.makeTempDir({ prefix: "kpm-chartrepo-helm-" });
    const { repo } = await serveCharts(registry.host);
    try {
      // The seed's "How to use", with Helm 3.6.3.
      const ref = `${registry.host}/myrepo/mychart:2.7.0`;
      await createChart(helm363!, home, "mychart", "2.7.0");
      await helm(helm363!, home, ["chart", "save", "mychart/", ref]);
      await helm(helm363!, home, ["chart", "push", ref]);
      const saved = await savedChart(home, ref);
      // Helm 3.8+: helm package, helm push.
      await createChart(helmCurrent!, home, "web", "0.3.0+build.1");
      await helm(helmCurrent!, home, ["package", "web", "-d", "packaged"]);
      const packaged = await Deno.readFile(join(home, "packaged", "web-0.3.0+build.1.tgz"));
      await helm(helmCurrent!, home, [
        "push",
        join(home, "packaged", "web-0.3.0+build.1.tgz"),
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
      for (const [name, binary] of [["current", helmCurrent!], ["3.6.3", helm363!]] as const) {
        const out = join(home, `pulled-${name}`);
        await Deno.mkdir(out);
        await helm(binary, home, ["repo", "add", `kpm-${name}`, repo.url]);
        await helm(binary, home, ["pull", `kpm-${name}/mychart`, "--version", "2.7.0", "-d", out]);
        await helm(binary, home, ["pull", `kpm-${name}/web`, "--version", "0.3.0+build.1", "-d", out]);
        assertEquals(await Deno.readFile(join(out, "mychart-2.7.0.tgz")), saved, `helm ${name}`);
        assertEquals(await Deno.readFile(join(out, "web-0.3.0+build.1.tgz")), packaged, `helm ${name}`);
      }
    } finally {
      await repo.close();
      await registry.close();
      await Deno.remove(home, { recursive: true });
    }
  });
}
