/**
 * Hints are data on errors (lib/oci/hint.ts, lib/kpm/errors.ts) and words in the CLI (lib/cli/hints.ts): each
 * kind is worded as kpm always printed it, main.ts prints it under the error line, and `--json` adds it to the
 * error document.
 */

import { join } from "node:path";
import { errorHint, type Hint, hintText } from "../lib/cli/hints.ts";
import { PackageError } from "../lib/kpm/errors.ts";
import { RegistryError } from "../lib/oci/registry_error.ts";
import { assertEquals } from "./assert.ts";
import { startEmbeddedRegistry } from "./integration/support/embedded.ts";
import { describe, kpmHome, ROOT, runKpm } from "./integration/ship_support.ts";

Deno.test("each hint is worded as kpm printed it", () => {
  const cases: [Hint, string][] = [
    [{ kind: "login", registry: "ghcr.io" }, "run `kpm registry login ghcr.io`"],
    [{ kind: "login" }, "log in to the registry first"],
    [{ kind: "access" }, "the credentials have no access to this repository"],
    [{ kind: "reference" }, "check the repository name and the tag"],
    [{ kind: "timeout" }, "raise the limit with --timeout or KPM_TIMEOUT"],
    [{ kind: "force" }, "use --force to overwrite it"],
    [{ kind: "version" }, "name the version (NAME:VERSION or --tag)"],
    [
      { kind: "compiler" },
      "install kcl (https://kcl-lang.io/docs/user_docs/getting-started/install) or set KPM_KCL_BIN",
    ],
    [
      { kind: "signature" },
      "ask the publisher to sign it (kpm artifact sign, cosign sign), or pass --no-verify to skip the check",
    ],
  ];
  for (const [hint, text] of cases) assertEquals(hintText(hint), text, hint.kind);
});

Deno.test("errorHint reads the hint an error carries, and nothing else", () => {
  assertEquals(errorHint(new PackageError("Cannot push", { hint: { kind: "force" } })), {
    kind: "force",
    text: "use --force to overwrite it",
  });
  assertEquals(errorHint(new PackageError("Cannot push")), undefined);
  assertEquals(errorHint(new RegistryError("x", { status: 500 })), undefined);
  assertEquals(errorHint(Object.assign(new Error("x"), { hint: { kind: "force" } })), undefined);
  assertEquals(errorHint("a string"), undefined);
});

Deno.test("kpm prints the hint under the error line, and in the --json error document", async () => {
  const registry = await startEmbeddedRegistry({ users: [{ username: "ci", password: "secret" }] });
  await using home = await kpmHome();
  const ref = `${registry.host}/demo/app:v1`;
  const kpm = (...args: string[]) => runKpm(join(ROOT, "main.ts"), args, { cwd: home.dir, env: home.env });
  try {
    const text = await kpm("artifact", "pull", ref);
    assertEquals(text.code, 1, describe(text));
    const lines = text.stderr.trimEnd().split("\n");
    assertEquals(lines.length, 2, describe(text));
    assertEquals(lines[1], `hint: run \`kpm registry login ${registry.host}\``);
    const json = await kpm("artifact", "pull", ref, "--json");
    assertEquals(json.code, 1, describe(json));
    const { error } = JSON.parse(json.stdout);
    assertEquals(error.message, lines[0]!.slice("error: ".length));
    assertEquals(error.hint, {
      kind: "login",
      registry: registry.host,
      text: `run \`kpm registry login ${registry.host}\``,
    });
  } finally {
    await registry.close();
  }
});
