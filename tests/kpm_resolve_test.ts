/**
 * Package resolution against a counting fake registry: the newest semver tag over every page of the tag list,
 * downloads in parallel up to the concurrency knob (and one at a time with 1), and a locked, cached graph that
 * resolves without a single request.
 */

import { join } from "node:path";
import { digestOf } from "../lib/oci/digest.ts";
import { OCI_EMPTY, OCI_LAYER_TAR_GZIP, OCI_MANIFEST } from "../lib/oci/media_types.ts";
import { resolveTag } from "../lib/kpm/oci_package.ts";
import { Repository } from "../lib/oci/repository.ts";
import { packageSum, packPackage } from "../lib/kpm/package.ts";
import { resolveDependencies } from "../lib/kpm/resolve.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { PackageError } from "../lib/kpm/errors.ts";
import { fakeClient, type Route, startFake } from "./oci_fake.ts";

Deno.test("the newest semver tag is looked for over every page of the tag list", async () => {
  const pages: Record<string, { tags: string[]; link?: string }> = {
    "": { tags: ["0.1.0", "latest"], link: '</v2/test/pkg/tags/list?last=latest>; rel="next"' },
    "latest": {
      tags: ["0.9.0", "v0.10.0", "nightly"],
      link: '</v2/test/pkg/tags/list?last=nightly>; rel="next"',
    },
    "nightly": { tags: ["0.2.0-rc.1", "main"] },
  };
  const fake = startFake([{
    name: "tags",
    method: "GET",
    path: /^\/v2\/test\/pkg\/tags\/list$/,
    handle: (request) => {
      const page = pages[new URL(request.url).searchParams.get("last") ?? ""]!;
      return Response.json({ name: "test/pkg", tags: page.tags }, {
        headers: page.link ? { Link: page.link } : {},
      });
    },
  }]);
  try {
    const { client } = fakeClient();
    assertEquals(
      await resolveTag(new Repository(client, { registry: fake.host, repository: "test/pkg" })),
      "v0.10.0",
    );
    assertEquals(fake.counts["tags"], 3);
  } finally {
    await fake.close();
  }
});

Deno.test("no semantic version among the tags is one error naming the repository", async () => {
  const fake = startFake([{
    name: "tags",
    method: "GET",
    path: /^\/v2\/test\/pkg\/tags\/list$/,
    handle: () => Response.json({ name: "test/pkg", tags: ["latest", "main"] }),
  }]);
  try {
    const { client } = fakeClient();
    await assertRejects(
      () => resolveTag(new Repository(client, { registry: fake.host, repository: "test/pkg" })),
      PackageError,
      `Cannot pick a version of "${fake.host}/test/pkg": none of its 2 tags is a semantic version`,
    );
  } finally {
    await fake.close();
  }
});

/** A fake registry serving `count` KCL packages test/p0… at tag 0.0.1; blob downloads can be held at a gate. */
async function packageRegistry(count: number, dir: string) {
  const manifests = new Map<string, Uint8Array<ArrayBuffer>>();
  const blobs = new Map<string, Uint8Array<ArrayBuffer>>();
  for (let i = 0; i < count; i++) {
    const pkg = join(dir, "src", `p${i}`);
    await Deno.mkdir(pkg, { recursive: true });
    await Deno.writeTextFile(join(pkg, "kcl.mod"), `[package]\nname = "p${i}"\nversion = "0.0.1"\n`);
    await Deno.writeTextFile(join(pkg, "main.k"), `v = ${i}\n`);
    const layer = new Uint8Array(await new Response(packPackage(pkg)).arrayBuffer());
    blobs.set(digestOf(layer), layer);
    manifests.set(
      `p${i}`,
      new TextEncoder().encode(JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: OCI_LAYER_TAR_GZIP,
        config: { mediaType: OCI_EMPTY, digest: digestOf("{}"), size: 2 },
        layers: [{ mediaType: OCI_LAYER_TAR_GZIP, digest: digestOf(layer), size: layer.byteLength }],
        annotations: {
          "org.kcllang.package.name": `p${i}`,
          "org.kcllang.package.version": "0.0.1",
          "org.kcllang.package.sum": await packageSum(pkg),
        },
      })),
    );
  }
  let inFlight = 0;
  let maxInFlight = 0;
  let gate: { until: number; open: () => void; opened: Promise<void> } | undefined;
  const routes: Route[] = [
    {
      name: "manifest",
      method: "GET",
      path: /^\/v2\/test\/(p\d+)\/manifests\/0\.0\.1$/,
      handle: (_request, match) =>
        new Response(manifests.get(match[1]!)!, { headers: { "Content-Type": OCI_MANIFEST } }),
    },
    {
      name: "blob",
      method: "GET",
      path: /^\/v2\/test\/p\d+\/blobs\/(sha256:[0-9a-f]{64})$/,
      handle: async (_request, match) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        if (gate && inFlight >= gate.until) gate.open();
        if (gate) await gate.opened;
        inFlight--;
        return new Response(blobs.get(match[1]!)!);
      },
    },
  ];
  return {
    fake: startFake(routes),
    maxInFlight: () => maxInFlight,
    /** Holds every blob download until `until` of them are in flight at once. */
    holdUntil(until: number) {
      let open = () => {};
      const opened = new Promise<void>((resolve) => (open = resolve));
      gate = { until, open, opened };
    },
  };
}

async function writeRoot(dir: string, count: number): Promise<string> {
  const root = join(dir, "app");
  await Deno.mkdir(root, { recursive: true });
  const deps = Array.from({ length: count }, (_, i) => `p${i} = "0.0.1"`).join("\n");
  await Deno.writeTextFile(
    join(root, "kcl.mod"),
    `[package]\nname = "app"\nversion = "0.0.1"\n\n[dependencies]\n${deps}\n`,
  );
  return root;
}

Deno.test("dependencies download in parallel up to the concurrency knob, one at a time with 1", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "kpm-resolve-" });
  const count = 4;
  try {
    const root = await writeRoot(dir, count);
    for (const [concurrency, expected] of [[1, 1], [8, count]] as const) {
      await t.step(`concurrency ${concurrency}`, async () => {
        const registry = await packageRegistry(count, join(dir, `reg-${concurrency}`));
        if (expected > 1) registry.holdUntil(expected);
        try {
          const { client } = fakeClient();
          const resolution = await resolveDependencies(client, root, {
            defaults: { registry: registry.fake.host, repository: "test" },
            home: join(dir, `home-${concurrency}`),
            concurrency,
          });
          assertEquals(resolution.packages.size, count);
          assertEquals(registry.maxInFlight(), expected);
          assertEquals(registry.fake.counts["blob"], count);
        } finally {
          await registry.fake.close();
        }
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a locked graph already in the cache resolves without asking the registry", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kpm-resolve-" });
  const registry = await packageRegistry(3, dir);
  try {
    const root = await writeRoot(dir, 3);
    const { client } = fakeClient();
    const options = {
      defaults: { registry: registry.fake.host, repository: "test" },
      home: join(dir, "home"),
    };
    const first = await resolveDependencies(client, root, options);
    const requests = registry.fake.requests.length;
    assertEquals(requests, 6);
    const second = await resolveDependencies(client, root, { ...options, lock: first.lock });
    assertEquals(registry.fake.requests.length, requests, "no request for a locked, cached package");
    assertEquals(second.lock, first.lock);
    await Deno.writeTextFile(join(dir, "home", "p1_0.0.1", "main.k"), "v = 666\n");
    const third = await resolveDependencies(client, root, { ...options, lock: first.lock });
    assert(registry.fake.requests.length > requests, "a changed cached package is fetched again");
    assertEquals(third.lock, first.lock);
    assertEquals(await Deno.readTextFile(join(dir, "home", "p1_0.0.1", "main.k")), "v = 1\n");
  } finally {
    await registry.fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});
