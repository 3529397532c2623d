/**
 * The attacker is the registry and writes the package manifest: a layer declared larger than any package may
 * unpack to is refused before a byte of it is downloaded (it would otherwise be written to disk in full before
 * extraction's limit applied), and a manifest with two package layers is refused rather than guessed at.
 * Nothing reaches the package cache.
 */

import { join } from "node:path";
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { digestOf } from "../../lib/oci/digest.ts";
import { EMPTY_CONFIG, encodeManifest, type ImageManifest } from "../../lib/oci/manifest.ts";
import { OCI_LAYER_TAR_GZIP, OCI_MANIFEST } from "../../lib/oci/media_types.ts";
import { PACKAGE_ARCHIVE_LIMIT_BYTES } from "../../lib/kpm/package.ts";
import { describe, kpmHome, ROOT, runKpm } from "../integration/ship_support.ts";
import { tree } from "../tar_builder.ts";
import { startEvilRegistry } from "./support/evil_registry.ts";

const MAIN = join(ROOT, "main.ts");

Deno.test("a package manifest with a huge or a second package layer is refused before any download", async (t) => {
  await using home = await kpmHome();
  const registry = startEvilRegistry();
  /** Serves a package manifest with `layers` as `evil/REPO:0.1.0`. */
  const serve = (repo: string, layers: ImageManifest["layers"]) => {
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: EMPTY_CONFIG,
      layers,
      annotations: { "org.kcllang.package.name": repo, "org.kcllang.package.version": "0.1.0" },
    };
    const entry = { bytes: encodeManifest(manifest), mediaType: OCI_MANIFEST };
    registry.manifests.set(`evil/${repo}`, new Map([["0.1.0", entry], [digestOf(entry.bytes), entry]]));
  };
  const layer = (text: string, size: number) => ({
    mediaType: OCI_LAYER_TAR_GZIP,
    digest: digestOf(new TextEncoder().encode(text)),
    size,
  });
  const huge = layer("huge", 2 ** 40);
  serve("huge", [huge]);
  serve("twice", [layer("one", 100), layer("two", 100)]);
  const app = join(home.dir, "app");
  const init = await runKpm(MAIN, ["mod", "init", "app"], { cwd: home.dir, env: home.env });
  assertEquals(init.code, 0, describe(init));
  const cases: [string, string][] = [
    [
      "huge",
      `its layer "${huge.digest}" declares ${
        2 ** 40
      } bytes, over the ${PACKAGE_ARCHIVE_LIMIT_BYTES} bytes a package archive may have`,
    ],
    ["twice", "it holds 2 package layers (tar or tar+gzip), not one"],
  ];
  try {
    for (const [repo, says] of cases) {
      await t.step(repo, async () => {
        const result = await runKpm(MAIN, [
          "mod",
          "add",
          `oci://${registry.host}/evil/${repo}`,
          "--tag",
          "0.1.0",
        ], {
          cwd: app,
          env: home.env,
        });
        assertEquals(result.code, 1, describe(result));
        assertStringIncludes(
          result.stderr,
          `error: Cannot pull package "${registry.host}/evil/${repo}:0.1.0": ${says}\n`,
        );
        assertEquals(
          registry.seen.filter((seen) => seen.url.includes("/blobs/")),
          [],
          "no blob was requested",
        );
        const cache = await tree(home.env.KCL_PKG_PATH!).catch((error) => {
          if (error instanceof Deno.errors.NotFound) return [];
          throw error;
        });
        assertEquals(cache, [], "nothing was written into the cache");
      });
    }
  } finally {
    await registry.close();
  }
});
