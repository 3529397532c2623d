/**
 * Cancellation: a RegistryClient's signal aborts requests in flight (and their bodies) with its reason and
 * without a retry, and Ctrl-C cancels a running kpm command through it, which unwinds (temporary files
 * removed) and exits 130.
 */

import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { fakeClient, startFake } from "./oci_fake.ts";
import { kpmHome, ROOT } from "./integration/ship_support.ts";

/** A route handler that holds each request until `release()`; `arrived` settles when the first comes. */
function holding() {
  const { promise: arrived, resolve } = Promise.withResolvers<void>();
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const handle = async () => {
    resolve();
    await released;
    return new Response(null, { status: 500 });
  };
  return { arrived, release, handle };
}

Deno.test("a client's signal aborts a request in flight with its reason, and nothing is retried", async () => {
  const held = holding();
  const fake = startFake([{
    name: "manifest",
    method: "GET",
    path: /^\/v2\/test\/x\/manifests\/v1$/,
    ...held,
  }]);
  try {
    const controller = new AbortController();
    const { client } = fakeClient({ plainHttp: true, signal: controller.signal });
    const reason = new Error("cancelled by the user");
    const sending = client.send({
      registry: fake.host,
      path: "test/x/manifests/v1",
      scopes: [],
      expect: [200],
      what: "pull manifest",
    });
    await held.arrived;
    controller.abort(reason);
    assertEquals(await sending.then(() => undefined, (error) => error), reason);
    assertEquals(fake.counts["manifest"], 1, "no retry after the abort");
    assertEquals(
      await client.send({ registry: fake.host, path: "", scopes: [], expect: [200], what: "ping" })
        .then(() => undefined, (error) => error),
      reason,
      "a later request fails at once",
    );
  } finally {
    held.release();
    await fake.close();
  }
});

Deno.test("a client's signal fails a response body being read", async () => {
  let stall!: ReadableStreamDefaultController<Uint8Array>;
  const fake = startFake([{
    name: "blob",
    method: "GET",
    path: /^\/v2\/test\/x\/blobs\/sha256:0+$/,
    handle: () =>
      new Response(
        new ReadableStream({ start: (c) => (stall = c, c.enqueue(new Uint8Array(10))) }),
      ),
  }]);
  try {
    const controller = new AbortController();
    const { client } = fakeClient({ plainHttp: true, signal: controller.signal });
    const response = await client.send({
      registry: fake.host,
      path: `test/x/blobs/sha256:${"0".repeat(64)}`,
      scopes: [],
      expect: [200],
      what: "pull blob",
    });
    const reader = response.body!.getReader();
    await reader.read();
    const reading = reader.read();
    const reason = new Error("cancelled by the user");
    controller.abort(reason);
    assertEquals(await reading.then(() => undefined, (error) => error), reason);
    stall.close();
  } finally {
    await fake.close();
  }
});

Deno.test("Ctrl-C during kpm artifact push cancels the upload, removes the packed folder and exits 130", async () => {
  await using home = await kpmHome();
  const held = holding();
  const fake = startFake([
    { name: "ping", method: "GET", path: /^\/v2\/$/, handle: () => Response.json({}) },
    {
      name: "head",
      method: "HEAD",
      path: /^\/v2\/demo\/blobs\//,
      handle: () => new Response(null, { status: 404 }),
    },
    {
      name: "start",
      method: "POST",
      path: /^\/v2\/demo\/blobs\/uploads\/$/,
      handle: () => new Response(null, { status: 202, headers: { Location: "/v2/demo/blobs/uploads/u1" } }),
    },
    {
      name: "upload",
      method: "PUT",
      path: /^\/v2\/demo\/blobs\/uploads\/u1$/,
      readBody: false,
      handle: held.handle,
    },
    {
      name: "patch",
      method: "PATCH",
      path: /^\/v2\/demo\/blobs\/uploads\/u1$/,
      readBody: false,
      handle: held.handle,
    },
  ]);
  const temp = join(home.dir, "tmp");
  const folder = join(home.dir, "site");
  await Deno.mkdir(temp);
  await Deno.mkdir(folder);
  await Deno.writeTextFile(join(folder, "index.html"), "<p>hello</p>\n");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(ROOT, "main.ts"),
      "artifact",
      "push",
      "--plain-http",
      `${fake.host}/demo:v1`,
      "site",
    ],
    cwd: home.dir,
    env: { ...home.env, TMPDIR: temp },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    await held.arrived;
    child.kill("SIGINT");
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 130, stderr);
    assert(!stderr.includes("error:"), stderr);
    assertEquals([...Deno.readDirSync(temp)].map((entry) => entry.name), [], "the packed folder is removed");
    assertEquals((fake.counts["upload"] ?? 0) + (fake.counts["patch"] ?? 0), 1);
  } finally {
    held.release();
    await fake.close();
  }
});
