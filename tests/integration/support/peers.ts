/**
 * The interop peers: Debian's docker-registry, skopeo, htpasswd, openssl on PATH, and the pinned tools that
 * scripts/peers.sh builds into a cache folder (oras, crane, helm, cosign, conformance.test, kcl-python). Where a
 * peer is (`peerPath`), which are missing, and whether a test that needs them is skipped (outside CI, with a
 * message) or run and left to fail (with `CI=true`).
 *
 * @module
 */

import { join } from "node:path";
import { runCommand } from "./command.ts";

/** The peers the interop tests need, as commands on PATH. */
export const INTEROP_PEERS = ["docker-registry", "skopeo", "htpasswd", "openssl"] as const;

async function isExecutable(path: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

async function onPath(name: string): Promise<string | undefined> {
  const out = await new Deno.Command("sh", {
    args: ["-c", 'command -v "$1"', "sh", name],
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => undefined);
  const path = out?.success ? new TextDecoder().decode(out.stdout).trim() : "";
  return path.startsWith("/") ? path : undefined;
}

/**
 * Where the peer `name` is: `$KPM_PEERS_BIN/NAME`, then `~/.cache/kpm-peers/bin/NAME`, then PATH.
 *
 * @param name command name, e.g. "oras"
 * @returns its absolute path, or undefined when it is nowhere
 */
export async function peerPath(name: string): Promise<string | undefined> {
  const home = Deno.env.get("HOME");
  const folders = [Deno.env.get("KPM_PEERS_BIN"), home && join(home, ".cache", "kpm-peers", "bin")];
  for (const folder of folders) {
    if (folder && await isExecutable(join(folder, name))) return join(folder, name);
  }
  return await onPath(name);
}

/**
 * The peers of `names` that `peerPath` cannot find.
 *
 * @param names command names
 * @returns the missing ones, in order
 */
export async function missingPeers(names: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const name of names) {
    if (await peerPath(name) === undefined) missing.push(name);
  }
  return missing;
}

/**
 * Whether interop tests needing `names` should be ignored: true when a peer is missing outside CI (with a
 * message on stderr); false in CI (`CI=true`), where the tests then fail on the missing peer.
 *
 * @param names command names, default all interop peers
 */
export async function ignoreWithoutPeers(names: readonly string[] = INTEROP_PEERS): Promise<boolean> {
  const missing = await missingPeers(names);
  if (missing.length === 0) return false;
  if (Deno.env.get("CI") === "true") return false;
  console.error(`skipping interop tests: ${missing.join(", ")} not installed (they fail when CI=true)`);
  return true;
}

/**
 * The path of a peer the test needs, for `new Deno.Command`: found by `peerPath`, else the bare name (so that,
 * under `CI=true`, the test fails on the missing command rather than being skipped).
 *
 * @param name command name
 */
export async function peerCommand(name: string): Promise<string> {
  return await peerPath(name) ?? name;
}

/**
 * Runs the peer `name` (found by `peerPath`) and returns its stdout.
 *
 * @param options `cwd`, `env` (added to the inherited environment), `stdin` text
 * @throws {Error} naming the command and its stderr when it exits non-zero
 */
export async function runPeer(
  name: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; stdin?: string } = {},
): Promise<string> {
  const out = await runCommand(await peerCommand(name), args, options);
  if (out.code !== 0) throw new Error(`${name} ${args.join(" ")} failed (${out.code}): ${out.stderr.trim()}`);
  return out.stdout;
}
