/**
 * Credentials in docker config.json files: auth / username+password / identitytoken, legacy keys, docker.io,
 * credsStore and credHelpers (through a fake runner and through a real `docker-credential-test` script on
 * PATH), atomic 0600 writes that keep unknown keys, erase, and invalid files.
 */

import { join } from "node:path";
import {
  type Credential,
  CredentialError,
  CredentialStore,
  dockerConfigPaths,
  type HelperRunner,
  normalizeRegistryKey,
} from "../lib/oci/credentials.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { withTempDir } from "./temp_dir.ts";

const b64 = (text: string) => btoa(text);

async function writeJson(path: string, value: unknown): Promise<void> {
  await Deno.writeTextFile(path, JSON.stringify(value));
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await Deno.readTextFile(path));
}

Deno.test("normalizeRegistryKey reduces config keys to registry names", async (t) => {
  const cases: [string, string][] = [
    ["ghcr.io", "ghcr.io"],
    ["https://ghcr.io/", "ghcr.io"],
    ["https://ghcr.io", "ghcr.io"],
    ["http://localhost:5000/v1/", "localhost:5000"],
    ["https://index.docker.io/v1/", "docker.io"],
    ["index.docker.io", "docker.io"],
    ["registry-1.docker.io", "docker.io"],
    ["docker.io", "docker.io"],
    ["example.com:8443/some/path", "example.com:8443"],
  ];
  for (const [key, expected] of cases) {
    await t.step(key, () => assertEquals(normalizeRegistryKey(key), expected));
  }
});

Deno.test("CredentialStore.get reads docker config.json entries", async (t) => {
  const config = {
    auths: {
      "auth.example": { auth: b64("alice:s3cr:et") },
      "fields.example": { username: "bob", password: "pw" },
      "token.example": { identitytoken: "refresh-123" },
      "both.example": { auth: b64("carol:pw"), identitytoken: "refresh-456" },
      "https://legacy.example/": { auth: b64("dave:pw") },
      "http://old.example:5000/v1/": { auth: b64("erin:pw") },
      "https://index.docker.io/v1/": { auth: b64("frank:pw") },
      "utf8.example": { auth: btoa(String.fromCharCode(...new TextEncoder().encode("jöe:pässwörd"))) },
      "empty.example": {},
    },
  };
  const cases: { name: string; registry: string; expected: Credential | undefined }[] = [
    {
      name: "auth (password with a colon)",
      registry: "auth.example",
      expected: { username: "alice", password: "s3cr:et" },
    },
    {
      name: "username and password fields",
      registry: "fields.example",
      expected: { username: "bob", password: "pw" },
    },
    { name: "identitytoken alone", registry: "token.example", expected: { identityToken: "refresh-123" } },
    {
      name: "auth and identitytoken",
      registry: "both.example",
      expected: { username: "carol", password: "pw", identityToken: "refresh-456" },
    },
    {
      name: "legacy https://host/ key",
      registry: "legacy.example",
      expected: { username: "dave", password: "pw" },
    },
    {
      name: "legacy http://host/v1/ key",
      registry: "old.example:5000",
      expected: { username: "erin", password: "pw" },
    },
    {
      name: "docker.io reads https://index.docker.io/v1/",
      registry: "docker.io",
      expected: { username: "frank", password: "pw" },
    },
    { name: "UTF-8 in auth", registry: "utf8.example", expected: { username: "jöe", password: "pässwörd" } },
    { name: "an empty entry is no credential", registry: "empty.example", expected: undefined },
    { name: "an unknown host", registry: "nowhere.example", expected: undefined },
  ];
  await withTempDir(async (dir) => {
    const path = join(dir, "config.json");
    await writeJson(path, config);
    const store = new CredentialStore({ path });
    for (const c of cases) {
      await t.step(c.name, async () => assertEquals(await store.get(c.registry), c.expected));
    }
  });
});

Deno.test("CredentialStore.get falls back to the docker config files in order", async () => {
  await withTempDir(async (dir) => {
    const primary = join(dir, "kpm.json");
    const docker = join(dir, "docker.json");
    await writeJson(primary, { auths: { "a.example": { auth: b64("kpm:1") } } });
    await writeJson(docker, {
      auths: { "a.example": { auth: b64("docker:1") }, "b.example": { auth: b64("docker:2") } },
    });
    const store = new CredentialStore({ path: primary, fallbacks: [join(dir, "missing.json"), docker] });
    assertEquals(await store.get("a.example"), { username: "kpm", password: "1" });
    assertEquals(await store.get("b.example"), { username: "docker", password: "2" });
    assertEquals(await store.get("c.example"), undefined);
  });
});

Deno.test("CredentialStore refuses invalid files with a CredentialError", async (t) => {
  const cases: { name: string; text: string; includes: string }[] = [
    { name: "not JSON", text: "{ auths: ", includes: "is not valid" },
    { name: "a JSON array", text: "[]", includes: "is not valid" },
    {
      name: "invalid base64 in auth",
      text: JSON.stringify({ auths: { "x.example": { auth: "%%%" } } }),
      includes: 'invalid "auth"',
    },
    {
      name: "auth without a colon",
      text: JSON.stringify({ auths: { "x.example": { auth: b64("nocolon") } } }),
      includes: 'invalid "auth"',
    },
  ];
  await withTempDir(async (dir) => {
    for (const c of cases) {
      await t.step(c.name, async () => {
        const path = join(dir, `${c.name.replaceAll(" ", "_")}.json`);
        await Deno.writeTextFile(path, c.text);
        const error = await assertRejects(
          () => new CredentialStore({ path }).get("x.example"),
          CredentialError,
          c.includes,
        );
        assert(error.message.includes(path), "the message names the file");
      });
    }
    await t.step("an empty file is an empty config", async () => {
      const path = join(dir, "empty.json");
      await Deno.writeTextFile(path, "  \n");
      assertEquals(await new CredentialStore({ path }).get("x.example"), undefined);
    });
  });
});

Deno.test("CredentialStore.store writes atomically with mode 0600 and keeps unknown keys", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "config.json");
    await writeJson(path, {
      auths: {
        "https://a.example/": { auth: b64("old:pw") },
        "keep.example": { auth: b64("keep:pw"), email: "k@example.com" },
      },
      HttpHeaders: { "X-Meta": "1" },
      psFormat: "table",
    });
    const before = await Deno.stat(path);
    await new CredentialStore({ path }).store("a.example", { username: "new", password: "pw2" });
    const after = await Deno.stat(path);
    if (Deno.build.os !== "windows") {
      assertEquals(after.mode! & 0o777, 0o600);
      assert(after.ino !== before.ino, "the file was replaced by a rename, not rewritten in place");
    }
    assertEquals(await readJson(path), {
      auths: {
        "keep.example": { auth: b64("keep:pw"), email: "k@example.com" },
        "a.example": { auth: b64("new:pw2") },
      },
      HttpHeaders: { "X-Meta": "1" },
      psFormat: "table",
    });
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["config.json"], "no temporary file left");
  });
});

Deno.test("CredentialStore.store creates the folder and uses docker.io's legacy key", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "nested", "deeper", "config.json");
    const store = new CredentialStore({ path });
    await store.store("docker.io", { username: "u", password: "p" });
    await store.store("tok.example", { identityToken: "refresh" });
    assertEquals(await readJson(path), {
      auths: {
        "https://index.docker.io/v1/": { auth: b64("u:p") },
        "tok.example": { identitytoken: "refresh" },
      },
    });
    assertEquals(await store.get("docker.io"), { username: "u", password: "p" });
    assertEquals(await store.get("tok.example"), { identityToken: "refresh" });
    if (Deno.build.os !== "windows") assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
  });
});

Deno.test("CredentialStore.erase removes every key of a host", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "config.json");
    const store = new CredentialStore({ path });
    assertEquals(await store.erase("a.example"), false, "no file");
    await writeJson(path, {
      auths: {
        "a.example": { auth: b64("x:y") },
        "https://a.example/": { auth: b64("x:z") },
        "b.example": {},
      },
      other: true,
    });
    assertEquals(await store.erase("a.example"), true);
    assertEquals(await readJson(path), { auths: { "b.example": {} }, other: true });
    assertEquals(await store.erase("a.example"), false);
  });
});

/** A fake credential helper: records calls, answers from a map. */
function fakeRunner(secrets: Map<string, { Username: string; Secret: string }>) {
  const calls: { helper: string; action: string; input: string }[] = [];
  const runner: HelperRunner = (helper, action, input) => {
    calls.push({ helper, action, input });
    if (helper === "broken") return Promise.resolve({ code: 1, stdout: "", stderr: "keychain locked" });
    if (helper === "garbled") return Promise.resolve({ code: 0, stdout: "Username: x", stderr: "" });
    if (action === "get") {
      const found = secrets.get(input);
      return Promise.resolve(
        found
          ? { code: 0, stdout: JSON.stringify({ ServerURL: input, ...found }), stderr: "" }
          : { code: 1, stdout: "credentials not found in native keychain\n", stderr: "" },
      );
    }
    if (action === "store") {
      const parsed = JSON.parse(input);
      secrets.set(parsed.ServerURL, { Username: parsed.Username, Secret: parsed.Secret });
    }
    if (action === "erase") secrets.delete(input);
    return Promise.resolve({ code: 0, stdout: "", stderr: "" });
  };
  return { runner, calls };
}

Deno.test("credsStore and credHelpers go through the helper runner", async (t) => {
  await withTempDir(async (dir) => {
    const path = join(dir, "config.json");
    await writeJson(path, {
      credsStore: "desktop",
      credHelpers: { "gcr.example": "gcloud", "https://bad.example": "broken", "garbled.example": "garbled" },
      auths: { "gcr.example": {} },
    });
    const secrets = new Map([
      ["https://index.docker.io/v1/", { Username: "hub", Secret: "hubpw" }],
      ["gcr.example", { Username: "<token>", Secret: "refresh-gcr" }],
      ["store.example", { Username: "s", Secret: "spw" }],
    ]);
    const { runner, calls } = fakeRunner(secrets);
    const store = new CredentialStore({ path, runner });

    await t.step("credsStore answers for docker.io under its legacy key", async () => {
      assertEquals(await store.get("docker.io"), { username: "hub", password: "hubpw" });
      assertEquals(calls.at(-1), { helper: "desktop", action: "get", input: "https://index.docker.io/v1/" });
    });
    await t.step("credHelpers beats credsStore; <token> is an identity token", async () => {
      assertEquals(await store.get("gcr.example"), { identityToken: "refresh-gcr" });
      assertEquals(calls.at(-1)?.helper, "gcloud");
    });
    await t.step("'credentials not found' is no credential", async () => {
      assertEquals(await store.get("missing.example"), undefined);
    });
    await t.step("another helper failure is a CredentialError naming the helper", async () => {
      await assertRejects(() => store.get("bad.example"), CredentialError, "docker-credential-broken");
    });
    await t.step("a helper answer that is not JSON is a CredentialError", async () => {
      await assertRejects(() => store.get("garbled.example"), CredentialError, "not JSON");
    });
    await t.step("store goes to the helper, not the file", async () => {
      const before = await Deno.readTextFile(path);
      await store.store("new.example", { username: "n", password: "npw" });
      await store.store("tok.example", { identityToken: "rt" });
      assertEquals(await Deno.readTextFile(path), before);
      assertEquals(secrets.get("new.example"), { Username: "n", Secret: "npw" });
      assertEquals(secrets.get("tok.example"), { Username: "<token>", Secret: "rt" });
      assertEquals(await store.get("tok.example"), { identityToken: "rt" });
    });
    await t.step("erase goes to the helper", async () => {
      assertEquals(await store.erase("new.example"), true);
      assertEquals(calls.at(-1), { helper: "desktop", action: "erase", input: "new.example" });
      assertEquals(await store.erase("new.example"), false);
    });
    await t.step("a helper store failure is a CredentialError", async () => {
      await assertRejects(
        () => store.store("bad.example", { username: "x", password: "y" }),
        CredentialError,
        "Cannot store",
      );
    });
  });
});

const HELPER_SCRIPT = `#!/bin/sh
# A docker credential helper keeping secrets as files: get/store/erase as docker's protocol defines them.
dir="$(dirname "$0")/secrets"
mkdir -p "$dir"
input=$(cat)
case "$1" in
  store)
    url=$(printf '%s' "$input" | sed -n 's/.*"ServerURL":"\\([^"]*\\)".*/\\1/p')
    key=$(printf '%s' "$url" | tr -c 'A-Za-z0-9' '_')
    printf '%s' "$input" > "$dir/$key" ;;
  get)
    key=$(printf '%s' "$input" | tr -c 'A-Za-z0-9' '_')
    if [ -f "$dir/$key" ]; then cat "$dir/$key"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  erase)
    key=$(printf '%s' "$input" | tr -c 'A-Za-z0-9' '_')
    rm -f "$dir/$key" ;;
  *) echo "unknown action $1" >&2; exit 2 ;;
esac
`;

Deno.test({
  name: "a real docker-credential-test program on PATH stores, gets and erases",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    await withTempDir(async (dir) => {
      const bin = join(dir, "bin");
      await Deno.mkdir(bin);
      await Deno.writeTextFile(join(bin, "docker-credential-test"), HELPER_SCRIPT, { mode: 0o755 });
      await Deno.chmod(join(bin, "docker-credential-test"), 0o755);
      const path = join(dir, "config.json");
      await writeJson(path, { credsStore: "test" });
      const oldPath = Deno.env.get("PATH") ?? "";
      Deno.env.set("PATH", `${bin}:${oldPath}`);
      try {
        const store = new CredentialStore({ path });
        assertEquals(await store.get("real.example:5000"), undefined);
        await store.store("real.example:5000", { username: "alice", password: "pä ss" });
        assertEquals(await store.get("real.example:5000"), { username: "alice", password: "pä ss" });
        await store.store("docker.io", { identityToken: "refresh" });
        assertEquals(await store.get("docker.io"), { identityToken: "refresh" });
        assert(
          (await Deno.stat(join(bin, "secrets", "https___index_docker_io_v1_"))).isFile,
          "docker.io is stored under https://index.docker.io/v1/",
        );
        assertEquals(await store.erase("real.example:5000"), true);
        assertEquals(await store.get("real.example:5000"), undefined);
        assertEquals(await readJson(path), { credsStore: "test" }, "the file is untouched");
      } finally {
        Deno.env.set("PATH", oldPath);
      }
    });
  },
});

Deno.test("a missing helper program is a CredentialError", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "config.json");
    await writeJson(path, { credsStore: "kpm-test-does-not-exist" });
    await assertRejects(
      () => new CredentialStore({ path }).get("x.example"),
      CredentialError,
      'Cannot run credential helper "docker-credential-kpm-test-does-not-exist"',
    );
  });
});

Deno.test("dockerConfigPaths honours DOCKER_CONFIG, then HOME", async (t) => {
  const cases: { env: Record<string, string>; expected: string[] }[] = [
    { env: { DOCKER_CONFIG: "/d", HOME: "/h" }, expected: [join("/d", "config.json")] },
    { env: { HOME: "/h" }, expected: [join("/h", ".docker", "config.json")] },
    { env: { USERPROFILE: "/u" }, expected: [join("/u", ".docker", "config.json")] },
    { env: {}, expected: [] },
  ];
  for (const c of cases) {
    await t.step(JSON.stringify(c.env), () => assertEquals(dockerConfigPaths(c.env), c.expected));
  }
});
