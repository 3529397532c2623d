/**
 * Every import in main.ts and lib/ is fully qualified, so `deno run --no-config <url-of-main.ts>` works with no
 * deno.json and no import map: relative paths, `node:` built-ins, and pinned `npm:` packages in lib/deps.ts
 * only.
 */

import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "./assert.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The module specifiers a file names in static imports/exports and literal dynamic imports. */
export function specifiersOf(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s+(?:type\s+)?(?:\{[^}]*\}|\*(?:\s+as\s+\w+)?|\w+(?:\s*,\s*\{[^}]*\})?)\s*from\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) found.push(match[1]!);
  return found;
}

async function* sources(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* sources(path);
    else if (/\.(ts|js|mjs)$/.test(entry.name)) yield path;
  }
}

Deno.test("specifier scan finds static, side-effect and literal dynamic imports", () => {
  assertEquals(
    specifiersOf(
      'import { a } from "./a.ts";\nimport type {\n  B,\n} from "../b.ts";\nexport * from "npm:x@1.0.0";\n' +
        'import def, { c } from "./c.ts";\nexport const s = { a: "x from ", b: "y" };\nimport * as d from "./d.ts";\n' +
        'import "node:fs";\nconst m = await import("./m.ts");\nconst text = "not from \\"here\\"";\n',
    ),
    ["./a.ts", "../b.ts", "npm:x@1.0.0", "./c.ts", "./d.ts", "node:fs", "./m.ts"],
  );
});

Deno.test("main.ts and lib/ use only relative, node: and (in lib/deps.ts) pinned npm: specifiers", async () => {
  const files = [join(ROOT, "main.ts")];
  for await (const path of sources(join(ROOT, "lib"))) files.push(path);
  const problems: string[] = [];
  let count = 0;
  for (const path of files) {
    const name = relative(ROOT, path).replaceAll("\\", "/");
    for (const specifier of specifiersOf(await Deno.readTextFile(path))) {
      count++;
      if (specifier.startsWith("./") || specifier.startsWith("../")) {
        if (!/\.(ts|js|mjs|json)$/.test(specifier)) problems.push(`${name}: "${specifier}" has no extension`);
      } else if (specifier.startsWith("node:")) continue;
      else if (specifier.startsWith("npm:")) {
        if (name !== "lib/deps.ts") problems.push(`${name}: "${specifier}" outside lib/deps.ts`);
        else if (!/^npm:(@[^/@]+\/)?[^/@]+@\d+\.\d+\.\d+(\/.*)?$/.test(specifier)) {
          problems.push(`${name}: "${specifier}" is not pinned to an exact version`);
        }
      } else problems.push(`${name}: "${specifier}" is not fully qualified`);
    }
  }
  assertEquals(problems, []);
  assert(files.length > 10 && count > files.length, `scanned ${count} specifiers in ${files.length} files`);
});
