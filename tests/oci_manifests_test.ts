/**
 * Manifest operations against fake registries: the Accept list, content-type and digest checks, the 4 MiB cap,
 * tag listing across Link pages, HEAD/PUT/DELETE.
 */

import { digestOf } from "../lib/oci/digest.ts";
import { MAX_MANIFEST_BYTES } from "../lib/oci/manifest.ts";
import {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  MANIFEST_TYPES,
  OCI_INDEX,
  OCI_MANIFEST,
} from "../lib/oci/media_types.ts";
import { RegistryError } from "../lib/oci/registry_error.ts";
import { assertEquals, assertRejects } from "./assert.ts";
import { fakeClient, startFake } from "./oci_fake.ts";
import { Repository } from "../lib/oci/repository.ts";
import { nextLink } from "../lib/oci/listing.ts";
import { referenceTarget } from "../lib/oci/reference.ts";

const encoder = new TextEncoder();
const EMPTY = { mediaType: "application/vnd.oci.empty.v1+json", digest: digestOf("{}"), size: 2 };

function manifestBytes(
  mediaType = OCI_MANIFEST,
  extra: Record<string, unknown> = {},
): Uint8Array<ArrayBuffer> {
  return encoder.encode(JSON.stringify({ schemaVersion: 2, mediaType, config: EMPTY, layers: [], ...extra }));
}

/** A fake serving one manifest under `/v2/a/manifests/<anything>` with the given headers. */
function serving(body: BodyInit | null, headers: Record<string, string>) {
  return startFake([{
    name: "get",
    method: "GET",
    path: /^\/v2\/a\/manifests\/.+$/,
    handle: () => new Response(body, { headers }),
  }]);
}

Deno.test("manifests.fetch sends the Accept list and returns the manifest and its descriptor", async () => {
  const bytes = manifestBytes();
  const digest = digestOf(bytes);
  const fake = serving(bytes, { "Content-Type": OCI_MANIFEST, "Docker-Content-Digest": digest });
  try {
    const { client } = fakeClient();
    const fetched = await new Repository(client, { registry: fake.host, repository: "a" })
      .manifests.fetch("v1");
    assertEquals(fetched.descriptor, { mediaType: OCI_MANIFEST, digest, size: bytes.length });
    assertEquals(fetched.bytes, bytes);
    const accept = fake.seen("get")[0]!.headers.get("Accept")!.split(",").map((s) => s.trim());
    assertEquals(accept.sort(), [...MANIFEST_TYPES].sort());
    assertEquals(fake.seen("get")[0]!.url, "/v2/a/manifests/v1");
  } finally {
    await fake.close();
  }
});

Deno.test("manifests.fetch refuses manifests that do not match", async (t) => {
  const good = manifestBytes();
  const big = manifestBytes(OCI_MANIFEST, { annotations: { pad: "x".repeat(MAX_MANIFEST_BYTES) } });
  const cases: {
    name: string;
    body: () => BodyInit;
    headers: Record<string, string>;
    digest?: boolean;
    error: string;
  }[] = [
    {
      name: "content type differs from the declared mediaType",
      body: () => good,
      headers: { "Content-Type": DOCKER_MANIFEST },
      error: `declares mediaType "${OCI_MANIFEST}" but was served as "${DOCKER_MANIFEST}"`,
    },
    {
      name: "an index served as a manifest type",
      body: () => encoder.encode(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] })),
      headers: { "Content-Type": DOCKER_MANIFEST_LIST },
      error: "but was served as",
    },
    {
      name: "over 4 MiB, announced by Content-Length",
      body: () => big,
      headers: { "Content-Type": OCI_MANIFEST },
      error: "over the 4 MiB limit",
    },
    {
      name: "over 4 MiB, streamed without Content-Length",
      body: () => new Blob([big]).stream(),
      headers: { "Content-Type": OCI_MANIFEST },
      error: "byte limit",
    },
    {
      name: "digest-pinned with other content",
      body: () => manifestBytes(OCI_MANIFEST, { annotations: { tampered: "yes" } }),
      headers: { "Content-Type": OCI_MANIFEST },
      digest: true,
      error: "content has digest",
    },
    {
      name: "Docker-Content-Digest contradicts the content",
      body: () => good,
      headers: { "Content-Type": OCI_MANIFEST, "Docker-Content-Digest": `sha256:${"1".repeat(64)}` },
      error: "but the registry said",
    },
    {
      name: "not JSON",
      body: () => "<html>oops</html>",
      headers: { "Content-Type": OCI_MANIFEST },
      error: "not valid JSON",
    },
    {
      name: "schemaVersion 1",
      body: () => JSON.stringify({ schemaVersion: 1, name: "a" }),
      headers: { "Content-Type": "application/vnd.docker.distribution.manifest.v1+prettyjws" },
      error: "schemaVersion",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const fake = serving(c.body(), c.headers);
      try {
        const { client } = fakeClient();
        const ref = c.digest
          ? { registry: fake.host, repository: "a", digest: digestOf(good) }
          : { registry: fake.host, repository: "a", tag: "v1" };
        const error = await assertRejects(
          () => new Repository(client, ref).manifests.fetch(referenceTarget(ref)),
          RegistryError,
          c.error,
        );
        assertEquals(error.message.startsWith(`Cannot pull manifest "${fake.host}/a`), true, error.message);
      } finally {
        await fake.close();
      }
    });
  }
});

Deno.test("manifests.fetch accepts a generic content type and a pinned digest that matches", async () => {
  const bytes = manifestBytes(DOCKER_MANIFEST);
  const fake = serving(bytes, { "Content-Type": "application/json" });
  try {
    const { client } = fakeClient();
    const fetched = await new Repository(client, {
      registry: fake.host,
      repository: "a",
    }).manifests.fetch(digestOf(bytes));
    assertEquals(fetched.descriptor.mediaType, DOCKER_MANIFEST);
    assertEquals(fake.seen("get")[0]!.url, `/v2/a/manifests/${digestOf(bytes)}`);
  } finally {
    await fake.close();
  }
});

Deno.test("tags() follows Link pagination", async () => {
  const pages: Record<string, { tags: string[]; next?: string }> = {
    "": { tags: ["a", "b"], next: "/v2/repo/x/tags/list?n=2&last=b" },
    "b": { tags: ["c", "d"], next: '</v2/repo/x/tags/list?n=2&last=d>; rel="next"' },
    "d": { tags: ["e"] },
  };
  const fake = startFake([{
    name: "tags",
    method: "GET",
    path: /^\/v2\/repo\/x\/tags\/list$/,
    handle: (request) => {
      const params = new URL(request.url).searchParams;
      if (params.get("n") !== "2") return new Response("n expected", { status: 400 });
      const page = pages[params.get("last") ?? ""];
      if (!page) return new Response("unknown page", { status: 404 });
      const link = page.next?.startsWith("<")
        ? page.next
        : page.next
        ? `<${page.next}>; rel="next"`
        : undefined;
      return Response.json({ name: "repo/x", tags: page.tags }, { headers: link ? { Link: link } : {} });
    },
  }]);
  try {
    const { client } = fakeClient();
    assertEquals(
      await new Repository(client, { registry: fake.host, repository: "repo/x" }).tags({ pageSize: 2 }),
      [
        "a",
        "b",
        "c",
        "d",
        "e",
      ],
    );
    assertEquals(fake.counts["tags"], 3);
  } finally {
    await fake.close();
  }
});

Deno.test("tags() of a repository without tags (null) is empty", async () => {
  const fake = startFake([{
    name: "tags",
    method: "GET",
    path: /^\/v2\/a\/tags\/list$/,
    handle: () => Response.json({ name: "a", tags: null }),
  }]);
  try {
    assertEquals(
      await new Repository(fakeClient().client, { registry: fake.host, repository: "a" }).tags(),
      [],
    );
  } finally {
    await fake.close();
  }
});

Deno.test("nextLink parses the Link header", async (t) => {
  const cases: [string | null, string | undefined][] = [
    [null, undefined],
    ['</v2/a/tags/list?last=b&n=2>; rel="next"', "/v2/a/tags/list?last=b&n=2"],
    ["</v2/a/tags/list?last=b>; rel=next", "/v2/a/tags/list?last=b"],
    [
      '<https://r.example/v2/_catalog?last=x>; type="json"; rel="next"',
      "https://r.example/v2/_catalog?last=x",
    ],
    ['</prev>; rel="prev", </next>; rel="next"', "/next"],
    ['</v2/a>; rel="prev"', undefined],
  ];
  for (const [header, expected] of cases) {
    await t.step(String(header), () => assertEquals(nextLink(header), expected));
  }
});

Deno.test("manifests.head, manifests.push and manifests.delete", async () => {
  const bytes = manifestBytes();
  const digest = digestOf(bytes);
  let stored: Uint8Array | undefined;
  const fake = startFake([
    {
      name: "head",
      method: "HEAD",
      path: /^\/v2\/a\/manifests\/(.+)$/,
      handle: (_r, m) =>
        stored && (m[1] === "v1" || m[1] === digest)
          ? new Response(null, {
            headers: {
              "Content-Type": OCI_MANIFEST,
              "Docker-Content-Digest": digest,
              "Content-Length": `${stored.length}`,
            },
          })
          : new Response(null, { status: 404 }),
    },
    {
      name: "put",
      method: "PUT",
      path: /^\/v2\/a\/manifests\/v1$/,
      handle: (request, _m, seen) => {
        if (request.headers.get("Content-Type") !== OCI_MANIFEST) {
          return new Response("type", { status: 400 });
        }
        stored = seen.body;
        return new Response(null, { status: 201, headers: { "Docker-Content-Digest": digest } });
      },
    },
    {
      name: "delete",
      method: "DELETE",
      path: /^\/v2\/a\/manifests\/(sha256:.+)$/,
      handle: (_r, m) => {
        if (m[1] !== digest) return new Response("", { status: 404 });
        stored = undefined;
        return new Response(null, { status: 202 });
      },
    },
  ]);
  try {
    const { client } = fakeClient();
    const repo = new Repository(client, { registry: fake.host, repository: "a" });
    assertEquals(await repo.manifests.head("v1"), undefined);
    assertEquals(await repo.manifests.push(bytes, OCI_MANIFEST, { tag: "v1" }), {
      mediaType: OCI_MANIFEST,
      digest,
      size: bytes.length,
    });
    assertEquals(stored, bytes);
    assertEquals(await repo.manifests.head("v1"), {
      mediaType: OCI_MANIFEST,
      digest,
      size: bytes.length,
    });
    await repo.manifests.delete(digest);
    assertEquals(await repo.manifests.head("v1"), undefined);
  } finally {
    await fake.close();
  }
});

Deno.test("manifests.head asks with a GET when the HEAD's Content-Length is not a byte count", async () => {
  const bytes = manifestBytes();
  const digest = digestOf(bytes);
  for (const length of ["-5", "abc", "1.5"]) {
    const methods: string[] = [];
    const fetchStub = (_url: string | URL | Request, init?: RequestInit) => {
      methods.push(init?.method ?? "GET");
      const headers = { "Content-Type": OCI_MANIFEST, "Docker-Content-Digest": digest };
      if (init?.method === "HEAD") {
        return Promise.resolve(new Response(null, { headers: { ...headers, "Content-Length": length } }));
      }
      return Promise.resolve(new Response(bytes, { headers }));
    };
    const { client } = fakeClient({ fetch: fetchStub as typeof fetch });
    const repo = new Repository(client, { registry: "reg.example", repository: "a" });
    assertEquals(await repo.manifests.head("v1"), { mediaType: OCI_MANIFEST, digest, size: bytes.length });
    assertEquals(methods, ["HEAD", "GET"], length);
  }
});
