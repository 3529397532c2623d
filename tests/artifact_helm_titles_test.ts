/** Helm chart layers get the file names Helm gives them; hostile annotations leave them untitled. */

import { withHelmTitles } from "../lib/artifact/helm_titles.ts";
import type { Digest } from "../lib/oci/digest.ts";
import type { ImageManifest } from "../lib/oci/manifest.ts";
import { HELM_CHART, HELM_CONFIG, HELM_PROVENANCE, OCI_MANIFEST } from "../lib/oci/media_types.ts";
import { assertEquals } from "./assert.ts";

const DIGEST = `sha256:${"a".repeat(64)}` as Digest;
const TITLE = "org.opencontainers.image.title";

function chart(name: string, version: string, configType = HELM_CONFIG): ImageManifest {
  return {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: configType, digest: DIGEST, size: 1 },
    layers: [
      { mediaType: HELM_CHART, digest: DIGEST, size: 1 },
      { mediaType: HELM_PROVENANCE, digest: DIGEST, size: 1 },
      { mediaType: "text/plain", digest: DIGEST, size: 1 },
    ],
    annotations: { [TITLE]: name, "org.opencontainers.image.version": version },
  };
}

const titles = (manifest: ImageManifest) =>
  withHelmTitles(manifest).map((layer) => layer.annotations?.[TITLE]);

Deno.test("a Helm chart's layers are titled NAME-VERSION.tgz and .tgz.prov", () => {
  assertEquals(titles(chart("demo", "0.1.0")), ["demo-0.1.0.tgz", "demo-0.1.0.tgz.prov", undefined]);
  assertEquals(titles(chart("demo", "1.2.3-rc.1+build.5")), [
    "demo-1.2.3-rc.1+build.5.tgz",
    "demo-1.2.3-rc.1+build.5.tgz.prov",
    undefined,
  ]);
});

Deno.test("hostile or missing chart names and versions, and other artifacts, leave the layers untitled", () => {
  const cases: [string, string, string?][] = [
    ["../evil", "0.1.0"],
    ["a/b", "0.1.0"],
    ["..", "0.1.0"],
    ["demo", "0.1.0/../../x"],
    ["demo", "latest"],
    ["", "0.1.0"],
    ["demo", "0.1.0", "application/vnd.oci.empty.v1+json"],
  ];
  for (const [name, version, config] of cases) {
    assertEquals(
      titles(chart(name, version, config)),
      [undefined, undefined, undefined],
      `${name} ${version}`,
    );
  }
});

Deno.test("a layer that has a title keeps it", () => {
  const manifest = chart("demo", "0.1.0");
  manifest.layers[0] = { ...manifest.layers[0]!, annotations: { [TITLE]: "mine.tgz" } };
  assertEquals(titles(manifest)[0], "mine.tgz");
});
