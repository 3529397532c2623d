/**
 * Listings a registry controls: endless `Link: rel="next"` pages and oversized lists stop at kpm's bounds with
 * an error naming them; a copy with referrers to a registry without the referrers API ends with every referrer
 * in the `sha256-<hex>` fallback index, however many are pushed at once.
 */

import { join } from "node:path";
import { assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { RegistryClient } from "../../lib/oci/client.ts";
import { copyGraph } from "../../lib/oci/copy.ts";
import { digestOf } from "../../lib/oci/digest.ts";
import type { ImageIndex } from "../../lib/oci/manifest.ts";
import { RegistryError } from "../../lib/oci/registry_error.ts";
import { describe, kpmHome, ROOT, runKpm } from "../integration/ship_support.ts";
import { startEvilRegistry } from "./support/evil_registry.ts";
import { Registry, Repository } from "../../lib/oci/repository.ts";
import { MAX_ENTRIES, MAX_PAGES } from "../../lib/oci/listing.ts";

const MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const EMPTY = new TextEncoder().encode("{}");
const EMPTY_CONFIG = { mediaType: "application/vnd.oci.empty.v1+json", digest: digestOf(EMPTY), size: 2 };

/** Pages that never end: each has `size` new names and a Link to the next. */
function endless(field: string, size: number) {
  return (_request: Request, url: URL): Response | undefined => {
    if (!/\/(tags\/list|_catalog|referrers\/)/.test(url.pathname)) return undefined;
    const page = Number(url.searchParams.get("page") ?? "0");
    const names = Array.from({ length: size }, (_, i) => `n${page}-${i}`);
    const body = field === "manifests"
      ? {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: names.map((_, i) => ({ ...EMPTY_CONFIG, mediaType: MANIFEST, size: i })),
      }
      : { [field]: names };
    return Response.json(body, {
      headers: {
        Link: `<${url.pathname}?page=${page + 1}>; rel="next"`,
        "Content-Type": field === "manifests"
          ? "application/vnd.oci.image.index.v1+json"
          : "application/json",
      },
    });
  };
}

Deno.test("endless pagination stops at the page bound, with the bound in the error", async (t) => {
  const client = new RegistryClient({ plainHttp: true });
  const cases = [
    {
      name: "tags",
      field: "tags",
      list: (host: string) => new Repository(client, { registry: host, repository: "e/a" }).tags(),
    },
    {
      name: "catalog",
      field: "repositories",
      list: (host: string) => new Registry(client, host).repositories(),
    },
    {
      name: "referrers",
      field: "manifests",
      list: (host: string) =>
        new Repository(client, { registry: host, repository: "e/a" }).referrers({
          digest: EMPTY_CONFIG.digest,
        }),
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const registry = startEvilRegistry({ trick: endless(c.field, 1) });
      try {
        await assertRejects(() => c.list(registry.host), RegistryError, `more than ${MAX_PAGES} pages`);
        assertEquals(registry.seen.length, MAX_PAGES);
      } finally {
        await registry.close();
      }
    });
  }
});

Deno.test("an oversized listing stops at the entry bound, with the bound in the error", async () => {
  const registry = startEvilRegistry({ trick: endless("tags", 5000) });
  try {
    const client = new RegistryClient({ plainHttp: true });
    await assertRejects(
      () => new Repository(client, { registry: registry.host, repository: "e/a" }).tags(),
      RegistryError,
      `more than ${MAX_ENTRIES} entries`,
    );
    assertEquals(registry.seen.length, MAX_ENTRIES / 5000 + 1);
  } finally {
    await registry.close();
  }
});

Deno.test("kpm artifact tags names the bound when a registry pages forever", async () => {
  await using home = await kpmHome();
  const registry = startEvilRegistry({ trick: endless("tags", 1) });
  try {
    const result = await runKpm(join(ROOT, "main.ts"), ["artifact", "tags", `${registry.host}/e/a`], {
      cwd: home.dir,
      env: home.env,
    });
    assertEquals(result.code, 1, describe(result));
    assertStringIncludes(
      result.stderr,
      `the registry sent more than ${MAX_PAGES} pages, the most kpm follows`,
    );
  } finally {
    await registry.close();
  }
});

Deno.test("copy -r to a registry without the referrers API keeps every referrer", async () => {
  const source = startEvilRegistry();
  const target = startEvilRegistry({ referrers: false });
  try {
    const client = new RegistryClient({ plainHttp: true });
    const from = new Repository(client, { registry: source.host, repository: "e/a" });
    const to = new Repository(client, { registry: target.host, repository: "e/a" });
    await from.pushBlob(EMPTY_CONFIG, EMPTY);
    const subjectBytes = new TextEncoder().encode(
      JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST, config: EMPTY_CONFIG, layers: [] }),
    );
    const subject = await from.pushManifest(subjectBytes, MANIFEST, { tag: "v1" });
    const expected: string[] = [];
    for (let i = 0; i < 12; i++) {
      const bytes = new TextEncoder().encode(JSON.stringify({
        schemaVersion: 2,
        mediaType: MANIFEST,
        artifactType: `application/vnd.example.sig.${i}`,
        config: EMPTY_CONFIG,
        layers: [],
        subject,
      }));
      expected.push((await from.pushManifest(bytes, MANIFEST)).digest);
    }
    const result = await copyGraph(from, to, subject, { tags: ["v1"], referrers: true });
    assertEquals(result.referrers.length, 12);
    const index = target.manifests.get("e/a")?.get(subject.digest.replace(":", "-"));
    const listed = (JSON.parse(new TextDecoder().decode(index!.bytes)) as ImageIndex).manifests;
    assertEquals(listed.map((d) => d.digest).sort(), expected.sort());
    assertEquals((await to.referrers(subject)).length, 12);
  } finally {
    await source.close();
    await target.close();
  }
});
