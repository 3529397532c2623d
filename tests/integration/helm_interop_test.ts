/**
 * Helm (v3.22.0, and v4 when scripts/peers.sh built it) against the registries with user test/1234 (distribution
 * with htpasswd Basic auth and with token auth, kpm's embedded registry with its token endpoint): `helm registry
 * login`, `helm push` and `helm pull oci://` give back the packaged chart byte for byte; kpm reads what Helm
 * pushed (`kpm artifact pull` saves the chart as NAME-VERSION.tgz) and Helm pulls a chart that `kpm artifact
 * push` wrote.
 */

import { join } from "node:path";
import type { ImageManifest } from "../../lib/oci/manifest.ts";
import { assert, assertEquals } from "../assert.ts";
import { kpmSucceeds } from "./support/kpm_cli.ts";
import { peerPath, runPeer } from "./support/peers.ts";
import { forEachRegistry, USER } from "./kpm_registries.ts";
import { kpmHome } from "./ship_support.ts";

const HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json";
const HELM_CHART = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

/** The Helm binaries to run: v3.22.0 always (a missing one fails under CI), v4 when it was built. */
const HELMS = (await peerPath("helm4")) ? ["helm", "helm4"] : ["helm"];
for (const helm of HELMS) {
  await forEachRegistry(`${helm}: registry login, push and pull oci://`, async (t, registry) => {
    await using home = await kpmHome();
    const work = join(home.dir, "work");
    await Deno.mkdir(work, { recursive: true });
    const run = (...args: string[]) => runPeer(helm, args, { cwd: work, env: home.env });
    const kpm = (...args: string[]) => kpmSucceeds(args, work, home.env);
    const charts = `oci://${registry.host}/charts`;
    await run("create", "demo");
    await run("package", "demo");
    const packaged = await Deno.readFile(join(work, "demo-0.1.0.tgz"));

    await t.step("helm registry login, push, pull: the same bytes", async () => {
      await runPeer(
        helm,
        ["registry", "login", registry.host, "-u", USER.username, "--password-stdin", "--plain-http"],
        { cwd: work, env: home.env, stdin: USER.password },
      );
      await run("push", "demo-0.1.0.tgz", charts, "--plain-http");
      await Deno.mkdir(join(work, "pulled"));
      await run("pull", `${charts}/demo`, "--version", "0.1.0", "--plain-http", "-d", "pulled");
      assertEquals(await Deno.readFile(join(work, "pulled", "demo-0.1.0.tgz")), packaged);
    });

    let manifest: ImageManifest | undefined;
    await t.step("kpm reads Helm's manifest, pulls the chart as demo-0.1.0.tgz", async () => {
      await kpm("registry", "login", registry.host, "-u", USER.username, "-p", USER.password);
      const ref = `${registry.host}/charts/demo:0.1.0`;
      manifest = JSON.parse((await kpm("artifact", "manifest", ref)).stdout);
      assertEquals(manifest!.config.mediaType, HELM_CONFIG);
      const chart = manifest!.layers.find((layer) => layer.mediaType === HELM_CHART);
      assert(chart, "a chart layer");
      await kpm("artifact", "pull", ref, "-o", "by-kpm");
      assertEquals(await Deno.readFile(join(work, "by-kpm", "demo-0.1.0.tgz")), packaged);
      await kpm("artifact", "blob", `${registry.host}/charts/demo@${chart.digest}`, "-o", "chart.tgz");
      assertEquals(await Deno.readFile(join(work, "chart.tgz")), packaged);
      await kpm(
        "artifact",
        "blob",
        `${registry.host}/charts/demo@${manifest!.config.digest}`,
        "-o",
        "config.json",
      );
    });

    await t.step("helm pulls a chart that kpm artifact push wrote", async () => {
      await kpm(
        "artifact",
        "push",
        `${registry.host}/charts/copied:0.1.0`,
        `demo-0.1.0.tgz:${HELM_CHART}`,
        "--config",
        `config.json:${HELM_CONFIG}`,
      );
      await Deno.mkdir(join(work, "copied"));
      await run("pull", `${charts}/copied`, "--version", "0.1.0", "--plain-http", "-d", "copied");
      // Helm names the file after the repository, not the chart: copied-0.1.0.tgz.
      assertEquals(await Deno.readFile(join(work, "copied", "copied-0.1.0.tgz")), packaged);
      await run("registry", "logout", registry.host);
    });
  }, { peers: [helm] });
}
