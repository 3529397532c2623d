/**
 * `kpm registry serve` run as a team would, as a real process against real clients (kpm, curl, skopeo, oras):
 * delete + gc freeing the exact bytes of a deleted 20 MB artifact, metrics, TLS with HTTP/2, SIGTERM drain
 * (and its bound), upload expiry on a timer, --config with a JSON access log, and fsync of manifests and tags.
 */

import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { describe, kpmHome, ROOT, runKpm } from "./ship_support.ts";
import { makeTestPki } from "../hostile/support/tls_certs.ts";
import { runCommand } from "./support/command.ts";
import { startKpmServe } from "./support/kpm_serve.ts";
import { ignoreWithoutPeers, peerCommand } from "./support/peers.ts";

const ENTRY = join(ROOT, "main.ts");

/** The bytes of every file under the storage's content store. */
async function contentBytes(root: string): Promise<number> {
  let total = 0;
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) await walk(path);
      else total += (await Deno.stat(path)).size;
    }
  };
  await walk(join(root, "blobs"));
  return total;
}

/** One sample of a Prometheus text exposition. */
function metric(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  assert(line, `no ${name} in\n${text}`);
  return Number(line.slice(name.length + 1));
}

Deno.test({
  name:
    "gc frees exactly the bytes of a deleted 20 MB artifact; refused while the server runs; metrics count it",
  ignore: await ignoreWithoutPeers(["curl"]),
  async fn() {
    await using home = await kpmHome();
    const root = join(home.dir, "registry");
    const env = home.env;
    const big = new Uint8Array(20_000_000);
    for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
    await Deno.writeFile(join(home.dir, "big.bin"), big);
    await Deno.writeTextFile(join(home.dir, "small.txt"), "kept\n");
    let server = await startKpmServe(["--root", root, "--delete"], { env });
    try {
      const push = async (ref: string, file: string) => {
        const result = await runKpm(ENTRY, ["artifact", "push", `${server.host}/${ref}`, file, "--json"], {
          env,
          cwd: home.dir,
        });
        assertEquals(result.code, 0, describe(result));
        return JSON.parse(result.stdout) as { digest: string; size: number; layers: { size: number }[] };
      };
      const deleted = await push("team/big:v1", "big.bin");
      await push("team/small:v1", "small.txt");

      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assertStringIncludes(
        metrics,
        'kpm_registry_requests_total{route="manifest",method="PUT",status="201"} 2',
      );
      assert(metric(metrics, "kpm_registry_received_bytes_total") >= 20_000_000);
      assertEquals(metric(metrics, "kpm_registry_storage_bytes"), await contentBytes(root));

      const busy = await runKpm(ENTRY, ["registry", "gc", "--root", root], { env });
      assertEquals(busy.code, 1, describe(busy));
      assertStringIncludes(busy.stderr, "another kpm process");

      const curl = await runCommand("curl", [
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-X",
        "DELETE",
        `${server.url}/v2/team/big/manifests/${deleted.digest}`,
      ]);
      assertEquals(curl.stdout, "202");
      assertEquals(await server.stop(), 0);

      // The config ("{}") is shared with team/small: only the layer and the manifest are garbage.
      const expected = deleted.layers[0]!.size + deleted.size;
      const before = await contentBytes(root);
      const dry = await runKpm(ENTRY, ["registry", "gc", "--root", root, "--dry-run", "--json"], { env });
      assertEquals(dry.code, 0, describe(dry));
      assertEquals(JSON.parse(dry.stdout).bytes, expected);
      assertEquals(await contentBytes(root), before, "--dry-run removes nothing");
      const gc = await runKpm(ENTRY, ["registry", "gc", "--root", root, "--json"], { env });
      assertEquals(gc.code, 0, describe(gc));
      const report = JSON.parse(gc.stdout);
      assertEquals(report.bytes, expected);
      assertEquals(report.removed.length, 2);
      assertEquals(before - (await contentBytes(root)), expected);

      server = await startKpmServe(["--root", root], { env });
      const out = join(home.dir, "out");
      const pull = await runKpm(ENTRY, ["artifact", "pull", `${server.host}/team/small:v1`, "-o", out], {
        env,
      });
      assertEquals(pull.code, 0, describe(pull));
      assertEquals(await Deno.readTextFile(join(out, "small.txt")), "kept\n");
      const gone = await runKpm(ENTRY, ["artifact", "pull", `${server.host}/team/big:v1`, "-o", out], {
        env,
      });
      assertEquals(gone.code, 1, describe(gone));
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name: "TLS: HTTPS with HTTP/2, an https token realm; curl, skopeo, kpm and oras push and pull with the CA",
  ignore: await ignoreWithoutPeers(["openssl", "curl", "skopeo", "oras"]),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "kpm_registry_tls_" });
    await using pki = await makeTestPki();
    const cert = join(dir, "certs", "ca.crt");
    await Deno.mkdir(join(dir, "certs"));
    await Deno.copyFile(pki.caFile, cert);
    const [serverCert, key] = [pki.serverCert, pki.serverKey];
    const server = await startKpmServe([
      ...["--root", join(dir, "data"), "--user", "team:pa55", "--tls-cert", serverCert, "--tls-key", key],
    ]);
    try {
      assert(server.url.startsWith("https://127.0.0.1:"), server.url);
      const ping = await runCommand("curl", [
        ...["-s", "--http2", "--cacert", cert, "-D", "-", "-o", "/dev/null"],
        ...["-w", "%{http_version}", `${server.url}/v2/`],
      ]);
      assertStringIncludes(ping.stdout, "HTTP/2 401");
      assertStringIncludes(ping.stdout, `realm="https://${server.host}/token"`);
      assert(ping.stdout.endsWith("2"), ping.stdout);
      const home = { HOME: dir, PATH: Deno.env.get("PATH") ?? "/usr/bin", TMPDIR: dir };
      const inspect = await runCommand("skopeo", [
        ...["--insecure-policy", "inspect", "--cert-dir", join(dir, "certs"), "--creds", "team:pa55"],
        `docker://${server.host}/missing/image:v1`,
      ], { env: home });
      assertStringIncludes(
        inspect.stderr,
        "manifest unknown",
        "skopeo reached the registry over TLS and logged in",
      );
      await using kpmEnv = await kpmHome();
      const tls = ["--ca-file", cert];
      const kpm = (...args: string[]) => runKpm(ENTRY, [...args, ...tls], { env: kpmEnv.env, cwd: dir });
      const login = await kpm("registry", "login", server.host, "-u", "team", "-p", "pa55");
      assertEquals(login.code, 0, describe(login));
      await Deno.writeTextFile(join(dir, "module.k"), "tls = True\n");
      const kpmPush = await kpm("artifact", "push", `${server.host}/tls/kpm:v1`, "module.k");
      assertEquals(kpmPush.code, 0, describe(kpmPush));
      const kpmPull = await kpm("artifact", "pull", `${server.host}/tls/kpm:v1`, "-o", join(dir, "kpm-out"));
      assertEquals(kpmPull.code, 0, describe(kpmPull));
      assertEquals(await Deno.readTextFile(join(dir, "kpm-out", "module.k")), "tls = True\n");
      const oras = await peerCommand("oras");
      await Deno.writeTextFile(join(dir, "hello.txt"), "over tls\n");
      const push = await runCommand(oras, [
        ...["push", "--ca-file", cert, "-u", "team", "-p", "pa55"],
        ...[`${server.host}/tls/hello:v1`, "hello.txt"],
      ], { env: home, cwd: dir });
      assertEquals(push.code, 0, push.stderr);
      const pulled = join(dir, "pulled");
      const pull = await runCommand(oras, [
        ...["pull", "--ca-file", cert, "-u", "team", "-p", "pa55", "-o", pulled],
        `${server.host}/tls/hello:v1`,
      ], { env: home });
      assertEquals(pull.code, 0, pull.stderr);
      assertEquals(await Deno.readTextFile(join(pulled, "hello.txt")), "over tls\n");
    } finally {
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** A request body the test feeds piece by piece. */
function feeder() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  return { body, send: (bytes: Uint8Array) => controller.enqueue(bytes), end: () => controller.close() };
}

/** Waits until `check` is true, polling; fails after `tries` rounds. */
async function eventually(check: () => Promise<boolean>, what: string, tries = 300): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Gave up waiting: ${what}`);
}

Deno.test("SIGTERM drains an upload in flight before exiting; a request that never ends is cut at the bound", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "kpm_registry_drain_" });
  try {
    const startUpload = async (url: string) => {
      const started = await fetch(`${url}/v2/drain/me/blobs/uploads/`, { method: "POST" });
      assertEquals(started.status, 202);
      return new URL(started.headers.get("Location")!, url).href;
    };
    const received = async (url: string) =>
      metric(await (await fetch(`${url}/metrics`)).text(), "kpm_registry_received_bytes_total");

    await t.step("a PATCH in flight at SIGTERM completes (202), then the server exits 0", async () => {
      const server = await startKpmServe(["--root", root]);
      const location = await startUpload(server.url);
      const body = feeder();
      const patch = fetch(location, {
        method: "PATCH",
        body: body.body,
        headers: { "Content-Type": "application/octet-stream" },
      });
      body.send(new Uint8Array(1000));
      await eventually(
        async () => (await received(server.url)) >= 1000,
        "the first piece reached the server",
      );
      Deno.kill(server.pid, "SIGTERM");
      await eventually(
        () => Promise.resolve(server.stderr.some((l) => l.includes("Shutting down"))),
        "shutdown",
      );
      body.send(new Uint8Array(2000));
      body.end();
      const answer = await patch;
      assertEquals(answer.status, 202);
      assertEquals(answer.headers.get("Range"), "0-2999");
      assertEquals(await server.exited, 0);
    });

    await t.step(
      "with --drain-timeout 1s, a body that never ends does not keep the server alive",
      async () => {
        const server = await startKpmServe(["--root", root, "--drain-timeout", "1s"]);
        const location = await startUpload(server.url);
        const body = feeder();
        const patch = fetch(location, { method: "PATCH", body: body.body }).catch((error) => error);
        body.send(new Uint8Array(10));
        await eventually(
          async () => (await received(server.url)) >= 10,
          "the first piece reached the server",
        );
        Deno.kill(server.pid, "SIGTERM");
        assertEquals(await server.exited, 0);
        assert(await patch instanceof Error, "the cut request fails at the client");
      },
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("--upload-ttl: an abandoned upload expires on the timer, with no other upload starting", async () => {
  const root = await Deno.makeTempDir({ prefix: "kpm_registry_ttl_" });
  const server = await startKpmServe(["--root", root, "--upload-ttl", "1s"]);
  try {
    const started = await fetch(`${server.url}/v2/ttl/app/blobs/uploads/`, { method: "POST" });
    const location = new URL(started.headers.get("Location")!, server.url).href;
    const patched = await fetch(location, { method: "PATCH", body: new Uint8Array(100) });
    assertEquals(patched.status, 202);
    const uploads = join(root, "uploads");
    const files = async () => (await Array.fromAsync(Deno.readDir(uploads))).length;
    assertEquals(await files(), 1);
    await eventually(async () => (await files()) === 0, "the upload file to expire", 600);
    const status = await fetch(location);
    assertEquals(status.status, 404);
    assertEquals((await status.json()).errors[0].code, "BLOB_UPLOAD_UNKNOWN");
  } finally {
    await server.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("--config: the options from a YAML file (paths relative to it), flags win; JSON access log", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "kpm_registry_config_" });
  try {
    await Deno.writeTextFile(
      join(dir, "access.yaml"),
      'anonymous:\n  - repos: "public/**"\n    actions: [pull]\nusers:\n  ci:\n    - repos: "**"\n      actions: [pull, push]\n  ghost:\n    - repos: "**"\n      actions: [pull]\n',
    );
    await Deno.writeTextFile(
      join(dir, "registry.yaml"),
      "addr: 127.0.0.1:0\nroot: ./data\nuser: [ci:secret]\naccess: ./access.yaml\ndelete: true\nlog-json: true\nupload-ttl: 10m\n",
    );
    await t.step("serves with the file's options and logs JSON lines", async () => {
      const server = await startKpmServe(["--config", join(dir, "registry.yaml")]);
      try {
        const auth = { Authorization: `Basic ${btoa("ci:secret")}` };
        const ping = await fetch(`${server.url}/v2/`, { headers: auth });
        assertEquals(ping.status, 200);
        await ping.body?.cancel();
        const denied = await fetch(`${server.url}/v2/private/x/manifests/v1`, {
          method: "DELETE",
          headers: auth,
        });
        assertEquals(denied.status, 403, "the access file says ci may not delete");
        await denied.body?.cancel();
        await eventually(
          () => Promise.resolve(server.stderr.some((l) => l.includes('"status":403'))),
          "log line",
        );
        const line = JSON.parse(server.stderr.find((l) => l.includes('"status":403'))!);
        assertEquals([line.user, line.method, line.path, line.status], [
          "ci",
          "DELETE",
          "/v2/private/x/manifests/v1",
          403,
        ]);
        assert(!JSON.stringify(server.stderr).includes("secret"), "no secret in the log");
        assert(server.stderr.includes('warning: the access file names "ghost", who has no account'));
        assert((await Deno.stat(join(dir, "data", "blobs"))).isDirectory, "root is relative to the file");
      } finally {
        await server.stop();
      }
    });
    await t.step("a flag wins over the file", async () => {
      const server = await startKpmServe([
        "--config",
        join(dir, "registry.yaml"),
        "--root",
        join(dir, "other"),
      ]);
      await server.stop();
      assert((await Deno.stat(join(dir, "other", "blobs"))).isDirectory);
    });
    await t.step("an unknown key is a usage error naming the file and the key", async () => {
      await Deno.writeTextFile(join(dir, "bad.yaml"), "adress: 127.0.0.1:0\n");
      const result = await runKpm(ENTRY, ["registry", "serve", "--config", join(dir, "bad.yaml")], {
        env: { PATH: Deno.env.get("PATH") ?? "", HOME: dir, DENO_DIR: (await kpmHome()).env.DENO_DIR! },
      });
      assertEquals(result.code, 2, describe(result));
      assertStringIncludes(result.stderr, `"${join(dir, "bad.yaml")}"`);
      assertStringIncludes(result.stderr, 'unknown option "adress"');
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "a manifest push flushes the manifest, its revision link and its tag to disk (fdatasync) and their folders (fsync)",
  ignore: await ignoreWithoutPeers(["strace"]),
  async fn() {
    await using home = await kpmHome();
    const server = await startKpmServe(["--root", join(home.dir, "data")], { env: home.env });
    const trace = join(home.dir, "trace.txt");
    const strace = new Deno.Command("strace", {
      args: ["-f", "-e", "trace=fsync,fdatasync", "-o", trace, "-p", String(server.pid)],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    try {
      const attached = strace.stderr.pipeThrough(new TextDecoderStream()).getReader();
      let said = "";
      while (!said.includes("attached")) {
        const { value, done } = await attached.read();
        if (done) break;
        said += value;
      }
      attached.releaseLock();
      await Deno.writeTextFile(join(home.dir, "a.txt"), "durable\n");
      const push = await runKpm(ENTRY, ["artifact", "push", `${server.host}/sync/app:v1`, "a.txt"], {
        env: home.env,
        cwd: home.dir,
      });
      assertEquals(push.code, 0, describe(push));
    } finally {
      strace.kill("SIGINT");
      await strace.status;
      await strace.stderr.cancel().catch(() => {});
      await server.stop();
    }
    const calls = (await Deno.readTextFile(trace)).split("\n");
    const count = (call: string) => calls.filter((line) => line.includes(`${call}(`)).length;
    // manifest content, revision link, tag (and the blob links): each file flushed, then its folder
    assert(count("fdatasync") >= 3, `fdatasync calls: ${count("fdatasync")}`);
    assert(count("fsync") >= 3, `fsync calls: ${count("fsync")}`);
  },
});
