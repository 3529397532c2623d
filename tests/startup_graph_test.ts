/**
 * What each entry point loads before it runs (its static module graph, dynamic imports excluded), so that
 * start-up stays cheap: `kpm --version` loads only lib/version.ts, `kpm --help` only the router and the command
 * table, and a pull loads
 * neither the server nor the packages that bring up Deno's Node layer (bench/README.md, start-up).
 */

import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "./assert.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier?: string }; isDynamic?: boolean }[];
}

/** The modules `entry` loads statically, as repo-relative paths, `node:` and `npm:` specifiers. */
async function staticGraph(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { roots: string[]; modules: InfoModule[] };
  const modules = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const stack = [...info.roots];
  while (stack.length) {
    const specifier = stack.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const dep of modules.get(specifier)?.dependencies ?? []) {
      if (dep.code?.specifier && !dep.isDynamic) stack.push(dep.code.specifier);
    }
  }
  return [...seen].map((s) =>
    s.startsWith("file:") ? relative(ROOT, fileURLToPath(s)).replaceAll("\\", "/") : s
  )
    .sort();
}

const HEAVY = /^(npm:|node:crypto$|lib\/(server|kpm|artifact|oci)\/)/;
const NODE_LAYER_PACKAGES = /^npm:\/?(semver|yaml|bcryptjs)@/;

Deno.test("kpm --version loads only the version; --help only the router and the command table", async () => {
  assertEquals(await staticGraph("main.ts"), ["lib/version.ts", "main.ts"]);
  const graph = await staticGraph("lib/cli/cli.ts");
  assertEquals(graph.filter((m) => HEAVY.test(m)), []);
  assert(graph.includes("lib/cli/commands.ts"), graph.join(" "));
});

Deno.test("artifact and package commands load no server code and no semver, yaml or bcryptjs", async () => {
  for (const entry of ["lib/cli/artifact.ts", "lib/cli/mod_pull.ts"]) {
    const graph = await staticGraph(entry);
    assertEquals(graph.filter((m) => NODE_LAYER_PACKAGES.test(m) || m.startsWith("lib/server/")), [], entry);
    assert(graph.includes("lib/oci/digest.ts"), `${entry}: ${graph.join(" ")}`);
  }
});

Deno.test("registry and artifact commands load none of the KCL settings (kpm.json, KPM_REG, KPM_REPO)", async () => {
  const entries = [
    "artifact",
    "artifact_admin",
    "artifact_oras",
    "artifact_sign",
    "registry",
    "registry_serve",
  ]
    .concat("chart_repo");
  for (const entry of entries.map((name) => `lib/cli/${name}.ts`)) {
    const graph = await staticGraph(entry);
    assertEquals(graph.filter((m) => /^lib\/(kpm\/|config\/kpm_)/.test(m)), [], entry);
    assert(graph.includes("lib/config/client_settings.ts"), `${entry}: ${graph.join(" ")}`);
  }
});
