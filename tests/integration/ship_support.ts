/**
 * Helpers for the "ship it" tests (run from a URL, exit codes, proxies) and the start-up benchmark: a
 * read-only static file server for the checkout and a way to spawn kpm with a clean environment.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type CommandResult, runCommand } from "./support/command.ts";

/** The checkout's root folder. */
export const ROOT: string = fileURLToPath(new URL("../../", import.meta.url));

/** A running static file server. */
export interface StaticServer {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  origin: string;
  /** Paths served so far (GET/HEAD that found a file). */
  served: string[];
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  ".ts": "application/typescript; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".json": "application/json",
};

/**
 * Serves `root` read-only over plain HTTP on 127.0.0.1 (any free port): GET and HEAD of files only, no
 * listings, no `..`, no dot-files.
 */
export function serveStatic(root: string): StaticServer {
  const served: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("read-only", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    const path = decodeURIComponent(new URL(request.url).pathname);
    if (path.split("/").some((part) => part.startsWith("."))) return new Response("no", { status: 404 });
    try {
      const body = await Deno.readFile(join(root, path));
      served.push(path);
      const ext = path.slice(path.lastIndexOf("."));
      return new Response(request.method === "HEAD" ? null : body, {
        headers: { "content-type": CONTENT_TYPES[ext] ?? "application/octet-stream" },
      });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  return { origin: `http://127.0.0.1:${server.addr.port}`, served, close: () => server.shutdown() };
}

/** The outcome of one kpm process. */
export type KpmResult = CommandResult;

let denoDir: string | undefined;

/** Deno's cache folder, so that children with another HOME reuse the warm cache. */
export async function currentDenoDir(): Promise<string> {
  if (denoDir) return denoDir;
  const env = Deno.env.get("DENO_DIR");
  if (env) return denoDir = env;
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" }).output();
  return denoDir = (JSON.parse(new TextDecoder().decode(out.stdout)) as { denoDir: string }).denoDir;
}

/** A temporary home for kpm: HOME, KCL_PKG_PATH and DOCKER_CONFIG inside one temp folder. */
export interface KpmHome {
  dir: string;
  env: Record<string, string>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Makes a temporary home (removed on dispose) and the environment that points kpm at it. */
export async function kpmHome(): Promise<KpmHome> {
  const dir = await Deno.makeTempDir({ prefix: "kpm-ship-home-" });
  return {
    dir,
    env: {
      HOME: dir,
      KCL_PKG_PATH: join(dir, "kpm"),
      DOCKER_CONFIG: join(dir, "docker"),
      DENO_DIR: await currentDenoDir(),
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      NO_COLOR: "1",
    },
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/**
 * Spawns `deno run [denoArgs] ENTRY args…` with exactly `env` (nothing inherited), stdin from `stdin` or
 * closed, and collects the outcome.
 *
 * @param entry main.ts as a path or URL
 * @param options `denoArgs` the permission flags etc. (default `-A`), `cwd`, `env`, `stdin` text, `signal`
 *   kills it, `interrupt` sends it SIGINT when it settles
 */
export async function runKpm(
  entry: string,
  args: string[],
  options: {
    denoArgs?: string[];
    cwd?: string;
    env: Record<string, string>;
    stdin?: string;
    signal?: AbortSignal;
    interrupt?: Promise<unknown>;
  },
): Promise<KpmResult> {
  return await runCommand(Deno.execPath(), ["run", ...(options.denoArgs ?? ["-A"]), entry, ...args], {
    cwd: options.cwd,
    env: options.env,
    clearEnv: true,
    stdin: options.stdin,
    signal: options.signal,
    interrupt: options.interrupt,
  });
}

/** Runs this checkout's main.ts with `args` in `home` (its folder and environment). */
export function runKpmIn(home: KpmHome, args: string[]): Promise<KpmResult> {
  return runKpm(join(ROOT, "main.ts"), args, { cwd: home.dir, env: home.env });
}

/** Formats a result for an assertion message. */
export function describe(result: KpmResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`;
}
