/**
 * Signing through main.ts against real registries (kpm's embedded registry, with the OCI 1.1 referrers API,
 * and the CNCF distribution 2.8, without it): keygen, sign, verify and every refusal (tampered manifest, wrong
 * key, missing signature, a signature moved to another digest), signatures travelling with `artifact copy -r`
 * into an OCI layout, `mod push --sign`, and the trust policy blocking an unsigned transitive dependency; and
 * the KCL tool chain (kcl-lib) reading a kcl.mod.lock that records verifications.
 */

import { dirname, join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { forEachRegistry, USER } from "./kpm_registries.ts";
import { startEmbeddedRegistry } from "./support/embedded.ts";
import { ignoreWithoutPeers, peerPath, runPeer } from "./support/peers.ts";
import { describe, kpmHome, ROOT, runKpm } from "./ship_support.ts";

const MAIN = join(ROOT, "main.ts");

/** Writes a package folder whose kcl.mod depends on `deps` (name → oci:// URL, tag 0.0.1). */
async function writePackage(dir: string, name: string, deps: Record<string, string> = {}): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const lines = Object.entries(deps).map(([n, url]) => `${n} = { oci = "${url}", tag = "0.0.1" }`);
  const depText = lines.length ? `\n[dependencies]\n${lines.join("\n")}\n` : "";
  await Deno.writeTextFile(
    join(dir, "kcl.mod"),
    `[package]\nname = "${name}"\nedition = "v0.11.0"\nversion = "0.0.1"\n${depText}`,
  );
  await Deno.writeTextFile(join(dir, "kcl.mod.lock"), "");
  await Deno.writeTextFile(join(dir, "main.k"), `${name} = 1\n`);
}

await forEachRegistry("cosign-style signing", async (t, registry) => {
  await using home = await kpmHome();
  const host = registry.host;
  const env: Record<string, string> = { ...home.env, KPM_SIGN_PASSWORD: "s3cret" };
  const kpm = (args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) =>
    runKpm(MAIN, args, { cwd: options.cwd ?? home.dir, env: { ...env, ...options.env } });
  const ok = async (args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) => {
    const result = await kpm(args, options);
    assertEquals(result.code, 0, `kpm ${args.join(" ")}: ${describe(result)}`);
    return result;
  };
  const fails = async (args: string[], message: string, options: { cwd?: string } = {}) => {
    const result = await kpm(args, options);
    assertEquals(result.code, 1, `kpm ${args.join(" ")}: ${describe(result)}`);
    assertStringIncludes(result.stderr, message);
    return result;
  };
  const repo = `${host}/demo/app`;
  const digestOf = async (ref: string) =>
    JSON.parse((await ok(["artifact", "manifest", ref, "--descriptor"])).stdout).digest as string;
  await Deno.writeTextFile(join(home.dir, "a.txt"), "hello\n");

  await t.step("keygen writes cosign's two files once, the private one 0600", async () => {
    const made = JSON.parse((await ok(["artifact", "keygen", "--json"])).stdout);
    assertEquals((await Deno.stat(join(home.dir, "cosign.key"))).mode! & 0o777, 0o600);
    assertStringIncludes(await Deno.readTextFile(made.publicKey), "-----BEGIN PUBLIC KEY-----");
    await fails(["artifact", "keygen"], "exists");
    const noPassword = await runKpm(MAIN, ["artifact", "keygen", "--output-key-prefix", "x"], {
      cwd: home.dir,
      env: home.env,
    });
    assertEquals(noPassword.code, 2, describe(noPassword));
    assertStringIncludes(noPassword.stderr, "hint: set KPM_SIGN_PASSWORD");
    await ok(["artifact", "keygen", "--output-key-prefix", "other"]);
  });

  await t.step("sign, then verify with the public key", async () => {
    await ok(["registry", "login", "-u", USER.username, "-p", USER.password, host]);
    await ok(["artifact", "push", `${repo}:v1`, "a.txt"]);
    await ok(["artifact", "sign", `${repo}:v1`, "--key", "cosign.key"]);
    const verified = JSON.parse(
      (await ok(["artifact", "verify", `${repo}:v1`, "--key", "cosign.pub", "--json"])).stdout,
    );
    assertEquals(verified.verified, true);
    assertEquals(verified.subject.digest, await digestOf(`${repo}:v1`));
    assert(
      (await ok(["artifact", "tags", repo])).stdout.includes(
        `sha256-${verified.subject.digest.slice(7)}.sig`,
      ),
    );
  });

  await t.step("a wrong key, a wrong password and a missing signature are refused", async () => {
    await fails(["artifact", "verify", `${repo}:v1`, "--key", "other.pub"], "is by key");
    const wrong = await kpm(["artifact", "sign", `${repo}:v1`, "--key", "cosign.key"], {
      env: { KPM_SIGN_PASSWORD: "nope" },
    });
    assertEquals(wrong.code, 1);
    assertStringIncludes(wrong.stderr, "wrong password");
    await Deno.writeTextFile(join(home.dir, "b.txt"), "other\n");
    await ok(["artifact", "push", `${repo}:v2`, "b.txt"]);
    await fails(["artifact", "verify", `${repo}:v2`, "--key", "cosign.pub"], "is not signed");
  });

  await t.step("a signature moved to another digest is refused", async () => {
    const v1 = await digestOf(`${repo}:v1`);
    const v2 = await digestOf(`${repo}:v2`);
    await ok(["artifact", "tag", `${repo}:sha256-${v1.slice(7)}.sig`, `sha256-${v2.slice(7)}.sig`]);
    await fails(["artifact", "verify", `${repo}:v2`, "--key", "cosign.pub"], "it was moved");
  });

  await t.step("signatures travel with copy -r into an OCI layout", async () => {
    await ok(["artifact", "copy", "-r", `${repo}:v1`, "oci-layout:layout:v1"]);
    await ok(["artifact", "verify", "oci-layout:layout:v1", "--key", "cosign.pub"]);
  });

  await t.step("a tampered manifest (new content under the signed tag) is refused", async () => {
    await Deno.writeTextFile(join(home.dir, "a.txt"), "tampered\n");
    await ok(["artifact", "push", `${repo}:v1`, "a.txt"]);
    await fails(["artifact", "verify", `${repo}:v1`, "--key", "cosign.pub"], "is not signed");
  });

  const src = join(home.dir, "src");
  const app = join(home.dir, "app");
  const oci = (name: string) => `oci://${host}/kcl/${name}`;

  await t.step("mod push --sign signs; a wrong password pushes nothing", async () => {
    await writePackage(join(src, "base"), "base");
    await ok(["mod", "push", oci("base")], { cwd: join(src, "base") });
    await writePackage(join(src, "mid"), "mid", { base: oci("base") });
    const wrong = await kpm(["mod", "push", oci("mid"), "--sign", "../../cosign.key"], {
      cwd: join(src, "mid"),
      env: { KPM_SIGN_PASSWORD: "nope" },
    });
    assertEquals(wrong.code, 1, describe(wrong));
    assert(!(await kpm(["artifact", "tags", `${host}/kcl/mid`])).stdout.includes("0.0.1"));
    await ok(["mod", "push", oci("mid"), "--sign", "../../cosign.key"], { cwd: join(src, "mid") });
    await ok(["artifact", "verify", `${host}/kcl/mid:0.0.1`, "--key", "cosign.pub"]);
  });

  const settings = join(env.KCL_PKG_PATH!, ".kpm", "config", "kpm.json");
  const writePolicy = (policy: unknown[]) =>
    Deno.mkdir(join(env.KCL_PKG_PATH!, ".kpm", "config"), { recursive: true }).then(() =>
      Deno.writeTextFile(settings, JSON.stringify({ TrustPolicy: policy }))
    );

  await t.step("the trust policy blocks an unsigned transitive dependency during mod add", async () => {
    await writePolicy([{ Scope: `${host}/kcl/*`, Keys: [join(home.dir, "cosign.pub")] }]);
    assertStringIncludes((await ok(["config"])).stdout, `TrustPolicy[0] = ${host}/kcl/*`);
    await writePackage(app, "app");
    const modBefore = await Deno.readTextFile(join(app, "kcl.mod"));
    const result = await fails(["mod", "add", oci("mid"), "--tag", "0.0.1"], `package "base"`, { cwd: app });
    assertStringIncludes(result.stderr, `"${host}/kcl/base:0.0.1"`);
    assertStringIncludes(result.stderr, `trust policy entry "${host}/kcl/*"`);
    assertEquals(await Deno.readTextFile(join(app, "kcl.mod")), modBefore);
    assertEquals(await Deno.readTextFile(join(app, "kcl.mod.lock")), "");
  });

  await t.step("--no-verify is loud, even with --quiet, and records no verification", async () => {
    const result = await ok(["mod", "add", oci("mid"), "--tag", "0.0.1", "--no-verify", "-q"], { cwd: app });
    assertStringIncludes(result.stderr, "warning: --no-verify");
    assert(!(await Deno.readTextFile(join(app, "kcl.mod.lock"))).includes("signed_by"));
  });

  await t.step(
    "once every package is signed, the lock records the key; without a policy it does not",
    async () => {
      await ok(["artifact", "sign", `${host}/kcl/base:0.0.1`, "--key", "cosign.key"]);
      await ok(["mod", "update"], { cwd: app });
      const lock = await Deno.readTextFile(join(app, "kcl.mod.lock"));
      assertEquals(lock.match(/signed_by = "sha256:[0-9a-f]{64}"/g)?.length, 2);
      await ok(["mod", "pull", oci("base"), "--tag", "0.0.1", "pulled"]);
      await writePolicy([{ Scope: `${host}/kcl/*`, Keys: [join(home.dir, "other.pub")] }]);
      await fails(["mod", "update"], "is by key", { cwd: app });
      await fails(["mod", "pull", oci("base"), "--tag", "0.0.1", "pulled2"], "is by key");
      await writePolicy([]);
      await ok(["mod", "update"], { cwd: app });
      assert(!(await Deno.readTextFile(join(app, "kcl.mod.lock"))).includes("signed_by"));
    },
  );
}, { only: (label) => label !== "distribution (token)" });

Deno.test(
  "the KCL tool chain (kcl-lib) runs a package whose lock records signed_by, and leaves the lock alone",
  {
    ignore: await ignoreWithoutPeers(["kcl-python"]),
  },
  async () => {
    const registry = await startEmbeddedRegistry();
    await using home = await kpmHome();
    const python = await peerPath("kcl-python");
    const env = { ...home.env, KPM_SIGN_PASSWORD: "pw", KPM_PEERS_BIN: python ? dirname(python) : "" };
    const ok = async (args: string[], cwd = home.dir) => {
      const result = await runKpm(MAIN, args, { cwd, env });
      assertEquals(result.code, 0, `kpm ${args.join(" ")}: ${describe(result)}`);
    };
    try {
      const url = `oci://${registry.host}/kcl/dep`;
      await ok(["artifact", "keygen"]);
      await writePackage(join(home.dir, "dep"), "dep");
      await ok(["mod", "push", url, "--sign", "../cosign.key"], join(home.dir, "dep"));
      const config = join(home.env.KCL_PKG_PATH!, ".kpm", "config");
      await Deno.mkdir(config, { recursive: true });
      const policy = [{ Scope: `${registry.host}/kcl/*`, Keys: ["../../../cosign.pub"] }];
      await Deno.writeTextFile(join(config, "kpm.json"), JSON.stringify({ TrustPolicy: policy }));
      const app = join(home.dir, "app");
      await writePackage(app, "app");
      await Deno.writeTextFile(join(app, "main.k"), "import dep\nx = dep.dep\n");
      await ok(["mod", "add", url, "--tag", "0.0.1"], app);
      const lock = await Deno.readTextFile(join(app, "kcl.mod.lock"));
      assertStringIncludes(lock, "signed_by = ");
      const out = await runPeer(join(ROOT, "tests", "peers", "kcl"), ["run"], { cwd: app, env });
      assertEquals(out, "x: 1\n");
      assertEquals(await Deno.readTextFile(join(app, "kcl.mod.lock")), lock);
    } finally {
      await registry.close();
    }
  },
);
