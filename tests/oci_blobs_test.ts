/**
 * Blob transfers against fake registries: skip existing blobs, resume interrupted downloads with Range, leave
 * nothing behind on a wrong digest, chunked uploads with Content-Range and 416 recovery, monolithic uploads
 * that keep the Location's query, and cross-repository mounts.
 */

import { join } from "node:path";
import { downloadBlob, partialPath } from "../lib/oci/blobs.ts";
import { type Digest, DigestError, digestOf } from "../lib/oci/digest.ts";
import { PartialFile } from "../lib/oci/partial_file.ts";
import { RegistryError } from "../lib/oci/registry_error.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { bearerChallenge, concat, fakeClient, randomBytes, startFake } from "./oci_fake.ts";
import { Repository } from "../lib/oci/repository.ts";
import { withTempDir } from "./temp_dir.ts";

const BLOB = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]+)$/;

/**
 * A body that sends `bytes` and ends, under a Content-Length promising more: the server closes the connection
 * mid-body, which the client sees as a broken read.
 */
function breakingBody(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(bytes);
      } else controller.close();
    },
  });
}

Deno.test("an existing blob is not uploaded again", async () => {
  const fake = startFake([{
    name: "head",
    method: "HEAD",
    path: BLOB,
    handle: () => new Response(null, { status: 200 }),
  }]);
  try {
    const { client } = fakeClient();
    const content = new TextEncoder().encode("hello");
    const progress: number[] = [];
    const outcome = await new Repository(client, { registry: fake.host, repository: "a/b" }).blobs.push(
      {
        digest: digestOf(content),
        size: content.length,
      },
      content,
      { onProgress: (n) => progress.push(n) },
    );
    assertEquals(outcome, "exists");
    assertEquals(fake.counts, { head: 1 });
    assertEquals(progress, [5]);
  } finally {
    await fake.close(); // a POST would be an unexpected route
  }
});

Deno.test("an interrupted download resumes with a Range request", async (t) => {
  const content = randomBytes(300_000);
  const digest = digestOf(content);
  const cases: { name: string; first: () => Response }[] = [
    {
      name: "the connection breaks mid-body",
      first: () =>
        new Response(breakingBody(content.subarray(0, 100_000)), {
          headers: { "Content-Length": `${content.length}` },
        }),
    },
    {
      name: "the body ends early without an error",
      first: () => new Response(content.subarray(0, 120_000)),
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const fake = startFake([{
        name: "get",
        method: "GET",
        path: BLOB,
        handle: (request, _m, seen) => {
          if (seen && fake.counts["get"] === 1) return c.first();
          const range = /^bytes=(\d+)-$/.exec(request.headers.get("Range") ?? "");
          if (!range) return new Response("expected a Range", { status: 400 });
          const from = Number(range[1]);
          return new Response(content.subarray(from), {
            status: 206,
            headers: { "Content-Range": `bytes ${from}-${content.length - 1}/${content.length}` },
          });
        },
      }]);
      await withTempDir(async (dir) => {
        try {
          const { client } = fakeClient();
          const destination = join(dir, "blob.bin");
          await downloadBlob(new Repository(client, { registry: fake.host, repository: "a" }), {
            digest,
            size: content.length,
          }, destination);
          assertEquals(await Deno.readFile(destination), content);
          assertEquals(fake.counts["get"], 2);
          const range = fake.seen("get")[1]!.headers.get("Range")!;
          const from = Number(/^bytes=(\d+)-$/.exec(range)![1]);
          assert(from > 0 && from <= 120_000, `resumed from ${from}`);
          assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["blob.bin"], "no partial file left");
        } finally {
          await fake.close();
        }
      });
    });
  }
});

Deno.test("a download resumes from a partial file left by an earlier run", async () => {
  const content = randomBytes(50_000);
  const digest = digestOf(content);
  const fake = startFake([{
    name: "get",
    method: "GET",
    path: BLOB,
    handle: (request) => {
      if (request.headers.get("Range") !== "bytes=20000-") return new Response("bad range", { status: 400 });
      return new Response(content.subarray(20_000), { status: 206 });
    },
  }]);
  await withTempDir(async (dir) => {
    try {
      const destination = join(dir, "blob.bin");
      await Deno.writeFile(partialPath(destination, digest), content.subarray(0, 20_000));
      const { client } = fakeClient();
      await downloadBlob(new Repository(client, { registry: fake.host, repository: "a" }), {
        digest,
        size: content.length,
      }, destination);
      assertEquals(await Deno.readFile(destination), content);
    } finally {
      await fake.close();
    }
  });
});

Deno.test("a registry that ignores Range makes the download start over", async () => {
  const content = randomBytes(80_000);
  const digest = digestOf(content);
  const fake = startFake([{
    name: "get",
    method: "GET",
    path: BLOB,
    handle: () =>
      fake.counts["get"] === 1
        ? new Response(breakingBody(content.subarray(0, 30_000)), { headers: { "Content-Length": "80000" } })
        : new Response(content), // 200, whole blob, although a Range was asked
  }]);
  await withTempDir(async (dir) => {
    try {
      const destination = join(dir, "blob.bin");
      const { client } = fakeClient();
      await downloadBlob(new Repository(client, { registry: fake.host, repository: "a" }), {
        digest,
        size: content.length,
      }, destination);
      assertEquals(await Deno.readFile(destination), content);
    } finally {
      await fake.close();
    }
  });
});

Deno.test("a wrong blob leaves no file behind", async (t) => {
  const expected = randomBytes(10_000);
  const cases: { name: string; served: Uint8Array; error: string }[] = [
    { name: "same size, other content", served: randomBytes(10_000), error: "Digest mismatch" },
    {
      name: "longer than the descriptor",
      served: concat([expected, randomBytes(100)]),
      error: "Size mismatch",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const fake = startFake([{
        name: "get",
        method: "GET",
        path: BLOB,
        handle: () => new Response(c.served as Uint8Array<ArrayBuffer>),
      }]);
      await withTempDir(async (dir) => {
        try {
          const { client } = fakeClient();
          const destination = join(dir, "blob.bin");
          await assertRejects(
            () =>
              downloadBlob(new Repository(client, { registry: fake.host, repository: "a" }), {
                digest: digestOf(expected),
                size: expected.length,
              }, destination),
            DigestError,
            c.error,
          );
          assertEquals([...Deno.readDirSync(dir)], [], "no destination, no partial file");
        } finally {
          await fake.close();
        }
      });
    });
  }
});

/**
 * An upload session fake: POST, PATCH (with Content-Range checks; without one, a streamed PATCH of which it
 * keeps `streamKeep` bytes and answers 500 when given), GET status, PUT; assembles the blob.
 */
function uploadRegistry(options: { refuseAt?: { patch: number; keep: number }; streamKeep?: number } = {}) {
  let stored = new Uint8Array(0);
  let state = 0;
  let patches = 0;
  const result: { digest?: string; content?: Uint8Array } = {};
  const location = () => `/v2/a/blobs/uploads/session?_state=${state}`;
  const fake = startFake([
    {
      name: "head",
      method: "HEAD",
      path: BLOB,
      handle: () => new Response(null, { status: 404 }),
    },
    {
      // before a streamed PATCH (a body that cannot be replayed), the client learns the auth scheme
      name: "ping",
      method: "GET",
      path: /^\/v2\/$/,
      handle: () => new Response(null, { status: 200 }),
    },
    {
      name: "post",
      method: "POST",
      path: /^\/v2\/a\/blobs\/uploads\/$/,
      handle: () => new Response(null, { status: 202, headers: { Location: location() } }),
    },
    {
      name: "patch",
      method: "PATCH",
      path: /^\/v2\/a\/blobs\/uploads\/session$/,
      handle: (request, _m, seen) => {
        patches++;
        if (new URL(request.url).searchParams.get("_state") !== `${state}`) {
          return new Response("stale Location", { status: 400 });
        }
        if (!request.headers.has("Content-Range") && stored.length === 0) {
          const keep = options.streamKeep ?? seen.body.length;
          stored = concat([stored, seen.body.subarray(0, keep)]);
          if (keep < seen.body.length) return new Response("storage hiccup", { status: 500 });
          state++;
          return new Response(null, {
            status: 202,
            headers: { Location: location(), Range: `0-${stored.length - 1}` },
          });
        }
        const range = /^(\d+)-(\d+)$/.exec(request.headers.get("Content-Range") ?? "");
        if (!range) return new Response("no Content-Range", { status: 400 });
        const [from, to] = [Number(range[1]), Number(range[2])];
        if (to - from + 1 !== seen.body.length) return new Response("range/body mismatch", { status: 400 });
        if (options.refuseAt && patches === options.refuseAt.patch) {
          stored = concat([stored, seen.body.subarray(0, options.refuseAt.keep)]);
          return new Response(null, { status: 416 });
        }
        if (from !== stored.length) return new Response(null, { status: 416 });
        stored = concat([stored, seen.body]);
        state++;
        return new Response(null, {
          status: 202,
          headers: { Location: location(), Range: `0-${stored.length - 1}` },
        });
      },
    },
    {
      name: "status",
      method: "GET",
      path: /^\/v2\/a\/blobs\/uploads\/session$/,
      handle: () =>
        new Response(null, {
          status: 204,
          headers: { Location: location(), Range: `0-${stored.length - 1}` },
        }),
    },
    {
      name: "put",
      method: "PUT",
      path: /^\/v2\/a\/blobs\/uploads\/session$/,
      handle: (request, _m, seen) => {
        const params = new URL(request.url).searchParams;
        if (params.get("_state") !== `${state}`) return new Response("stale Location", { status: 400 });
        result.content = concat([stored, seen.body]);
        result.digest = params.get("digest") ?? undefined;
        return new Response(null, { status: 201 });
      },
    },
  ]);
  return { fake, result };
}

Deno.test("a big blob is uploaded in PATCH chunks with Content-Range, following the newest Location", async () => {
  const content = randomBytes(3500);
  const { fake, result } = uploadRegistry();
  try {
    const { client } = fakeClient();
    const progress: number[] = [];
    const outcome = await new Repository(client, { registry: fake.host, repository: "a" }).blobs.push(
      { digest: digestOf(content), size: content.length },
      () => new Blob([content]).stream(),
      { chunkSize: 1000, onProgress: (n) => progress.push(n) },
    );
    assertEquals(outcome, "uploaded");
    assertEquals(fake.seen("patch").map((r) => r.headers.get("Content-Range")), [
      "0-999",
      "1000-1999",
      "2000-2999",
      "3000-3499",
    ]);
    assertEquals(
      fake.seen("patch").map((r) => r.headers.get("Content-Type")),
      Array(4).fill("application/octet-stream"),
    );
    assertEquals(result.content, content);
    assertEquals(result.digest, digestOf(content));
    assertEquals(fake.seen("put")[0]!.body.length, 0, "the PUT closes the upload without a body");
    assertEquals(progress.at(-1), 3500);
  } finally {
    await fake.close();
  }
});

Deno.test("a 416 during a chunked upload is recovered by asking the upload's status", async () => {
  const content = randomBytes(3000);
  const { fake, result } = uploadRegistry({ refuseAt: { patch: 2, keep: 400 } });
  try {
    const { client } = fakeClient();
    await new Repository(client, { registry: fake.host, repository: "a" }).blobs.push(
      { digest: digestOf(content), size: content.length },
      () => new Blob([content]).stream(),
      { chunkSize: 1000 },
    );
    assertEquals(fake.counts["status"], 1);
    assertEquals(fake.seen("patch").map((r) => r.headers.get("Content-Range")), [
      "0-999",
      "1000-1999",
      "1400-1999",
      "2000-2999",
    ]);
    assertEquals(result.content, content);
  } finally {
    await fake.close();
  }
});

Deno.test("a big blob is streamed as one PATCH by default, and resumed in chunks after a failure", async (t) => {
  const content = randomBytes(40_000);
  await t.step("one streamed PATCH without Content-Range, then the PUT", async () => {
    const { fake, result } = uploadRegistry();
    try {
      const { client } = fakeClient();
      const progress: number[] = [];
      await new Repository(client, { registry: fake.host, repository: "a" }).blobs.push(
        { digest: digestOf(content), size: content.length },
        () => new Blob([content]).stream(),
        {
          upload: "stream",
          chunkSize: 10_000,
          onProgress: (n) => progress.push(n),
        },
      );
      assertEquals(fake.seen("patch").map((r) => r.headers.get("Content-Range")), [null]);
      assertEquals(fake.counts["status"], undefined);
      assertEquals(result.content, content);
      assertEquals(result.digest, digestOf(content));
      assertEquals(progress.at(-1), content.length);
      assertEquals(
        fake.counts["ping"],
        1,
        "the auth scheme is learnt with one ping before the streamed PATCH",
      );
      const { fake: again, result: second } = uploadRegistry();
      try {
        for (let i = 0; i < 2; i++) {
          await new Repository(client, { registry: again.host, repository: "a" }).blobs.push(
            { digest: digestOf(content), size: content.length },
            () => new Blob([content]).stream(),
            { upload: "stream", chunkSize: 10_000, skipExistsCheck: true },
          ).catch(() => {}); // the fake keeps one session: the second upload's PATCH is refused, that is fine here
        }
        assertEquals(again.counts["ping"], 1, "an open registry is pinged once per client");
        assertEquals(second.content, content);
      } finally {
        await again.close();
      }
    } finally {
      await fake.close();
    }
  });
  await t.step("with default options a 2 MiB blob is streamed too, not buffered into one PUT", async () => {
    const medium = randomBytes(2 * 1024 * 1024);
    const { fake, result } = uploadRegistry();
    try {
      const { client } = fakeClient();
      await new Repository(client, { registry: fake.host, repository: "a" }).blobs.push({
        digest: digestOf(medium),
        size: medium.length,
      }, () => new Blob([medium]).stream());
      assertEquals(fake.seen("patch").map((r) => r.headers.get("Content-Range")), [null]);
      assertEquals(result.content, medium);
    } finally {
      await fake.close();
    }
  });
  await t.step("the registry kept part of the stream: the rest goes in Content-Range chunks", async () => {
    const { fake, result } = uploadRegistry({ streamKeep: 15_000 });
    try {
      const { client } = fakeClient();
      await new Repository(client, { registry: fake.host, repository: "a" }).blobs.push(
        { digest: digestOf(content), size: content.length },
        () => new Blob([content]).stream(),
        { upload: "stream", chunkSize: 10_000 },
      );
      assertEquals(fake.counts["status"], 1);
      assertEquals(fake.seen("patch").map((r) => r.headers.get("Content-Range")), [
        null,
        "15000-24999",
        "25000-34999",
        "35000-39999",
      ]);
      assertEquals(result.content, content);
    } finally {
      await fake.close();
    }
  });
});

Deno.test("a small blob is uploaded monolithically, keeping the Location's query", async (t) => {
  const content = new TextEncoder().encode("small blob");
  const digest = digestOf(content);
  const cases: { name: string; location: (origin: string) => string }[] = [
    { name: "relative Location", location: () => "/v2/a/blobs/uploads/u?_state=abc%3D&x=1" },
    { name: "absolute Location", location: (origin) => `${origin}/v2/a/blobs/uploads/u?_state=abc%3D&x=1` },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const fake = startFake([
        { name: "head", method: "HEAD", path: BLOB, handle: () => new Response(null, { status: 404 }) },
        {
          name: "post",
          method: "POST",
          path: /^\/v2\/a\/blobs\/uploads\/$/,
          handle: () => new Response(null, { status: 202, headers: { Location: c.location(fake.origin) } }),
        },
        {
          name: "put",
          method: "PUT",
          path: /^\/v2\/a\/blobs\/uploads\/u$/,
          handle: () => new Response(null, { status: 201 }),
        },
      ]);
      try {
        const { client } = fakeClient();
        await new Repository(client, { registry: fake.host, repository: "a" }).blobs.push({
          digest,
          size: content.length,
        }, content);
        const put = fake.seen("put")[0]!;
        const params = new URL(put.url, fake.origin).searchParams;
        assertEquals([params.get("_state"), params.get("x"), params.get("digest")], ["abc=", "1", digest]);
        assertEquals(put.body, content);
        assertEquals(put.headers.get("Content-Type"), "application/octet-stream");
        assertEquals(fake.counts["post"], 1);
      } finally {
        await fake.close();
      }
    });
  }
});

Deno.test("a cross-repository mount skips the upload", async (t) => {
  const content = new TextEncoder().encode("shared layer");
  const digest = digestOf(content);
  await t.step("201 Created: mounted, no PUT", async () => {
    let realm = "";
    const scopes: string[][] = [];
    const fake = startFake([
      {
        name: "token",
        method: "GET",
        path: /^\/token$/,
        handle: (request) => {
          scopes.push(new URL(request.url).searchParams.getAll("scope"));
          return Response.json({ token: "t" });
        },
      },
      {
        name: "head",
        method: "HEAD",
        path: BLOB,
        handle: (r) =>
          r.headers.get("Authorization") ? new Response(null, { status: 404 }) : bearerChallenge(realm),
      },
      {
        name: "post",
        method: "POST",
        path: /^\/v2\/target\/blobs\/uploads\/$/,
        handle: (r) =>
          r.headers.get("Authorization")
            ? new Response(null, { status: 201, headers: { Location: `/v2/target/blobs/${digest}` } })
            : bearerChallenge(realm),
      },
    ]);
    realm = `${fake.origin}/token`;
    try {
      const { client } = fakeClient();
      const outcome = await new Repository(client, { registry: fake.host, repository: "target" }).blobs.push(
        {
          digest,
          size: content.length,
        },
        content,
        { mountFrom: "source/repo" },
      );
      assertEquals(outcome, "mounted");
      const post = new URL(fake.seen("post")[0]!.url, fake.origin).searchParams;
      assertEquals([post.get("mount"), post.get("from")], [digest, "source/repo"]);
      assertEquals(scopes, [["repository:source/repo:pull", "repository:target:pull,push"]], "one token");
    } finally {
      await fake.close();
    }
  });
  await t.step("202 Accepted: the registry could not mount, the blob is uploaded", async () => {
    const fake = startFake([
      { name: "head", method: "HEAD", path: BLOB, handle: () => new Response(null, { status: 404 }) },
      {
        name: "post",
        method: "POST",
        path: /^\/v2\/target\/blobs\/uploads\/$/,
        handle: () =>
          new Response(null, { status: 202, headers: { Location: "/v2/target/blobs/uploads/u" } }),
      },
      {
        name: "put",
        method: "PUT",
        path: /^\/v2\/target\/blobs\/uploads\/u$/,
        handle: () => new Response(null, { status: 201 }),
      },
    ]);
    try {
      const { client } = fakeClient();
      const outcome = await new Repository(client, { registry: fake.host, repository: "target" }).blobs.push(
        {
          digest,
          size: content.length,
        },
        content,
        { mountFrom: "source/repo" },
      );
      assertEquals(outcome, "uploaded");
      assertEquals(fake.seen("put")[0]!.body, content);
    } finally {
      await fake.close();
    }
  });
});

Deno.test("an upload the registry refuses is a RegistryError with its code", async () => {
  const content = new TextEncoder().encode("bad");
  const fake = startFake([
    { name: "head", method: "HEAD", path: BLOB, handle: () => new Response(null, { status: 404 }) },
    {
      name: "post",
      method: "POST",
      path: /^\/v2\/a\/blobs\/uploads\/$/,
      handle: () => new Response(null, { status: 202, headers: { Location: "/v2/a/blobs/uploads/u" } }),
    },
    {
      name: "put",
      method: "PUT",
      path: /^\/v2\/a\/blobs\/uploads\/u$/,
      handle: () =>
        Response.json({
          errors: [{ code: "DIGEST_INVALID", message: "provided digest did not match uploaded content" }],
        }, { status: 400 }),
    },
  ]);
  try {
    const { client } = fakeClient();
    const digest: Digest = `sha256:${"0".repeat(64)}`;
    const error = await assertRejects(
      () =>
        new Repository(client, { registry: fake.host, repository: "a" }).blobs.push(
          { digest, size: 3 },
          content,
        ),
      RegistryError,
      `Cannot push blob "${digest}" to "${fake.host}/a": registry answered 400 DIGEST_INVALID`,
    );
    assertEquals(error.code, "DIGEST_INVALID");
  } finally {
    await fake.close();
  }
});

Deno.test("a stream that is not a byte stream is copied chunk by chunk, big chunks included", async () => {
  // 5 MiB, 10 bytes, 6 MiB, 3 bytes: chunks bigger than the 4 MiB write batch, and small ones between them
  const parts = [randomBytes(5 * 1024 * 1024), randomBytes(10), randomBytes(6 * 1024 * 1024), randomBytes(3)];
  const content = concat(parts);
  let next = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (next < parts.length) controller.enqueue(parts[next++]!);
      else controller.close();
    },
  });
  await withTempDir(async (dir) => {
    const destination = join(dir, "blob.bin");
    const progress: number[] = [];
    const expected = { digest: digestOf(content), size: content.length };
    const file = await PartialFile.create(`${destination}.partial`, { what: "the blob", expected });
    await file.append(body, { onProgress: (n) => progress.push(n) });
    await file.commit(destination);
    assertEquals(await Deno.readFile(destination), content);
    assertEquals(progress, [5242880, 5242890, 11534346, 11534349]);
  });
});

Deno.test("a registry body that is not a byte stream is downloaded and verified", async () => {
  const parts = [randomBytes(5 * 1024 * 1024), randomBytes(10), randomBytes(3)];
  const content = concat(parts);
  const fetchPlain: typeof fetch = () => {
    let next = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (next < parts.length) controller.enqueue(parts[next++]!);
        else controller.close();
      },
    });
    return Promise.resolve(new Response(body, { status: 200 }));
  };
  const { client } = fakeClient({ fetch: fetchPlain, plainHttp: true });
  await withTempDir(async (dir) => {
    const destination = join(dir, "blob.bin");
    const descriptor = { digest: digestOf(content), size: content.length };
    await downloadBlob(
      new Repository(client, { registry: "registry.test", repository: "a" }),
      descriptor,
      destination,
    );
    assertEquals(await Deno.readFile(destination), content);
  });
});
