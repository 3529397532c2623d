/**
 * The attacker wrote kcl.mod.lock. The package cache is named by NAME_VERSION only, so `pkg_0.1.0` pulled from
 * registry A sits where registry B's signed `pkg` 0.1.0 would. A lock pinning B's package, with A's checksum
 * and (or without) B's signing key as `signed_by`, must not make kpm pass A's copy off as B's verified package:
 * only kpm's own record of what it verified lets a policy-covered package be used from the cache offline.
 */

import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { describe, kpmHome, ROOT, runKpm } from "../integration/ship_support.ts";
import { type EvilRegistry, startEvilRegistry } from "./support/evil_registry.ts";

const MAIN = join(ROOT, "main.ts");

/** The `sum = "…"` of a kcl.mod.lock holding one package. */
function lockedSum(lock: string): string {
  const sum = /^\s*sum = "([^"]+)"$/m.exec(lock)?.[1];
  assert(sum, `no sum in\n${lock}`);
  return sum;
}

Deno.test("a lock cannot pass off a cached copy from another registry as the signed package", async (t) => {
  await using home = await kpmHome();
  const a: EvilRegistry = startEvilRegistry();
  const b: EvilRegistry = startEvilRegistry();
  const env = { ...home.env, KPM_SIGN_PASSWORD: "pw" };
  const kpm = (args: string[], cwd = home.dir) => runKpm(MAIN, args, { cwd, env });
  const ok = async (args: string[], cwd = home.dir) => {
    const result = await kpm(args, cwd);
    assertEquals(result.code, 0, `kpm ${args.join(" ")}: ${describe(result)}`);
  };
  /** A package `pkg` 0.1.0 whose main.k says `text`, in `dir`. */
  const writePkg = async (dir: string, text: string) => {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(
      join(dir, "kcl.mod"),
      '[package]\nname = "pkg"\nedition = "v0.11.0"\nversion = "0.1.0"\n',
    );
    await Deno.writeTextFile(join(dir, "main.k"), `x = "${text}"\n`);
  };
  const app = (name: string) => join(home.dir, name);
  try {
    await ok(["artifact", "keygen"]);
    await writePkg(join(home.dir, "src", "b"), "signed by the publisher");
    await ok(
      ["mod", "push", `oci://${b.host}/kcl/pkg`, "--sign", "../../cosign.key"],
      join(home.dir, "src", "b"),
    );
    await writePkg(join(home.dir, "src", "a"), "anyone's");
    await ok(["mod", "push", `oci://${a.host}/kcl/pkg`], join(home.dir, "src", "a"));
    const config = join(home.env.KCL_PKG_PATH!, ".kpm", "config");
    await Deno.mkdir(config, { recursive: true });
    await Deno.writeTextFile(
      join(config, "kpm.json"),
      JSON.stringify({ TrustPolicy: [{ Scope: `${b.host}/kcl/*`, Keys: [join(home.dir, "cosign.pub")] }] }),
    );
    for (const name of ["signed", "other"]) await ok(["mod", "init", name]);

    let signedLock = "";
    await t.step(
      "the signed package, once verified, is used from the cache without asking its registry",
      async () => {
        await ok(["mod", "add", `oci://${b.host}/kcl/pkg`, "--tag", "0.1.0"], app("signed"));
        signedLock = await Deno.readTextFile(join(app("signed"), "kcl.mod.lock"));
        assertStringIncludes(signedLock, "signed_by = ");
        const asked = b.seen.length;
        await ok(["mod", "graph"], app("signed"));
        assertEquals(b.seen.length, asked, "the registry was asked");
        assertEquals(await Deno.readTextFile(join(app("signed"), "kcl.mod.lock")), signedLock);
      },
    );

    await ok(["mod", "add", `oci://${a.host}/kcl/pkg`, "--tag", "0.1.0"], app("other"));
    const otherSum = lockedSum(await Deno.readTextFile(join(app("other"), "kcl.mod.lock")));
    const signedSum = lockedSum(signedLock);
    assert(otherSum !== signedSum, "the two copies differ");
    const hostile: [string, string][] = [
      ["with signed_by", signedLock.replace(signedSum, otherSum)],
      ["without signed_by", signedLock.replace(signedSum, otherSum).replace(/^\s*signed_by = .*\n/m, "")],
    ];
    for (const [title, lock] of hostile) {
      await t.step(
        `a lock pinning the signed package with the other copy's checksum, ${title}, is refused`,
        async () => {
          const dir = app(`hostile-${title.replaceAll(" ", "-")}`);
          await Deno.mkdir(dir);
          await Deno.copyFile(join(app("signed"), "kcl.mod"), join(dir, "kcl.mod"));
          await Deno.writeTextFile(join(dir, "kcl.mod.lock"), lock);
          const result = await kpm(["mod", "graph"], dir);
          assertEquals(result.code, 1, describe(result));
          assertStringIncludes(
            result.stderr,
            `error: Cannot use package "${b.host}/kcl/pkg:0.1.0": its checksum is "${signedSum}" but kcl.mod.lock says "${otherSum}", so kpm is refusing it`,
          );
          assertEquals(await Deno.readTextFile(join(dir, "kcl.mod.lock")), lock);
        },
      );
    }
  } finally {
    await a.close();
    await b.close();
  }
});
