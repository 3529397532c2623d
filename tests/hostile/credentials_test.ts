/**
 * A registry that tries to get kpm's credentials sent to a third party, or a local file read as a token:
 * upload Locations, `Link: rel="next"` and redirects on another origin get no Authorization header; token
 * realms are https (http only for a plain-HTTP registry); a token the registry stops accepting is replaced once.
 */

import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { kpmInProcess } from "../integration/support/kpm_cli.ts";
import { RegistryClient } from "../../lib/oci/client.ts";
import { digestOf } from "../../lib/oci/digest.ts";
import { RegistryError } from "../../lib/oci/registry_error.ts";
import { startEvilRegistry, startSink } from "./support/evil_registry.ts";
import { Repository } from "../../lib/oci/repository.ts";

const EMPTY = new TextEncoder().encode("{}");
const CREDENTIAL = { username: "test", password: "1234" };

function client(): RegistryClient {
  return new RegistryClient({ credentials: () => Promise.resolve(CREDENTIAL), retries: 0 });
}

for (const auth of ["basic", "bearer"] as const) {
  Deno.test(`${auth}: an upload Location on another origin gets no Authorization`, async () => {
    const sink = startSink((request) => new Response(null, { status: request.method === "PUT" ? 201 : 202 }));
    const registry = startEvilRegistry({
      auth,
      trick: (request, url) =>
        request.method === "POST" && url.pathname.endsWith("/blobs/uploads/")
          ? new Response(null, { status: 202, headers: { Location: `${sink.origin}/steal/upload` } })
          : undefined,
    });
    try {
      const bytes = new TextEncoder().encode("secret-free content");
      await new Repository(client(), { registry: registry.host, repository: "evil/app" }).blobs.push({
        digest: digestOf(bytes),
        size: bytes.byteLength,
      }, bytes);
      assertEquals(sink.seen.map((s) => [s.method, s.authorization]), [["PUT", null]]);
      assert(registry.seen.some((s) => s.authorization !== null), "the registry itself got the credentials");
    } finally {
      await sink.close();
      await registry.close();
    }
  });

  Deno.test(`${auth}: a Link rel="next" on another origin gets no Authorization`, async () => {
    const sink = startSink(() => Response.json({ name: "evil/app", tags: ["stolen"] }));
    const registry = startEvilRegistry({
      auth,
      trick: (_request, url) =>
        url.pathname.endsWith("/tags/list")
          ? Response.json({ name: "evil/app", tags: ["1.0"] }, {
            headers: { Link: `<${sink.origin}/v2/evil/app/tags/list?last=1.0>; rel="next"` },
          })
          : undefined,
    });
    try {
      const tags = await new Repository(client(), { registry: registry.host, repository: "evil/app" }).tags();
      assertEquals(tags, ["1.0", "stolen"]);
      assertEquals(sink.seen.map((s) => s.authorization), [null]);
    } finally {
      await sink.close();
      await registry.close();
    }
  });

  Deno.test(`${auth}: a redirect to another origin gets no Authorization`, async () => {
    const sink = startSink(() => new Response("{}"));
    const registry = startEvilRegistry({
      auth,
      trick: (request, url) =>
        url.pathname.endsWith("/tags/list") && request.headers.has("Authorization")
          ? new Response(null, { status: 307, headers: { Location: `${sink.origin}/elsewhere` } })
          : undefined,
    });
    try {
      await new Repository(client(), { registry: registry.host, repository: "evil/app" }).tags();
      assertEquals(sink.seen.map((s) => s.authorization), [null]);
    } finally {
      await sink.close();
      await registry.close();
    }
  });
}

Deno.test("a token realm that is not https (or http for a plain-HTTP registry) is refused", async (t) => {
  const cases = [
    { realm: "file:///etc/passwd", refused: 'scheme "file:" is not https or http' },
    { realm: "ftp://127.0.0.1/token", refused: 'scheme "ftp:" is not https or http' },
    { realm: 'data:application/json,{"token":"x"}', refused: 'scheme "data:" is not https or http' },
    { realm: "/token", refused: "which is not a URL" },
  ];
  for (const c of cases) {
    await t.step(c.realm, async () => {
      const registry = startEvilRegistry({
        trick: () =>
          new Response(null, { status: 401, headers: { "WWW-Authenticate": `Bearer realm="${c.realm}"` } }),
      });
      try {
        const error = await assertRejects(
          () => new Repository(client(), { registry: registry.host, repository: "evil/app" }).tags(),
          RegistryError,
          c.refused,
        );
        assertEquals(error.registry, registry.host);
        assertEquals(registry.seen.length, 1, "one request; no token was asked for");
      } finally {
        await registry.close();
      }
    });
  }
});

Deno.test("a cached token refused after a registry restart is dropped and fetched again once", async () => {
  const registry = startEvilRegistry({ auth: "bearer" });
  try {
    const store = new Repository(client(), { registry: registry.host, repository: "evil/app" });
    const bytes = new TextEncoder().encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.empty.v1+json", digest: digestOf(EMPTY), size: 2 },
      layers: [],
    }));
    await store.pushManifest(bytes, "application/vnd.oci.image.manifest.v1+json", { tag: "v1" });
    const tokens = registry.tokens;
    registry.restart();
    assertEquals(await store.tags(), ["v1"]);
    assertEquals(registry.tokens, tokens + 1, "one new token after the restart");
  } finally {
    await registry.close();
  }
});

Deno.test("artifact copy between two registries refuses one -u/-p for both: the source never sees it", async () => {
  const source = startEvilRegistry({ auth: "basic" });
  const target = startEvilRegistry({ auth: "basic" });
  const home = await Deno.makeTempDir();
  try {
    const env = { HOME: home, KCL_PKG_PATH: home, DOCKER_CONFIG: home };
    const args = ["artifact", "copy", "--plain-http", "-u", "me", "-p", "s3cret"];
    const result = await kpmInProcess([...args, `${source.host}/x:1`, `${target.host}/y:1`], home, env);
    assertEquals(result.code, 2, result.stderr);
    assertStringIncludes(result.stderr, "Cannot use -u/-p/--identity-token to copy between two registries");
    assertEquals([...source.seen, ...target.seen].map((s) => s.authorization).filter(Boolean), []);
  } finally {
    await source.close();
    await target.close();
    await Deno.remove(home, { recursive: true });
  }
});
