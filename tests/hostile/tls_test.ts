/**
 * Client TLS against real TLS servers on loopback, with a CA made by openssl: `--ca-file` trusts it, a
 * loopback registry is tried over https first (and only over http with `--plain-http`), `--cert-file` and
 * `--key-file` present a client certificate to a server that requires one (`openssl s_server`), TLS failures
 * name their cause, and `--insecure` is refused with a clear message.
 */

import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { describe, kpmHome, type KpmResult, ROOT, runKpm } from "../integration/ship_support.ts";
import { startEvilRegistry } from "./support/evil_registry.ts";
import { makeTestPki, type TestPki } from "./support/tls_certs.ts";
import { freePort } from "../integration/support/ports.ts";

const ENTRY = join(ROOT, "main.ts");

/** `openssl s_server -WWW` serving `dir`, requiring a client certificate signed by the test CA. */
async function startMutualTlsServer(pki: TestPki, dir: string) {
  const port = freePort();
  const child = new Deno.Command("openssl", {
    args: [
      "s_server",
      "-accept",
      `127.0.0.1:${port}`,
      "-cert",
      pki.serverCert,
      "-key",
      pki.serverKey,
      "-CAfile",
      pki.caFile,
      "-Verify",
      "1",
      "-WWW",
      "-quiet",
    ],
    cwd: dir,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 100; i++) {
    const open = await Deno.connect({ hostname: "127.0.0.1", port }).then(
      (c) => (c.close(), true),
      () => false,
    );
    if (open) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    host: `127.0.0.1:${port}`,
    close: async () => {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

Deno.test("client TLS: --ca-file, https first on loopback, client certificates, named TLS failures", async (t) => {
  await using pki = await makeTestPki();
  await using home = await kpmHome();
  const kpm = (args: string[]): Promise<KpmResult> => runKpm(ENTRY, args, { cwd: home.dir, env: home.env });
  const tls = {
    cert: await Deno.readTextFile(pki.serverCert),
    key: await Deno.readTextFile(pki.serverKey),
  };
  const registry = startEvilRegistry({ tls, auth: "basic" });
  try {
    const ref = `${registry.host}/e/app:v1`;
    await Deno.writeTextFile(join(home.dir, "hello.txt"), "hello over TLS");

    await t.step("without the CA: the error names the TLS cause", async () => {
      const result = await kpm(["artifact", "tags", `${registry.host}/e/app`]);
      assertEquals(result.code, 1, describe(result));
      assertStringIncludes(result.stderr, "over https: TLS: invalid peer certificate");
    });
    await t.step("--ca-file: login, push and pull over https on loopback", async () => {
      const login = await kpm([
        "registry",
        "login",
        "-u",
        "test",
        "-p",
        "1234",
        registry.host,
        "--ca-file",
        pki.caFile,
      ]);
      assertEquals(login.code, 0, describe(login));
      const push = await kpm(["artifact", "push", ref, "hello.txt", "--ca-file", pki.caFile]);
      assertEquals(push.code, 0, describe(push));
      const pull = await kpm(["artifact", "pull", ref, "-o", "out", "--ca-file", pki.caFile]);
      assertEquals(pull.code, 0, describe(pull));
      assertEquals(await Deno.readTextFile(join(home.dir, "out", "hello.txt")), "hello over TLS");
      assert(registry.seen.every((s) => s.authorization === null || s.authorization.startsWith("Basic ")));
    });
    await t.step("--plain-http does not try https", async () => {
      const result = await kpm(["artifact", "tags", `${registry.host}/e/app`, "--plain-http"]);
      assertEquals(result.code, 1, describe(result));
      assert(!result.stderr.includes("over https"), describe(result));
      assert(!result.stderr.includes("error sending request"), describe(result));
    });
  } finally {
    await registry.close();
  }

  const served = join(pki.dir, "www");
  await Deno.mkdir(join(served, "v2", "e", "app", "tags"), { recursive: true });
  await Deno.writeTextFile(
    join(served, "v2", "e", "app", "tags", "list"),
    '{"name":"e/app","tags":["mtls"]}',
  );
  const mutual = await startMutualTlsServer(pki, served);
  try {
    await t.step(
      "a server that requires a client certificate gets one from --cert-file/--key-file",
      async () => {
        const result = await kpm([
          "artifact",
          "tags",
          `${mutual.host}/e/app`,
          "--ca-file",
          pki.caFile,
          "--cert-file",
          pki.clientCert,
          "--key-file",
          pki.clientKey,
        ]);
        assertEquals(result.code, 0, describe(result));
        assertEquals(result.stdout, "mtls\n");
      },
    );
    await t.step("without the client certificate the server refuses", async () => {
      const result = await kpm(["artifact", "tags", `${mutual.host}/e/app`, "--ca-file", pki.caFile]);
      assertEquals(result.code, 1, describe(result));
      assertStringIncludes(result.stderr, `cannot reach "${mutual.host}": over https: TLS: `);
    });
  } finally {
    await mutual.close();
  }

  await t.step("bad TLS options are clear errors", async () => {
    const cases: { args: string[]; code: number; error: string }[] = [
      { args: ["--insecure"], code: 2, error: "--insecure is not supported" },
      { args: ["--cert-file", pki.clientCert], code: 1, error: "needs both --cert-file and --key-file" },
      { args: ["--ca-file", join(pki.dir, "missing.pem")], code: 1, error: "Cannot read --ca-file" },
      { args: ["--ca-file", pki.clientKey], code: 1, error: "holds no PEM certificate" },
    ];
    for (const c of cases) {
      const result = await kpm(["artifact", "tags", "127.0.0.1:1/e/app", ...c.args]);
      assertEquals(result.code, c.code, describe(result));
      assertStringIncludes(result.stderr, c.error);
    }
  });
});
