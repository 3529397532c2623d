/**
 * HTTP_PROXY / NO_PROXY: kpm talks to registries only through Deno's `fetch`, which honours the proxy
 * variables (upper or lower case), also for loopback hosts. A small CONNECT-less forward proxy on 127.0.0.1
 * receives absolute-form requests (`GET http://host:port/v2/ HTTP/1.1`), counts them and forwards them with
 * fetch; it also resolves the name `registry.test` to 127.0.0.1, a name only the proxy knows, as behind a
 * corporate proxy.
 */

import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { describe, kpmHome, ROOT, runKpm } from "./ship_support.ts";
import { startEmbeddedRegistry } from "./support/embedded.ts";
import { freePort } from "./support/ports.ts";

const ENTRY = join(ROOT, "main.ts");
const FLAGS = ["--allow-net", "--allow-read", "--allow-write", "--allow-env"];
const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
];

/** A running forward proxy. */
interface ForwardProxy {
  url: string;
  /** The absolute URLs it forwarded. */
  seen: string[];
  close(): Promise<void>;
}

/** Starts a CONNECT-less HTTP forward proxy on 127.0.0.1 that maps `registry.test` to 127.0.0.1. */
function startProxy(): ForwardProxy {
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const target = new URL(request.url);
    if (request.method === "CONNECT") return new Response("CONNECT not supported", { status: 405 });
    seen.push(`${request.method} ${target.href}`);
    if (target.hostname === "registry.test") target.hostname = "127.0.0.1";
    else if (target.hostname !== "127.0.0.1") return new Response("loopback only", { status: 403 });
    const headers = new Headers(request.headers);
    for (const name of HOP_BY_HOP) headers.delete(name);
    headers.set("accept-encoding", "identity");
    const upstream = await fetch(target, {
      method: request.method,
      headers,
      body: request.body,
      redirect: "manual",
    });
    const out = new Headers(upstream.headers);
    for (const name of HOP_BY_HOP) out.delete(name);
    return new Response(upstream.body, { status: upstream.status, headers: out });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, seen, close: () => server.shutdown() };
}

Deno.test("kpm honours HTTP_PROXY and NO_PROXY for a plain-http registry", async (t) => {
  const registry = await startEmbeddedRegistry();
  const proxy = startProxy();
  await using home = await kpmHome();
  const work = join(home.dir, "work");
  await Deno.mkdir(work);
  await Deno.writeTextFile(join(work, "hello.txt"), "through the proxy\n");
  const port = registry.host.split(":")[1]!;
  const kpm = (args: string[], env: Record<string, string>) =>
    runKpm(ENTRY, [...args, "--plain-http"], { denoArgs: FLAGS, cwd: work, env: { ...home.env, ...env } });
  const pushPull = async (host: string, env: Record<string, string>, name: string) => {
    let result = await kpm(["artifact", "push", `${host}/proxy/${name}:v1`, "hello.txt:text/plain"], env);
    assertEquals(result.code, 0, describe(result));
    result = await kpm(["artifact", "pull", `${host}/proxy/${name}:v1`, "-o", name], env);
    assertEquals(result.code, 0, describe(result));
    assertEquals(await Deno.readTextFile(join(work, name, "hello.txt")), "through the proxy\n");
  };
  try {
    await t.step("HTTP_PROXY: every registry request goes through the proxy", async () => {
      proxy.seen.length = 0;
      await pushPull(registry.host, { HTTP_PROXY: proxy.url }, "upper");
      assert(proxy.seen.length >= 5, `the proxy saw ${proxy.seen.length} requests`);
      assert(proxy.seen.some((line) => line.startsWith("PUT ") && line.includes("/manifests/v1")));
      assert(proxy.seen.some((line) => line.startsWith("GET ") && line.includes("/blobs/sha256:")));
      for (const line of proxy.seen) assertStringIncludes(line, `http://${registry.host}/v2/`);
    });

    await t.step("http_proxy (lower case) works too", async () => {
      proxy.seen.length = 0;
      await pushPull(registry.host, { http_proxy: proxy.url }, "lower");
      assert(proxy.seen.length >= 5, `the proxy saw ${proxy.seen.length} requests`);
    });

    await t.step("NO_PROXY=127.0.0.1: the proxy sees nothing", async () => {
      proxy.seen.length = 0;
      await pushPull(registry.host, { HTTP_PROXY: proxy.url, NO_PROXY: "127.0.0.1" }, "bypass");
      assertEquals(proxy.seen, []);
    });

    await t.step("a registry name only the proxy resolves (registry.test) works through it", async () => {
      proxy.seen.length = 0;
      await pushPull(`registry.test:${port}`, { HTTP_PROXY: proxy.url }, "named");
      assert(proxy.seen.length >= 5, `the proxy saw ${proxy.seen.length} requests`);
      assert(
        proxy.seen.every((line) => line.includes("://registry.test:") || line.includes("://127.0.0.1:")),
      );
    });

    await t.step(
      "…and fails with exit 1 when the proxy is down (no DNS lookup of the name is tried)",
      async () => {
        const down = `http://127.0.0.1:${freePort()}`;
        const result = await kpm(["artifact", "pull", `registry.test:${port}/proxy/named:v1`, "-o", "none"], {
          HTTP_PROXY: down,
        });
        assertEquals(result.code, 1, describe(result));
        assertStringIncludes(result.stderr, 'cannot reach "registry.test:');
      },
    );
  } finally {
    await proxy.close();
    await registry.close();
  }
});
