/** Registry error mapping: the spec's error JSON to one readable line with code and hint; capped reading. */

import { BodyTooLargeError, readCapped } from "../lib/oci/read_capped.ts";
import { errorFromResponse, MAX_ERROR_BODY, RegistryError } from "../lib/oci/registry_error.ts";
import type { RegistryHint } from "../lib/oci/hint.ts";
import { errorHint } from "../lib/cli/hints.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";

const what = 'push blob "sha256:abc" to "ghcr.io/x/y"';
const context = { registry: "ghcr.io", repository: "x/y" };

Deno.test("errorFromResponse maps registry answers to one line and a hint", async (t) => {
  const cases: {
    name: string;
    status: number;
    statusText?: string;
    body: string | null;
    message: string;
    code?: string;
    hint?: RegistryHint;
    /** The hint line the CLI prints under the error. */
    hintLine?: string;
  }[] = [
    {
      name: "401 with the spec's error JSON",
      status: 401,
      body: JSON.stringify({
        errors: [{ code: "UNAUTHORIZED", message: "authentication required", detail: null }],
      }),
      message: `Cannot ${what}: registry answered 401 UNAUTHORIZED: authentication required`,
      code: "UNAUTHORIZED",
      hint: { kind: "login", registry: "ghcr.io" },
      hintLine: "hint: run `kpm registry login ghcr.io`",
    },
    {
      name: "403 DENIED",
      status: 403,
      body: JSON.stringify({
        errors: [{ code: "DENIED", message: "requested access to the resource is denied" }],
      }),
      message: `Cannot ${what}: registry answered 403 DENIED: requested access to the resource is denied`,
      code: "DENIED",
      hint: { kind: "access" },
      hintLine: "hint: the credentials have no access to this repository",
    },
    {
      name: "404 MANIFEST_UNKNOWN with a string detail",
      status: 404,
      body: JSON.stringify({
        errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown", detail: "tag 1.0" }],
      }),
      message: `Cannot ${what}: registry answered 404 MANIFEST_UNKNOWN: manifest unknown (tag 1.0)`,
      code: "MANIFEST_UNKNOWN",
      hint: { kind: "reference" },
      hintLine: "hint: check the repository name and the tag",
    },
    {
      name: "an object detail is left out; only the first error is shown",
      status: 400,
      body: JSON.stringify({
        errors: [
          { code: "DIGEST_INVALID", message: "provided digest did not match", detail: { a: 1 } },
          { code: "SIZE_INVALID", message: "second" },
        ],
      }),
      message: `Cannot ${what}: registry answered 400 DIGEST_INVALID: provided digest did not match`,
      code: "DIGEST_INVALID",
    },
    {
      name: "a plain-text body gives its first line",
      status: 502,
      statusText: "Bad Gateway",
      body: "upstream connect error\nsecond line\n",
      message: `Cannot ${what}: registry answered 502 Bad Gateway: upstream connect error`,
    },
    {
      name: "an HTML body is cut to 200 characters",
      status: 500,
      statusText: "Internal Server Error",
      body: `<html>${"x".repeat(1000)}</html>`,
      message: `Cannot ${what}: registry answered 500 Internal Server Error: <html>${"x".repeat(194)}`,
    },
    {
      name: "no body, no status text",
      status: 418,
      body: null,
      message: `Cannot ${what}: registry answered 418`,
    },
    {
      name: "JSON without errors keeps only the status",
      status: 409,
      statusText: "Conflict",
      body: "{}",
      message: `Cannot ${what}: registry answered 409 Conflict`,
    },
    {
      name: "401 without JSON still hints at login",
      status: 401,
      statusText: "Unauthorized",
      body: "",
      message: `Cannot ${what}: registry answered 401 Unauthorized`,
      hint: { kind: "login", registry: "ghcr.io" },
      hintLine: "hint: run `kpm registry login ghcr.io`",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const response = new Response(c.body, { status: c.status, statusText: c.statusText ?? "" });
      const error = await errorFromResponse(response, what, context);
      assert(error instanceof RegistryError);
      assertEquals(error.message, c.message);
      assertEquals(error.hint, c.hint);
      const worded = errorHint(error);
      assertEquals(worded && `hint: ${worded.text}`, c.hintLine);
      assertEquals(error.status, c.status);
      assertEquals(error.code, c.code);
      assertEquals(error.registry, "ghcr.io");
      assertEquals(error.repository, "x/y");
      assertEquals(error.message.includes("\n"), false);
    });
  }
});

Deno.test("errorFromResponse hints at login without a registry too", async () => {
  const error = await errorFromResponse(new Response("", { status: 401 }), "log in");
  assertEquals(error.message, "Cannot log in: registry answered 401");
  assertEquals(error.hint, { kind: "login" });
  assertEquals(errorHint(error)?.text, "log in to the registry first");
});

/** A body of `total` bytes in `chunk`-sized pieces that records how much was pulled and whether it was cancelled. */
function countingBody(total: number, chunk: number) {
  const state = { pulled: 0, cancelled: false };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled >= total) return controller.close();
      const size = Math.min(chunk, total - state.pulled);
      state.pulled += size;
      controller.enqueue(new Uint8Array(size).fill(0x61));
    },
    cancel() {
      state.cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { body, state };
}

Deno.test("readCapped reads at most the limit and cancels the rest; truncated or refused", async (t) => {
  await t.step("a huge body is cut at the limit and cancelled", async () => {
    const { body, state } = countingBody(100 * 1024 * 1024, 16 * 1024);
    const bytes = await readCapped(new Response(body), { limit: 100_000, truncate: true });
    assertEquals(bytes.byteLength, 100_000);
    assert(state.cancelled, "the rest of the body is cancelled");
    assert(state.pulled < 200_000, `read ${state.pulled} bytes for a 100,000 byte cap`);
  });
  await t.step("a short body is read whole", async () => {
    const { body, state } = countingBody(5000, 1000);
    assertEquals((await readCapped(new Response(body), { limit: 100_000 })).byteLength, 5000);
    assertEquals(state.cancelled, false);
  });
  await t.step("a body exactly at the limit", async () => {
    const { body } = countingBody(4096, 1024);
    assertEquals((await readCapped(body, { limit: 4096 })).byteLength, 4096);
  });
  await t.step("no body", async () => {
    assertEquals((await readCapped(new Response(null), { limit: 10 })).byteLength, 0);
    assertEquals((await readCapped(null, { limit: 10 })).byteLength, 0);
  });
  await t.step("without truncate, a longer body is refused as soon as it passes the limit", async () => {
    const { body, state } = countingBody(100 * 1024 * 1024, 16 * 1024);
    const error = await assertRejects(
      () => readCapped(body, { limit: 100_000, what: "the token response" }),
      BodyTooLargeError,
      "Cannot read the token response: it is over the 100000 byte limit",
    );
    assertEquals(error.limit, 100_000);
    assert(state.cancelled, "the rest of the body is cancelled");
    assert(state.pulled < 200_000, `read ${state.pulled} bytes for a 100,000 byte cap`);
  });
  await t.step("without truncate, a longer Content-Length is refused unread", async () => {
    const { body, state } = countingBody(1024 * 1024, 16 * 1024);
    const request = new Request("http://x.test/", {
      method: "PUT",
      body,
      headers: { "Content-Length": String(1024 * 1024) },
    });
    await assertRejects(() => readCapped(request, { limit: 1000 }), BodyTooLargeError, "the body");
    assert(state.pulled <= 16 * 1024, `read ${state.pulled} bytes`);
  });
  await t.step("errorFromResponse reads at most MAX_ERROR_BODY", async () => {
    const { body, state } = countingBody(64 * 1024 * 1024, 64 * 1024);
    const error = await errorFromResponse(new Response(body, { status: 500 }), "x");
    assert(state.cancelled);
    assert(state.pulled <= MAX_ERROR_BODY + 64 * 1024);
    assert(error.message.length < 400);
  });
});
