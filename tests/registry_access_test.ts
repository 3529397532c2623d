/**
 * Access rules of the embedded registry (`--access FILE`) and its delete switch: the issue's YAML accepted
 * verbatim, globs, Basic credentials and token scopes checked alike, anonymous access, `_catalog` filtered to
 * what the caller may pull, and deletes refused unless enabled. Clients: kpm's own (lib/oci) and raw fetch.
 */

import { join } from "node:path";
import { registryServeCommand } from "../lib/cli/registry_commands.ts";
import { mergeConfigFile } from "../lib/cli/registry_serve_config.ts";
import { loadYaml } from "../lib/deps.ts";
import { RegistryClient } from "../lib/oci/client.ts";
import { digestOf } from "../lib/oci/digest.ts";
import { encodeManifest, type ImageManifest } from "../lib/oci/manifest.ts";
import { OCI_CONFIG, OCI_MANIFEST } from "../lib/oci/media_types.ts";
import { RegistryError } from "../lib/oci/registry_error.ts";
import { globToRegExp, grantedActions, parseAccessRules } from "../lib/server/access_rules.ts";
import { MAX_TOKENS, RegistryAuth } from "../lib/server/registry_auth.ts";
import { type RunningRegistry, startRegistry } from "../lib/server/registry.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { Registry, Repository } from "../lib/oci/repository.ts";

/** The example of issue 16, verbatim. */
const ISSUE_EXAMPLE = `anonymous:
  - repos: "public/**"
    actions: [pull]
users:
  admin:
    - repos: "**"
      actions: [pull, push, delete]
  reader:
    - repos: "**"
      actions: [pull]
`;

const ADMIN = { username: "admin", password: "admin-pass" };
const READER = { username: "reader", password: "reader-pass" };

function basic(user: { username: string; password: string }): string {
  return `Basic ${btoa(`${user.username}:${user.password}`)}`;
}

async function withRegistry(
  options: { delete?: boolean },
  fn: (registry: RunningRegistry) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "kpm_registry_access_" });
  const rules = await parseAccessRules(ISSUE_EXAMPLE, "access.yaml");
  const registry = await startRegistry({ root, users: [ADMIN, READER], rules, delete: options.delete });
  try {
    await fn(registry);
  } finally {
    await registry.close();
    await Deno.remove(root, { recursive: true });
  }
}

/** Pushes a small image with kpm's client as `user`; returns the manifest digest. */
async function pushImage(
  registry: RunningRegistry,
  user: { username: string; password: string },
  repository: string,
): Promise<string> {
  const client = new RegistryClient({ credentials: () => Promise.resolve(user) });
  const repo = { registry: registry.host, repository };
  const config = new TextEncoder().encode("{}");
  const layer = new TextEncoder().encode(`layer of ${repository}`);
  for (const bytes of [config, layer]) {
    await new Repository(client, repo).blobs.push({ digest: digestOf(bytes), size: bytes.byteLength }, bytes);
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: digestOf(config), size: config.byteLength },
    layers: [{ mediaType: "application/octet-stream", digest: digestOf(layer), size: layer.byteLength }],
  };
  const bytes = encodeManifest(manifest);
  await new Repository(client, repo).manifests.push(bytes, OCI_MANIFEST, { tag: "v1" });
  return digestOf(bytes);
}

Deno.test("access rules: the issue's example is accepted verbatim and grants what it says", async () => {
  const rules = await parseAccessRules(ISSUE_EXAMPLE, "access.yaml");
  assertEquals([...grantedActions(rules, undefined, "public/kcl/k8s")], ["pull"]);
  assertEquals([...grantedActions(rules, undefined, "private/app")], []);
  assertEquals([...grantedActions(rules, "admin", "any/where")].sort(), ["delete", "pull", "push"]);
  assertEquals([...grantedActions(rules, "reader", "any/where")], ["pull"]);
  assertEquals([...grantedActions(rules, "stranger", "public/x")], [], "a user without rules may do nothing");
});

Deno.test("access rules: globs over repository paths", async (t) => {
  const cases: [string, string, boolean][] = [
    ["public/**", "public/a", true],
    ["public/**", "public/a/b/c", true],
    ["public/**", "publicity/a", false],
    ["team/*", "team/app", true],
    ["team/*", "team/app/sub", false],
    ["team/*/charts", "team/web/charts", true],
    ["**", "x", true],
    ["kcl-lang/?8s", "kcl-lang/k8s", true],
    ["a.b/c", "axb/c", false],
    // ** is any characters and keeps the slash after it; ? is one character
    ["a/**/b", "a/x/y/b", true],
    ["a/**/b", "a/b", false],
    ["a/**", "a/", true],
    ["**/b", "b", false],
    ["a?c", "abc", true],
    ["a?c", "a/c", false],
    ["a?c", "a?c", true],
    ["***", "a/b", true],
    ["A/b", "a/b", false],
    ["a+b(c)", "a+b(c)", true],
    ["a/b", "x/a/b", false],
    ["a/b", "a/b/c", false],
  ];
  for (const [glob, name, matches] of cases) {
    await t.step(`${glob} ${matches ? "matches" : "does not match"} ${name}`, () => {
      assertEquals(globToRegExp(glob).test(name), matches);
    });
  }
});

Deno.test("access rules: a wrong file is refused with the file and the entry named", async (t) => {
  const cases: [string, string][] = [
    [
      "users:\n  bob:\n    - repos: x\n      actions: [write]\n",
      'users.bob[0].actions: unknown action "write"',
    ],
    ["anonymous:\n  - repo: x\n    actions: [pull]\n", 'anonymous[0]: unknown key "repo"'],
    ["anonymous: yes\n", "anonymous: expected a list"],
    ["groups: {}\n", 'unknown key "groups"'],
    ["users:\n  bob:\n    - actions: [pull]\n", "users.bob[0].repos: expected a glob string"],
    ["anonymous: [\n", "Invalid access file"],
  ];
  for (const [text, expected] of cases) {
    await t.step(expected, async () => {
      const error = await assertRejects(() => parseAccessRules(text, "/etc/kpm/access.yaml"), Error);
      assert(error.message.includes(`"/etc/kpm/access.yaml"`), error.message);
      assert(error.message.includes(expected), error.message);
    });
  }
});

Deno.test("access rules: Basic credentials get what the rules grant (403 DENIED beyond), anonymous callers too", async () => {
  await withRegistry({}, async (registry) => {
    await pushImage(registry, ADMIN, "public/kcl/k8s");
    await pushImage(registry, ADMIN, "private/app");
    const reader = new RegistryClient({ credentials: () => Promise.resolve(READER) });
    const pulled = await new Repository(reader, {
      registry: registry.host,
      repository: "private/app",
    }).manifests.fetch("v1");
    assertEquals(pulled.descriptor.mediaType, OCI_MANIFEST);
    // kpm's client takes the Bearer challenge: the token lacks push, so the answer is 401 insufficient_scope.
    const denied = await assertRejects(() => pushImage(registry, READER, "private/app"), RegistryError);
    assertEquals(denied.status, 401);

    const pushAsReader = await fetch(`${registry.url}/v2/private/app/blobs/uploads/`, {
      method: "POST",
      headers: { Authorization: basic(READER) },
    });
    assertEquals(pushAsReader.status, 403);
    assertEquals((await pushAsReader.json()).errors[0].code, "DENIED");

    const anonymousPublic = await fetch(`${registry.url}/v2/public/kcl/k8s/manifests/v1`);
    assertEquals(anonymousPublic.status, 200);
    await anonymousPublic.body?.cancel();
    const anonymousPrivate = await fetch(`${registry.url}/v2/private/app/manifests/v1`);
    assertEquals(anonymousPrivate.status, 401);
    assert(anonymousPrivate.headers.get("WWW-Authenticate")?.startsWith("Bearer realm="));
    await anonymousPrivate.body?.cancel();
    const wrongPassword = await fetch(`${registry.url}/v2/public/kcl/k8s/manifests/v1`, {
      headers: { Authorization: basic({ username: "reader", password: "nope" }) },
    });
    assertEquals(wrongPassword.status, 401, "wrong credentials are not downgraded to anonymous");
    await wrongPassword.body?.cancel();
  });
});

Deno.test("access rules: tokens carry only the granted actions; anonymous tokens for public repositories", async () => {
  await withRegistry({}, async (registry) => {
    await pushImage(registry, ADMIN, "public/lib");
    const token = async (scope: string, user?: { username: string; password: string }) => {
      const response = await fetch(
        `${registry.url}/token?service=kpm-registry&scope=${encodeURIComponent(scope)}`,
        {
          headers: user ? { Authorization: basic(user) } : {},
        },
      );
      assertEquals(response.status, 200);
      return (await response.json()).token as string;
    };
    const readerToken = await token("repository:public/lib:pull,push", READER);
    const pull = await fetch(`${registry.url}/v2/public/lib/manifests/v1`, {
      headers: { Authorization: `Bearer ${readerToken}` },
    });
    assertEquals(pull.status, 200);
    await pull.body?.cancel();
    const push = await fetch(`${registry.url}/v2/public/lib/blobs/uploads/`, {
      method: "POST",
      headers: { Authorization: `Bearer ${readerToken}` },
    });
    assertEquals(push.status, 401);
    assert(push.headers.get("WWW-Authenticate")?.includes('error="insufficient_scope"'));
    await push.body?.cancel();

    const anonymousToken = await token("repository:public/lib:pull");
    const anonymousPull = await fetch(`${registry.url}/v2/public/lib/manifests/v1`, {
      headers: { Authorization: `Bearer ${anonymousToken}` },
    });
    assertEquals(anonymousPull.status, 200);
    await anonymousPull.body?.cancel();
    const anonymousPrivate = await token("repository:private/app:pull");
    const refused = await fetch(`${registry.url}/v2/private/app/tags/list`, {
      headers: { Authorization: `Bearer ${anonymousPrivate}` },
    });
    assertEquals(refused.status, 401);
    await refused.body?.cancel();

    const wrong = await fetch(`${registry.url}/token?scope=repository:public/lib:pull`, {
      headers: { Authorization: basic({ username: "admin", password: "wrong" }) },
    });
    assertEquals(wrong.status, 401);
    await wrong.body?.cancel();
  });
});

Deno.test("access rules: _catalog lists only what the caller may pull (Basic, token and anonymous)", async () => {
  await withRegistry({}, async (registry) => {
    for (const name of ["public/a", "public/b/c", "private/app"]) await pushImage(registry, ADMIN, name);
    const catalog = async (headers: HeadersInit) => {
      const response = await fetch(`${registry.url}/v2/_catalog`, { headers });
      assertEquals(response.status, 200);
      return (await response.json()).repositories as string[];
    };
    const bare = await fetch(`${registry.url}/v2/_catalog`);
    assertEquals(bare.status, 401, "the catalog challenges, so clients present their credentials or a token");
    await bare.body?.cancel();
    assertEquals(await catalog({ Authorization: basic(READER) }), ["private/app", "public/a", "public/b/c"]);
    const reader = new RegistryClient({ credentials: () => Promise.resolve(READER) });
    assertEquals(await new Registry(reader, registry.host).repositories(), [
      "private/app",
      "public/a",
      "public/b/c",
    ]);
    const anonymous = new RegistryClient();
    assertEquals(await new Registry(anonymous, registry.host).repositories(), ["public/a", "public/b/c"]);
  });
});

Deno.test("deletes: refused with 405 UNSUPPORTED unless the registry runs with delete enabled", async (t) => {
  for (const enabled of [false, true]) {
    await t.step(enabled ? "with --delete: 202" : "without --delete: 405", async () => {
      await withRegistry({ delete: enabled }, async (registry) => {
        const digest = await pushImage(registry, ADMIN, "team/app");
        const response = await fetch(`${registry.url}/v2/team/app/manifests/${digest}`, {
          method: "DELETE",
          headers: { Authorization: basic(ADMIN) },
        });
        assertEquals(response.status, enabled ? 202 : 405);
        if (!enabled) {
          const body = await response.json();
          assertEquals(body.errors[0].code, "UNSUPPORTED");
          assert(body.errors[0].message.includes("--delete"));
        } else await response.body?.cancel();
        const byReader = await fetch(`${registry.url}/v2/team/app/manifests/v1`, {
          method: "DELETE",
          headers: { Authorization: basic(READER) },
        });
        assertEquals(byReader.status, 403, "the delete action is checked before the switch");
        await byReader.body?.cancel();
      });
    });
  }
});

Deno.test("docs/registry.md: its access rules, config file and Kubernetes manifests are valid", async () => {
  const doc = await Deno.readTextFile(new URL("../docs/registry.md", import.meta.url));
  const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const { parseYaml } = await loadYaml();
  const access = blocks.find((b) => b.startsWith("anonymous:"));
  assertEquals(access, ISSUE_EXAMPLE, "the docs show the issue's example verbatim");
  const config = blocks.find((b) => b.startsWith("# /etc/kpm/registry.yaml"))!;
  const dir = await Deno.makeTempDir({ prefix: "kpm_registry_docs_" });
  try {
    await Deno.writeTextFile(join(dir, "registry.yaml"), config);
    const values = await mergeConfigFile(join(dir, "registry.yaml"), {
      options: registryServeCommand.options!,
      values: {},
    });
    assertEquals(values.access, join(dir, "access.yaml"));
    assertEquals(values.delete, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const kubernetes = blocks.find((b) => b.includes("kind: Deployment"))!;
  const objects = kubernetes.split(/^---$/m).map((part) => parseYaml(part) as Record<string, unknown>);
  assertEquals(objects.map((o) => o.kind), [
    "Secret",
    "Secret",
    "PersistentVolumeClaim",
    "Deployment",
    "Service",
  ]);
  const auth = objects[1] as { stringData: Record<string, string> };
  const rules = await parseAccessRules(auth.stringData["access.yaml"]!, "the Secret's access.yaml");
  assertEquals([...grantedActions(rules, "reader", "x/y")], ["pull"]);
});

Deno.test("access rules: anonymous token requests cannot grow the tokens held beyond MAX_TOKENS; the oldest goes first", async () => {
  const rules = await parseAccessRules(ISSUE_EXAMPLE, "access.yaml");
  const auth = (await RegistryAuth.create({ rules, now: () => 0 }))!;
  const ask = async () => {
    const answer = await auth.token(new Request("http://registry/token?scope=repository:public/app:pull"));
    return ((await answer.json()) as { token: string }).token;
  };
  const realm = "http://registry/token";
  const needed = [{ type: "repository", name: "public/app", actions: ["pull"] }];
  const first = await ask();
  const second = await ask();
  for (let i = 2; i < MAX_TOKENS; i++) await ask();
  assertEquals(await auth.authorize(`Bearer ${first}`, { needed, realm }), undefined);
  await ask(); // one more than the cap: the oldest is forgotten
  await assertRejects(
    () => auth.authorize(`Bearer ${first}`, { needed, realm }),
    Error,
    "Authentication required",
  );
  assertEquals(await auth.authorize(`Bearer ${second}`, { needed, realm }), undefined);
});
