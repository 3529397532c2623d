/**
 * Builds kpm executables with `deno compile`: the one source of truth for the compile flags, used by both
 * `deno task compile` (`--host`, writes dist/kpm) and `deno task compile:all` (`--all`, the five release
 * targets as dist/kpm-VERSION-TARGET[.exe], then dist/SHA256SUMS in `sha256sum` format).
 *
 * ```sh
 * deno run -A scripts/compile_all.ts --host
 * deno run -A scripts/compile_all.ts --all [--out dist]
 * deno run -A scripts/compile_all.ts --target aarch64-apple-darwin
 * ```
 *
 * `deno compile` downloads its `denort` runtime from dl.deno.land; where that host is unreachable the script
 * stops with one `error:` line (set `DENORT_BIN` to a local denort of the host target to build offline).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The release targets, in release-note order. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

/** A release target triple. */
export type Target = typeof TARGETS[number];

/**
 * The permissions baked into the executable, the narrowest that work: registries (net), packages and
 * credentials on disk (read, write), KPM_* / DOCKER_CONFIG / proxy variables (env), and docker credential
 * helpers and the KCL compiler (run). kpm reads no system information, so there is no `--allow-sys`.
 */
export const PERMISSIONS: readonly string[] = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
];

/** The file name of a release executable: `kpm-0.1.0-x86_64-pc-windows-msvc.exe`. */
export function outputName(version: string, target: string): string {
  return `kpm-${version}-${target}${target.includes("windows") ? ".exe" : ""}`;
}

/**
 * The `deno compile` arguments for one executable.
 *
 * @param output the output path (deno adds `.exe` for Windows targets when it is missing)
 * @param options `target` to cross-compile (omitted for the host), `entry` the main module (main.ts)
 * @returns the arguments after `deno`
 */
export function compileArgs(output: string, options: { target?: string; entry?: string } = {}): string[] {
  return [
    "compile",
    ...PERMISSIONS,
    ...(options.target ? ["--target", options.target] : []),
    "--output",
    output,
    options.entry ?? "main.ts",
  ];
}

/**
 * Hashes a file with SHA-256 while streaming it (node:crypto).
 *
 * @returns the lowercase hex digest
 */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/**
 * Writes `SHA256SUMS` in `sha256sum` format (`<hex>  <name>`, one line per file, sorted by name) next to the
 * files, so `sha256sum -c SHA256SUMS` verifies a download.
 *
 * @param dir the folder holding the files
 * @param names the file names inside `dir`
 * @returns the text written
 */
export async function writeChecksums(dir: string, names: string[]): Promise<string> {
  const lines: string[] = [];
  for (const name of [...names].sort()) lines.push(`${await sha256File(join(dir, name))}  ${name}\n`);
  const text = lines.join("");
  const temp = join(dir, `.SHA256SUMS.${crypto.randomUUID()}`);
  await Deno.writeTextFile(temp, text);
  await Deno.rename(temp, join(dir, "SHA256SUMS"));
  return text;
}

/**
 * Turns `deno compile`'s multi-line failure into one line; recognises the unreachable runtime download.
 *
 * @param stderr what deno compile printed on stderr
 * @param target the target being built
 */
export function compileFailure(stderr: string, target: string): string {
  // deno colours its output even when piped; strip the escapes before matching.
  // deno-lint-ignore no-control-regex
  const plain = stderr.replace(/\x1b\[[0-9;]*m/g, "");
  const url = plain.match(/https:\/\/\S*denort\S*?\.zip/)?.[0];
  if (url || plain.includes("Setting up base binary")) {
    const cause = plain.split("\n").find((line) => /error sending request|dns error|Connect/.test(line))
      ?.replace(/^\s*\d+:\s*/, "").replace(/^error sending request for url \([^)]*\):\s*/, "").trim();
    return `Cannot compile kpm for "${target}": deno could not download its runtime` +
      `${url ? ` from "${url}"` : ""}${cause ? ` (${cause})` : ""}; build where dl.deno.land is reachable` +
      ` or set DENORT_BIN to a local denort`;
  }
  const first = plain.split("\n").map((line) => line.trim()).find((line) => line.startsWith("error"));
  return `Cannot compile kpm for "${target}": ${first?.replace(/^error:\s*/, "") ?? "deno compile failed"}`;
}

/** The host's target triple, as `deno compile --target` spells it. */
export function hostTarget(): string {
  return Deno.build.target;
}

/** Reads the version from deno.json. */
export async function readVersion(configPath: string): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(configPath)) as { version?: unknown };
  if (typeof config.version !== "string") throw new Error(`No "version" in "${configPath}"`);
  return config.version;
}

/** What one run of the script builds. */
export interface BuildPlan {
  /** Target → output path; an undefined target means the host. */
  builds: { target?: string; output: string }[];
  /** Whether to write SHA256SUMS afterwards. */
  checksums: boolean;
  out: string;
}

/**
 * Parses the script's arguments into a build plan.
 *
 * @throws {Error} on an unknown option or target
 */
export function plan(args: string[], version: string): BuildPlan {
  let out = "dist";
  let mode: "host" | "all" | "targets" = "all";
  const targets: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--host") mode = "host";
    else if (arg === "--all") mode = "all";
    else if (arg === "--out" && args[i + 1] !== undefined) out = args[++i]!;
    else if (arg === "--target" && args[i + 1] !== undefined) {
      const target = args[++i]!;
      if (!(TARGETS as readonly string[]).includes(target)) {
        throw new Error(`Unknown target "${target}"; expected one of ${TARGETS.join(", ")}`);
      }
      mode = "targets";
      targets.push(target);
    } else throw new Error(`Unknown argument "${arg}"; expected --host, --all, --target T or --out DIR`);
  }
  if (mode === "host") {
    return {
      builds: [{ output: join(out, hostTarget().includes("windows") ? "kpm.exe" : "kpm") }],
      checksums: false,
      out,
    };
  }
  const list = mode === "all" ? [...TARGETS] : targets;
  return {
    builds: list.map((target) => ({ target, output: join(out, outputName(version, target)) })),
    checksums: true,
    out,
  };
}

/**
 * Runs the plan: one `deno compile` per build, then SHA256SUMS.
 *
 * @throws {Error} with a one-line message when a compile fails
 */
export async function build(
  buildPlan: BuildPlan,
  options: { deno?: string; cwd?: string } = {},
): Promise<void> {
  await Deno.mkdir(buildPlan.out, { recursive: true });
  for (const { target, output } of buildPlan.builds) {
    console.error(`Compiling ${output}`);
    const result = await new Deno.Command(options.deno ?? Deno.execPath(), {
      args: compileArgs(output, { target }),
      cwd: options.cwd,
      stdout: "inherit",
      stderr: "piped",
    }).output();
    if (!result.success) {
      throw new Error(compileFailure(new TextDecoder().decode(result.stderr), target ?? hostTarget()));
    }
  }
  if (buildPlan.checksums) {
    await writeChecksums(buildPlan.out, buildPlan.builds.map((b) => basename(b.output)));
    console.error(`Wrote ${join(buildPlan.out, "SHA256SUMS")}`);
  }
}

if (import.meta.main) {
  const root = fileURLToPath(new URL("..", import.meta.url));
  try {
    Deno.chdir(root);
    const version = await readVersion("deno.json");
    await build(plan(Deno.args, version));
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(1);
  }
}
