/**
 * A registry, token endpoint or credential helper that goes silent: kpm gives up after the idle timeout with an
 * error naming what stalled, keeps a half-downloaded blob for the next run, and `--timeout`/`KPM_TIMEOUT`
 * change the limit. (The limits here are short so the tests are quick; no test asserts how long anything took.)
 */

import { join } from "node:path";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { RegistryClient } from "../../lib/oci/client.ts";
import { downloadBlob, partialPath } from "../../lib/oci/blobs.ts";
import { digestOf } from "../../lib/oci/digest.ts";
import { RegistryError } from "../../lib/oci/registry_error.ts";
import { TIMEOUT_CODE } from "../../lib/oci/http.ts";
import { randomBytes } from "../oci_fake.ts";
import { describe, kpmHome, ROOT, runKpm } from "../integration/ship_support.ts";
import { type EvilRegistry, startEvilRegistry } from "./support/evil_registry.ts";
import { Repository } from "../../lib/oci/repository.ts";

const ENTRY = join(ROOT, "main.ts");

/** A body that sends `head` and then nothing, until the client hangs up. */
function stallingBody(head: Uint8Array): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    pull(controller) {
      if (sent) return new Promise(() => {});
      sent = true;
      controller.enqueue(head);
    },
  });
}

Deno.test("a registry that never answers fails with a timeout naming what stalled", async () => {
  const registry: EvilRegistry = startEvilRegistry({ trick: (request) => registry.silence(request) });
  try {
    const client = new RegistryClient({ timeoutMs: 200, plainHttp: true });
    const error = await assertRejects(
      () => new Repository(client, { registry: registry.host, repository: "evil/app" }).tags(),
      RegistryError,
      `Cannot list tags of "${registry.host}/evil/app": "${registry.host}" sent nothing for 0.2 s`,
    );
    assertEquals(error.code, TIMEOUT_CODE);
    assertEquals(registry.seen.length, 1, "a stall is not retried");
  } finally {
    await registry.close();
  }
});

Deno.test("a token endpoint that never answers fails with a timeout naming it", async () => {
  const registry: EvilRegistry = startEvilRegistry({
    auth: "bearer",
    trick: (request, url) => url.pathname === "/token" ? registry.silence(request) : undefined,
  });
  try {
    const client = new RegistryClient({ timeoutMs: 200, plainHttp: true });
    await assertRejects(
      () => new Repository(client, { registry: registry.host, repository: "evil/app" }).tags(),
      RegistryError,
      `Cannot get a token for "${registry.host}" from "${registry.origin}/token": "${registry.host}" sent nothing`,
    );
  } finally {
    await registry.close();
  }
});

Deno.test("a registry that never answers a streamed upload fails it with a timeout", async () => {
  const registry: EvilRegistry = startEvilRegistry({
    trick: (request) => request.method === "PATCH" ? registry.silence(request) : undefined,
  });
  try {
    const content = randomBytes(32 * 1024 * 1024);
    const client = new RegistryClient({ timeoutMs: 300, plainHttp: true });
    const error = await assertRejects(
      () =>
        new Repository(client, { registry: registry.host, repository: "evil/app" }).blobs.push({
          digest: digestOf(content),
          size: content.byteLength,
        }, () => new Blob([content]).stream()),
      RegistryError,
      `"${registry.host}" sent nothing for 0.3 s`,
    );
    assertEquals(error.code, TIMEOUT_CODE);
  } finally {
    await registry.close();
  }
});

Deno.test("a blob download that stalls halfway keeps its partial file, and the next run resumes it", async () => {
  const dir = await Deno.makeTempDir();
  const content = randomBytes(256 * 1024);
  const descriptor = { digest: digestOf(content), size: content.byteLength };
  let stall = true;
  const registry = startEvilRegistry({
    trick: (request, url) =>
      stall && request.method === "GET" && url.pathname.includes("/blobs/sha256:")
        ? new Response(stallingBody(content.slice(0, 100_000)), { headers: { "Content-Length": "262144" } })
        : undefined,
  });
  try {
    const repo = { registry: registry.host, repository: "evil/app" };
    const client = new RegistryClient({ timeoutMs: 300, plainHttp: true });
    await new Repository(client, repo).blobs.push(descriptor, content);
    const destination = join(dir, "blob");
    const error = await assertRejects(
      () => downloadBlob(new Repository(client, repo), descriptor, destination),
      RegistryError,
      "sent nothing for 0.3 s",
    );
    assertEquals(error.code, TIMEOUT_CODE);
    assertEquals((await Deno.stat(partialPath(destination, descriptor.digest))).size, 100_000);
    stall = false;
    await downloadBlob(new Repository(client, repo), descriptor, destination);
    assertEquals(await Deno.readFile(destination), content);
    assert(registry.seen.some((s) => s.method === "GET" && s.url.includes("/blobs/")), "downloaded");
  } finally {
    await registry.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--timeout and KPM_TIMEOUT set the limit; a stalled credential helper is stopped", async (t) => {
  await using home = await kpmHome();
  const registry: EvilRegistry = startEvilRegistry({ trick: (request) => registry.silence(request) });
  const kpm = (args: string[], env: Record<string, string> = {}) =>
    runKpm(ENTRY, args, { cwd: home.dir, env: { ...home.env, ...env } });
  try {
    await t.step("--timeout", async () => {
      const result = await kpm(["artifact", "tags", `${registry.host}/evil/app`, "--timeout", "300ms"]);
      assertEquals(result.code, 1, describe(result));
      assertStringIncludes(result.stderr, `"${registry.host}" sent nothing for 0.3 s`);
    });
    await t.step("KPM_TIMEOUT", async () => {
      const result = await kpm(["artifact", "tags", `${registry.host}/evil/app`], { KPM_TIMEOUT: "0.4s" });
      assertEquals(result.code, 1, describe(result));
      assertStringIncludes(result.stderr, "sent nothing for 0.4 s");
    });
    await t.step("chart-repo serve names its stalled upstream", async () => {
      const result = await kpm([
        "chart-repo",
        "serve",
        "--port",
        "0",
        "--storage",
        "registry",
        "--storage-registry-repo",
        registry.host,
        "--timeout",
        "300ms",
      ]);
      assertEquals(result.code, 1, describe(result));
      assertStringIncludes(result.stderr, `"${registry.host}" sent nothing for 0.3 s`);
    });
    await t.step("an invalid duration is a usage error", async () => {
      const result = await kpm(["artifact", "tags", `${registry.host}/evil/app`, "--timeout", "soon"]);
      assertEquals(result.code, 2, describe(result));
      assertStringIncludes(result.stderr, 'Invalid duration "soon" for --timeout');
    });
    await t.step("a credential helper that never answers", async () => {
      const bin = join(home.dir, "bin");
      await Deno.mkdir(bin);
      await Deno.writeTextFile(join(bin, "docker-credential-stall"), "#!/bin/sh\nexec sleep 60\n", {
        mode: 0o755,
      });
      await Deno.mkdir(home.env.DOCKER_CONFIG!, { recursive: true });
      await Deno.writeTextFile(join(home.env.DOCKER_CONFIG!, "config.json"), '{"credsStore":"stall"}');
      const locked = startEvilRegistry({ auth: "basic" });
      try {
        // 3 s, not 0.3 s: the registry itself must answer within the limit on a loaded machine, so that the
        // helper (which sleeps 60 s) is what times out.
        const result = await kpm(["artifact", "tags", `${locked.host}/evil/app`, "--timeout", "3s"], {
          PATH: `${bin}:${home.env.PATH}`,
        });
        assertEquals(result.code, 1, describe(result));
        assertStringIncludes(
          result.stderr,
          'Credential helper "docker-credential-stall" did not finish "get"',
        );
      } finally {
        await locked.close();
      }
    });
  } finally {
    await registry.close();
  }
});
