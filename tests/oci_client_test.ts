/**
 * RegistryClient and the token cache against fake registries: one token per push, per-scope caching shared by
 * concurrent requests, access_token and expires_in, refresh-token grants, retries with Retry-After, realm
 * downgrades and credentials across redirects.
 */

import { join } from "node:path";
import { pushArtifact } from "../lib/artifact/push.ts";
import { TokenCache } from "../lib/oci/auth/token.ts";
import { downloadBlob } from "../lib/oci/blobs.ts";
import { RegistryClient } from "../lib/oci/client.ts";
import { digestOf } from "../lib/oci/digest.ts";
import { RegistryError } from "../lib/oci/registry_error.ts";
import { errorHint } from "../lib/cli/hints.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./assert.ts";
import { bearerChallenge, fakeClient, type Route, startFake } from "./oci_fake.ts";
import { Repository } from "../lib/oci/repository.ts";

const encoder = new TextEncoder();

/** Routes of a token-auth registry that accepts pushes; `issued` holds the scopes of each issued token. */
function tokenRegistry(realm: () => string) {
  const issued = new Map<string, string[]>();
  const blobs = new Map<string, Uint8Array>();
  const authorized = (request: Request) => issued.has(request.headers.get("Authorization") ?? "");
  const guard = (handle: Route["handle"]): Route["handle"] => (request, match, seen) =>
    authorized(request) ? handle(request, match, seen) : bearerChallenge(realm(), "fake");
  const routes: Route[] = [
    {
      name: "token",
      method: "GET",
      path: /^\/token$/,
      handle: (request) => {
        const scopes = new URL(request.url).searchParams.getAll("scope");
        const token = `tok-${issued.size + 1}`;
        issued.set(`Bearer ${token}`, scopes);
        return Response.json({ token, expires_in: 300 });
      },
    },
    {
      name: "head blob",
      method: "HEAD",
      path: /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]+)$/,
      handle: guard((_r, m) => new Response(null, { status: blobs.has(m[2]!) ? 200 : 404 })),
    },
    {
      name: "start upload",
      method: "POST",
      path: /^\/v2\/(.+)\/blobs\/uploads\/$/,
      handle: guard((_r, m) =>
        new Response(null, { status: 202, headers: { Location: `/v2/${m[1]}/blobs/uploads/u1?state=s` } })
      ),
    },
    {
      name: "finish upload",
      method: "PUT",
      path: /^\/v2\/(.+)\/blobs\/uploads\/u1$/,
      handle: guard((request, _m, seen) => {
        const digest = new URL(request.url).searchParams.get("digest")!;
        blobs.set(digest, seen.body);
        return new Response(null, { status: 201 });
      }),
    },
    {
      name: "put manifest",
      method: "PUT",
      path: /^\/v2\/(.+)\/manifests\/(.+)$/,
      handle: guard(() => new Response(null, { status: 201 })),
    },
  ];
  return { routes, issued, blobs };
}

Deno.test("a push fetches exactly one token, asking pull,push up front", async () => {
  const dir = await Deno.makeTempDir();
  let origin = "";
  const registry = tokenRegistry(() => `${origin}/token`);
  const fake = startFake(registry.routes);
  origin = fake.origin;
  try {
    for (const name of ["a.txt", "b.txt", "c.txt"]) {
      await Deno.writeTextFile(join(dir, name), `content of ${name}`);
    }
    const { client } = fakeClient();
    const ref = { registry: fake.host, repository: "team/app", tag: "1.0" };
    await pushArtifact(client, ref, [{ path: "a.txt" }, { path: "b.txt" }, { path: "c.txt" }], { cwd: dir });
    assertEquals(fake.counts["token"], 1, "one token for the whole push");
    assertEquals([...registry.issued.values()], [["repository:team/app:pull,push"]]);
    assertEquals(fake.counts["finish upload"], 4, "three files and the empty config");
    assertEquals(fake.counts["put manifest"], 1);
  } finally {
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** A counting token endpoint for TokenCache tests, served by a fetch stub. */
function tokenEndpoint(answer: (request: Request, n: number) => Response | Promise<Response>) {
  const requests: Request[] = [];
  const fetchStub: typeof fetch = (input, init) => {
    const request = new Request(input, init);
    requests.push(request);
    return Promise.resolve(answer(request, requests.length));
  };
  return { fetch: fetchStub, requests };
}

Deno.test("tokens are cached per cleaned scope set", async (t) => {
  const endpoint = tokenEndpoint((_r, n) => Response.json({ token: `t${n}`, expires_in: 300 }));
  const cache = new TokenCache({ fetch: endpoint.fetch });
  const ask = (scopes: string[]) =>
    cache.token({ realm: "https://auth.example/token", service: "reg", scopes, registry: "reg.example" });
  await t.step("the first request fetches", async () => {
    assertEquals(await ask(["repository:a:pull", "repository:a:push"]), "t1");
    const url = new URL(endpoint.requests[0]!.url);
    assertEquals(url.searchParams.get("service"), "reg");
    assertEquals(url.searchParams.getAll("scope"), ["repository:a:pull,push"]);
  });
  await t.step("the same set in another spelling is served from the cache", async () => {
    assertEquals(await ask(["repository:a:push,pull"]), "t1");
    assertEquals(await ask(["repository:a:pull,push", "repository:a:pull"]), "t1");
    assertEquals(endpoint.requests.length, 1);
  });
  await t.step("another set fetches another token, with repeated scope parameters", async () => {
    assertEquals(await ask(["repository:a:pull", "repository:b:pull"]), "t2");
    assertEquals(new URL(endpoint.requests[1]!.url).searchParams.getAll("scope"), [
      "repository:a:pull",
      "repository:b:pull",
    ]);
  });
  await t.step("another identity does not share the token", async () => {
    const token = await cache.token({
      realm: "https://auth.example/token",
      service: "reg",
      scopes: ["repository:a:pull,push"],
      credential: { username: "u", password: "p" },
      registry: "reg.example",
    });
    assertEquals(token, "t3");
    assertEquals(endpoint.requests[2]!.headers.get("Authorization"), `Basic ${btoa("u:p")}`);
  });
});

Deno.test("concurrent requests for the same token share one fetch", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const endpoint = tokenEndpoint(async (_r, n) => {
    await gate;
    return Response.json({ token: `t${n}` });
  });
  const cache = new TokenCache({ fetch: endpoint.fetch });
  const all = Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      cache.token({
        realm: "https://auth.example/token",
        scopes: i % 2 ? ["repository:a:pull,push"] : ["repository:a:push", "repository:a:pull"],
        registry: "reg.example",
      })),
  );
  release();
  assertEquals(await all, Array(10).fill("t1"));
  assertEquals(endpoint.requests.length, 1);
});

Deno.test("a failed token fetch is not cached", async () => {
  const endpoint = tokenEndpoint((_r, n) =>
    n === 1 ? new Response("nope", { status: 500 }) : Response.json({ token: "ok" })
  );
  const cache = new TokenCache({ fetch: endpoint.fetch });
  const request = { realm: "https://auth.example/token", scopes: ["repository:a:pull"], registry: "r" };
  await assertRejects(() => cache.token(request), RegistryError, "answered 500");
  assertEquals(await cache.token(request), "ok");
});

Deno.test("token responses: access_token, token, expires_in and errors", async (t) => {
  const cases: { name: string; body: unknown; status?: number; expected?: string; error?: string }[] = [
    { name: "token only", body: { token: "a" }, expected: "a" },
    { name: "access_token only", body: { access_token: "b" }, expected: "b" },
    { name: "both (access_token wins)", body: { token: "c", access_token: "d" }, expected: "d" },
    { name: "empty token falls back to access_token", body: { token: "", access_token: "e" }, expected: "e" },
    { name: "no token at all", body: { expires_in: 60 }, error: "answered no token" },
    { name: "not JSON", body: "<html>", error: "not JSON" },
    { name: "401 hints at login", body: { details: "bad creds" }, status: 401, error: "bad creds" },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const endpoint = tokenEndpoint(() =>
        new Response(typeof c.body === "string" ? c.body : JSON.stringify(c.body), {
          status: c.status ?? 200,
        })
      );
      const cache = new TokenCache({ fetch: endpoint.fetch });
      const promise = cache.token({
        realm: "https://auth.example/token",
        scopes: [],
        registry: "reg.example",
      });
      if (c.error) {
        const error = await assertRejects(() => promise, RegistryError, c.error);
        if (c.status === 401) {
          assertEquals(error.hint, { kind: "login", registry: "reg.example" });
          assertStringIncludes(errorHint(error)!.text, "kpm registry login reg.example");
        }
      } else assertEquals(await promise, c.expected);
    });
  }
});

Deno.test("expires_in is honoured with a margin, 60 s assumed when absent", async (t) => {
  const cases: { name: string; expiresIn?: number; stillCachedAt: number; refetchedAt: number }[] = [
    { name: "expires_in 300", expiresIn: 300, stillCachedAt: 289_000, refetchedAt: 291_000 },
    { name: "no expires_in", stillCachedAt: 49_000, refetchedAt: 51_000 },
    { name: "expires_in 0 is treated as absent", expiresIn: 0, stillCachedAt: 49_000, refetchedAt: 51_000 },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      let now = 1_000_000;
      const endpoint = tokenEndpoint((_r, n) =>
        Response.json({ access_token: `t${n}`, expires_in: c.expiresIn })
      );
      const cache = new TokenCache({ fetch: endpoint.fetch, now: () => now });
      const ask = () =>
        cache.token({ realm: "https://auth.example/t", scopes: ["repository:a:pull"], registry: "r" });
      assertEquals(await ask(), "t1");
      now = 1_000_000 + c.stillCachedAt;
      assertEquals(await ask(), "t1");
      now = 1_000_000 + c.refetchedAt;
      assertEquals(await ask(), "t2");
      assertEquals(endpoint.requests.length, 2);
    });
  }
});

Deno.test("a refresh token is exchanged by an OAuth2 POST, falling back to GET on 404", async (t) => {
  const request = {
    realm: "https://auth.example/token",
    service: "reg",
    scopes: ["repository:a:pull", "repository:b:push"],
    credential: { identityToken: "refresh-xyz" },
    registry: "reg.example",
  };
  await t.step("POST answers", async () => {
    const endpoint = tokenEndpoint(() => Response.json({ access_token: "posted" }));
    assertEquals(await new TokenCache({ fetch: endpoint.fetch }).token(request), "posted");
    assertEquals(endpoint.requests.length, 1);
    const post = endpoint.requests[0]!;
    assertEquals(post.method, "POST");
    assertEquals(post.headers.get("Content-Type"), "application/x-www-form-urlencoded");
    const form = new URLSearchParams(await post.text());
    assertEquals(Object.fromEntries(form), {
      grant_type: "refresh_token",
      refresh_token: "refresh-xyz",
      client_id: "kpm",
      service: "reg",
      scope: "repository:a:pull repository:b:push",
    });
  });
  await t.step("POST 404 → GET", async () => {
    const endpoint = tokenEndpoint((r) =>
      r.method === "POST" ? new Response("not found", { status: 404 }) : Response.json({ token: "got" })
    );
    assertEquals(await new TokenCache({ fetch: endpoint.fetch }).token(request), "got");
    assertEquals(endpoint.requests.map((r) => r.method), ["POST", "GET"]);
    assertEquals(new URL(endpoint.requests[1]!.url).searchParams.getAll("scope"), request.scopes);
  });
  await t.step("POST 401 is an error, no GET", async () => {
    const endpoint = tokenEndpoint(() => new Response("{}", { status: 401 }));
    await assertRejects(() => new TokenCache({ fetch: endpoint.fetch }).token(request), RegistryError, "401");
    assertEquals(endpoint.requests.length, 1);
  });
});

Deno.test("a 503 is retried after a backoff, and Retry-After is honoured", async (t) => {
  const cases: { name: string; answers: Response[]; sleeps: (s: number[]) => void; status?: number }[] = [
    {
      name: "503 then 200",
      answers: [new Response("busy", { status: 503 }), new Response("{}")],
      sleeps: (s) => assert(s.length === 1 && s[0]! >= 200 && s[0]! < 400, `slept ${s}`),
    },
    {
      name: "429 with Retry-After: 7",
      answers: [new Response("", { status: 429, headers: { "Retry-After": "7" } }), new Response("{}")],
      sleeps: (s) => assertEquals(s, [7000]),
    },
    {
      name: "Retry-After is capped at 30 s",
      answers: [new Response("", { status: 503, headers: { "Retry-After": "3600" } }), new Response("{}")],
      sleeps: (s) => assertEquals(s, [30_000]),
    },
    {
      name: "gives up after the retries",
      answers: Array.from({ length: 4 }, () => new Response("", { status: 502 })),
      sleeps: (s) => assertEquals(s.length, 3),
      status: 502,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      let n = 0;
      const fake = startFake([{
        name: "ping",
        method: "GET",
        path: /^\/v2\/$/,
        handle: () => c.answers[n++]!,
      }]);
      try {
        const { client, sleeps } = fakeClient();
        const send = () =>
          client.send({ registry: fake.host, path: "", scopes: [], expect: [200], what: "ping" });
        if (c.status) {
          const error = await assertRejects(send, RegistryError, `registry answered ${c.status}`);
          assertEquals(error.status, c.status);
        } else {
          const response = await send();
          await response.body?.cancel();
          assertEquals(response.status, 200);
        }
        assertEquals(fake.counts["ping"], c.answers.length);
        c.sleeps(sleeps);
      } finally {
        await fake.close();
      }
    });
  }
});

Deno.test("a dropped connection is retried for idempotent requests only", async () => {
  let calls = 0;
  const fetchStub: typeof fetch = () => {
    calls++;
    return calls === 1
      ? Promise.reject(new TypeError("connection reset"))
      : Promise.resolve(new Response("{}"));
  };
  const { client, sleeps } = fakeClient({ fetch: fetchStub, plainHttp: true });
  const response = await client.send({
    registry: "127.0.0.1:9",
    path: "",
    scopes: [],
    expect: [200],
    what: "ping",
  });
  await response.body?.cancel();
  assertEquals([calls, sleeps.length], [2, 1]);
  calls = 0;
  const error = await assertRejects(
    () =>
      client.send({
        registry: "127.0.0.1:9",
        method: "POST",
        path: "x/blobs/uploads/",
        scopes: [],
        expect: [202],
        what: "start an upload",
        retry: false,
      }),
    RegistryError,
    'cannot reach "127.0.0.1:9"',
  );
  assertEquals([calls, error.status], [1, 0]);
});

Deno.test("a token realm that downgrades https to http is refused", async (t) => {
  const cases: { realm: string; refused?: string }[] = [
    { realm: "http://auth.example.com/token", refused: "downgrades https to http" },
    { realm: "https://auth.example.com/token" },
    { realm: "not a url", refused: 'token realm "not a url", which is not a URL' },
  ];
  for (const c of cases) {
    await t.step(c.realm, async () => {
      const urls: string[] = [];
      const fetchStub: typeof fetch = (input) => {
        const url = String(input instanceof Request ? input.url : input);
        urls.push(url);
        if (url.startsWith("https://auth.example.com/")) {
          return Promise.resolve(Response.json({ token: "t" }));
        }
        return Promise.resolve(bearerChallenge(c.realm));
      };
      const { client } = fakeClient({ fetch: fetchStub, plainHttp: false });
      const send = () =>
        client.send({ registry: "registry.example.com", path: "", scopes: [], expect: [200], what: "ping" });
      if (c.refused) {
        const error = await assertRejects(send, RegistryError, c.refused);
        assertEquals(error.registry, "registry.example.com");
        assertEquals(urls, ["https://registry.example.com/v2/"], "no token request was made");
      } else {
        await assertRejects(send, RegistryError, "401");
        assert(urls.some((u) => u.startsWith("https://auth.example.com/token?")), "the https realm is used");
      }
    });
  }
});

Deno.test("credentials are not sent to another origin after a redirect", async () => {
  const content = encoder.encode("blob served by the storage backend");
  const digest = digestOf(content);
  const storage = startFake([{
    name: "storage",
    method: "GET",
    path: /^\/bucket\/blob$/,
    handle: (request) => {
      if (request.headers.has("Authorization")) return new Response("credentials leaked", { status: 400 });
      return new Response(content);
    },
  }]);
  const expected = `Basic ${btoa("user:secret")}`;
  const registry = startFake([{
    name: "blob",
    method: "GET",
    path: /^\/v2\/a\/blobs\/sha256:[a-f0-9]+$/,
    handle: (request) => {
      if (request.headers.get("Authorization") !== expected) {
        return new Response("", { status: 401, headers: { "WWW-Authenticate": 'Basic realm="fake"' } });
      }
      return new Response(null, { status: 307, headers: { Location: `${storage.origin}/bucket/blob` } });
    },
  }]);
  const dir = await Deno.makeTempDir();
  try {
    const { client } = fakeClient({
      credentials: () => Promise.resolve({ username: "user", password: "secret" }),
    });
    const destination = join(dir, "out");
    await downloadBlob(new Repository(client, { registry: registry.host, repository: "a" }), {
      digest,
      size: content.length,
    }, destination);
    assertEquals(await Deno.readFile(destination), content);
    assertEquals(registry.counts["blob"], 2, "401 then the authorized request");
    assertEquals(storage.counts["storage"], 1);
    assertEquals(storage.seen("storage")[0]!.headers.get("Authorization"), null);
  } finally {
    await registry.close();
    await storage.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a redirect to a file: URL is refused, not read from the local disk", async () => {
  const dir = await Deno.makeTempDir();
  const secret = join(dir, "secret.json");
  await Deno.writeTextFile(secret, '{"tags":["leaked"]}');
  const registry = startFake([{
    name: "manifest",
    method: "GET",
    path: /^\/v2\/a\/manifests\/v1$/,
    handle: () =>
      new Response(null, { status: 307, headers: { Location: new URL(`file://${secret}`).href } }),
  }]);
  try {
    const { client } = fakeClient();
    const error = await assertRejects(
      () =>
        client.send({
          registry: registry.host,
          repository: "a",
          method: "GET",
          path: "a/manifests/v1",
          scopes: [],
          expect: [200],
          what: "pull manifest",
        }),
      RegistryError,
    );
    assertStringIncludes(error.message, "which is not an http or https URL");
    assertEquals(registry.counts["manifest"], 1);
  } finally {
    await registry.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a Basic challenge without credentials fails with a login hint", async () => {
  const fake = startFake([{
    name: "ping",
    method: "GET",
    path: /^\/v2\/$/,
    handle: () =>
      new Response(
        JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }),
        {
          status: 401,
          headers: { "WWW-Authenticate": 'Basic realm="fake"' },
        },
      ),
  }]);
  try {
    const { client } = fakeClient();
    const error = await assertRejects(
      () => client.send({ registry: fake.host, path: "", scopes: [], expect: [200], what: "ping" }),
      RegistryError,
      "UNAUTHORIZED",
    );
    assertEquals(error.hint, { kind: "login", registry: fake.host });
    assertEquals(errorHint(error)?.text, `run \`kpm registry login ${fake.host}\``);
    assertEquals(error.code, "UNAUTHORIZED");
    assertEquals(fake.counts["ping"], 1, "no retry without credentials");
  } finally {
    await fake.close();
  }
});

Deno.test("plain HTTP is used only when asked; loopback registries start with https", async (t) => {
  const cases: { registry: string; plainHttp?: boolean; expected: string }[] = [
    { registry: "localhost:5000", expected: "https://localhost:5000/v2/" },
    { registry: "127.0.0.1:5000", plainHttp: true, expected: "http://127.0.0.1:5000/v2/" },
    { registry: "[::1]:5000", expected: "https://[::1]:5000/v2/" },
    { registry: "ghcr.io", expected: "https://ghcr.io/v2/" },
    { registry: "docker.io", expected: "https://registry-1.docker.io/v2/" },
    { registry: "reg.internal:5000", plainHttp: true, expected: "http://reg.internal:5000/v2/" },
  ];
  for (const c of cases) {
    await t.step(c.registry, () => {
      assertEquals(new RegistryClient({ plainHttp: c.plainHttp }).baseUrl(c.registry), c.expected);
    });
  }
});
