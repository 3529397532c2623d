/**
 * kpm and the real cosign v2 (built by scripts/peers.sh) sign and verify each other's signatures against kpm's
 * embedded registry on 127.0.0.1: both key formats both ways, the `.sig` tag and the OCI 1.1 referrer, and
 * refusals on both sides. Skipped outside CI when cosign is missing; fails under CI=true.
 */

import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { startEmbeddedRegistry } from "./support/embedded.ts";
import { runCommand } from "./support/command.ts";
import { ignoreWithoutPeers, peerCommand } from "./support/peers.ts";
import { describe, kpmHome, type KpmResult, ROOT, runKpm } from "./ship_support.ts";

const MAIN = join(ROOT, "main.ts");
const PASSWORD = "interop-pw";

Deno.test({
  name: "cosign v2 verifies what kpm signs, and kpm verifies what cosign signs",
  ignore: await ignoreWithoutPeers(["cosign"]),
  fn: async (t) => {
    const registry = await startEmbeddedRegistry({ delete: true });
    await using home = await kpmHome();
    const env = { ...home.env, KPM_SIGN_PASSWORD: PASSWORD, COSIGN_PASSWORD: PASSWORD };
    const cosignBin = await peerCommand("cosign");
    const cosign = (args: string[], extra: Record<string, string> = {}): Promise<KpmResult> =>
      runCommand(cosignBin, args, { cwd: home.dir, env: { ...env, ...extra }, clearEnv: true });
    const kpm = (args: string[]) => runKpm(MAIN, args, { cwd: home.dir, env });
    const ok = async (result: Promise<KpmResult>, what: string) => {
      const done = await result;
      assertEquals(done.code, 0, `${what}: ${describe(done)}`);
      return done;
    };
    const refused = async (result: Promise<KpmResult>, what: string, message: string) => {
      const done = await result;
      assert(done.code !== 0, `${what} should fail: ${describe(done)}`);
      assertStringIncludes(done.stderr, message, `${what}: ${describe(done)}`);
    };
    const verifyFlags = ["--insecure-ignore-tlog=true", "--allow-insecure-registry"];
    const signFlags = ["--tlog-upload=false", "--allow-insecure-registry", "--yes"];
    const push = async (tag: string, content: string) => {
      await Deno.writeTextFile(join(home.dir, `${tag}.txt`), content);
      const pushed = await ok(
        kpm(["artifact", "push", `${registry.host}/interop/app:${tag}`, `${tag}.txt`, "--json"]),
        "push",
      );
      return `${registry.host}/interop/app@${JSON.parse(pushed.stdout).digest}`;
    };
    try {
      await ok(kpm(["artifact", "keygen", "--output-key-prefix", "kpm"]), "kpm keygen");
      await ok(cosign(["generate-key-pair", "--output-key-prefix", "cosign"]), "cosign generate-key-pair");

      await t.step("kpm signs with its key → cosign verify accepts; the other key is refused", async () => {
        const ref = await push("a", "a\n");
        await ok(kpm(["artifact", "sign", ref, "--key", "kpm.key"]), "kpm sign");
        const verified = await ok(
          cosign(["verify", "--key", "kpm.pub", ...verifyFlags, ref]),
          "cosign verify",
        );
        assertStringIncludes(verified.stdout, ref.split("@")[1]!);
        await refused(
          cosign(["verify", "--key", "cosign.pub", ...verifyFlags, ref]),
          "cosign verify, other key",
          "no matching signatures",
        );
      });

      await t.step("cosign signs with its key → kpm verify accepts; the other key is refused", async () => {
        const ref = await push("b", "b\n");
        await ok(cosign(["sign", "--key", "cosign.key", ...signFlags, ref]), "cosign sign");
        await ok(kpm(["artifact", "verify", ref, "--key", "cosign.pub"]), "kpm verify");
        await refused(
          kpm(["artifact", "verify", ref, "--key", "kpm.pub"]),
          "kpm verify, other key",
          "is by key",
        );
      });

      await t.step(
        "each reads the other's private key: kpm signs with cosign's, cosign with kpm's",
        async () => {
          const ref = await push("c", "c\n");
          await ok(kpm(["artifact", "sign", ref, "--key", "cosign.key"]), "kpm sign with cosign's key");
          await ok(cosign(["sign", "--key", "kpm.key", ...signFlags, ref]), "cosign sign with kpm's key");
          await ok(kpm(["artifact", "verify", ref, "--key", "kpm.pub"]), "kpm verify (cosign's signature)");
          await ok(kpm(["artifact", "verify", ref, "--key", "cosign.pub"]), "kpm verify (kpm's signature)");
          await ok(cosign(["verify", "--key", "cosign.pub", ...verifyFlags, ref]), "cosign verify (kpm's)");
          await ok(cosign(["verify", "--key", "kpm.pub", ...verifyFlags, ref]), "cosign verify (cosign's)");
        },
      );

      await t.step("OCI 1.1 referrers: each reads the other's referrer-only signature", async () => {
        const ref = await push("d", "d\n");
        const signed = await ok(kpm(["artifact", "sign", ref, "--key", "kpm.key", "--json"]), "kpm sign");
        const sigTag = JSON.parse(signed.stdout).signatures.digest as string;
        const deleted = await fetch(`http://${registry.host}/v2/interop/app/manifests/${sigTag}`, {
          method: "DELETE",
        });
        await deleted.body?.cancel();
        assertEquals(deleted.status, 202);
        await refused(
          cosign(["verify", "--key", "kpm.pub", ...verifyFlags, ref]),
          "cosign verify without the tag",
          "no signatures found",
        );
        await ok(
          cosign(["verify", "--key", "kpm.pub", "--experimental-oci11", ...verifyFlags, ref]),
          "cosign verify --experimental-oci11",
        );
        const ref2 = await push("e", "e\n");
        await ok(
          cosign(["sign", "--key", "cosign.key", "--registry-referrers-mode=oci-1-1", ...signFlags, ref2], {
            COSIGN_EXPERIMENTAL: "1",
          }),
          "cosign sign --registry-referrers-mode=oci-1-1",
        );
        const tags = await ok(kpm(["artifact", "tags", `${registry.host}/interop/app`]), "tags");
        assert(!tags.stdout.includes(`sha256-${ref2.split("sha256:")[1]}.sig`), "cosign wrote a .sig tag");
        await ok(kpm(["artifact", "verify", ref2, "--key", "cosign.pub"]), "kpm verify of cosign's referrer");
      });

      await t.step("a signature moved to another digest: both refuse it", async () => {
        const signedRef = await push("f", "f\n");
        await ok(kpm(["artifact", "sign", signedRef, "--key", "kpm.key"]), "kpm sign");
        const target = await push("g", "g\n");
        const hex = (ref: string) => ref.split("sha256:")[1];
        await ok(
          kpm([
            "artifact",
            "tag",
            `${registry.host}/interop/app:sha256-${hex(signedRef)}.sig`,
            `sha256-${hex(target)}.sig`,
          ]),
          "move the signature",
        );
        await refused(
          cosign(["verify", "--key", "kpm.pub", ...verifyFlags, target]),
          "cosign verify, moved",
          "invalid or missing digest in claim",
        );
        await refused(
          kpm(["artifact", "verify", target, "--key", "kpm.pub"]),
          "kpm verify, moved",
          "it was moved",
        );
      });

      await t.step("a package cosign signed passes kpm's trust policy", async () => {
        const pkg = join(home.dir, "pkg");
        await Deno.mkdir(pkg);
        await Deno.writeTextFile(
          join(pkg, "kcl.mod"),
          '[package]\nname = "pkg"\nedition = "v0.11.0"\nversion = "0.0.1"\n',
        );
        await Deno.writeTextFile(join(pkg, "main.k"), "a = 1\n");
        const pushed = await ok(
          runKpm(MAIN, ["mod", "push", `oci://${registry.host}/kcl/pkg`, "--json"], { cwd: pkg, env }),
          "mod push",
        );
        const ref = `${registry.host}/kcl/pkg@${JSON.parse(pushed.stdout).digest}`;
        await ok(cosign(["sign", "--key", "cosign.key", ...signFlags, ref]), "cosign sign");
        const config = join(home.env.KCL_PKG_PATH!, ".kpm", "config");
        await Deno.mkdir(config, { recursive: true });
        const policy = [{ Scope: `${registry.host}/kcl/*`, Keys: [join(home.dir, "cosign.pub")] }];
        await Deno.writeTextFile(join(config, "kpm.json"), JSON.stringify({ TrustPolicy: policy }));
        await ok(kpm(["mod", "init", "app"]), "mod init");
        await ok(
          runKpm(MAIN, ["mod", "add", `oci://${registry.host}/kcl/pkg`, "--tag", "0.0.1"], {
            cwd: join(home.dir, "app"),
            env,
          }),
          "mod add under the policy",
        );
        assertStringIncludes(await Deno.readTextFile(join(home.dir, "app", "kcl.mod.lock")), "signed_by = ");
      });
    } finally {
      await registry.close();
    }
  },
});
