/**
 * The library's documentation is part of its contract: every example in mod.ts and lib/api/ runs
 * (`deno test --doc`, offline: they use OCI layout folders and the embedded registry), `deno doc --lint mod.ts`
 * is clean, and mod.ts exports exactly the public surface (nothing internal leaks out).
 */

import { fileURLToPath } from "node:url";
import { assertEquals } from "./assert.ts";
import { currentDenoDir } from "./integration/ship_support.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

async function deno(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const decoder = new TextDecoder();
  return { code: out.code, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

Deno.test("every JSDoc example of mod.ts and lib/api/, and the README's TypeScript, runs (deno test --doc)", async () => {
  // the examples' temporary folders and package cache go into one folder removed afterwards
  const tmp = await Deno.makeTempDir({ prefix: "kpm-doc-tests-" });
  try {
    const result = await deno(
      ["test", "-A", "--doc", "--no-check=remote", "mod.ts", "lib/api/", "README.md"],
      {
        TMPDIR: tmp,
        HOME: tmp,
        KCL_PKG_PATH: `${tmp}/kpm`,
        DOCKER_CONFIG: `${tmp}/docker`,
        DENO_DIR: await currentDenoDir(),
        NO_COLOR: "1",
      },
    );
    assertEquals(result.code, 0, result.output);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("deno doc --lint mod.ts is clean", async () => {
  const result = await deno(["doc", "--lint", "mod.ts"], { NO_COLOR: "1" });
  assertEquals(result.code, 0, result.output);
});

Deno.test("mod.ts exports the public surface and nothing else", async () => {
  const names = Object.keys(await import("../mod.ts")).sort();
  assertEquals(names, [
    "ArtifactError",
    "Client",
    "CredentialError",
    "DigestError",
    "HintedError",
    "LayoutError",
    "ManifestError",
    "ModFileError",
    "PackageArchiveError",
    "PackageError",
    "ReferenceFormatError",
    "RegistryError",
    "ResolutionError",
    "SourceError",
    "Target",
    "TrustError",
    "copy",
    "dockerCredentials",
    "formatReference",
    "openLayout",
    "parseReference",
    "pull",
    "pullPackage",
    "pullToMemory",
    "push",
    "pushPackage",
    "readLockFile",
    "readModFile",
    "resolvePackage",
    "serveRegistry",
    "staticCredentials",
    "writeLockFile",
    "writeModFile",
  ]);
});
