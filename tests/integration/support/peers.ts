/**
 * The interop peers (Debian's docker-registry, skopeo, htpasswd, openssl): which are missing, and whether a test
 * that needs them is skipped (outside CI, with a message) or run and left to fail (with `CI=true`).
 *
 * @module
 */

/** The peers the interop tests need, as commands on PATH. */
export const INTEROP_PEERS = ["docker-registry", "skopeo", "htpasswd", "openssl"] as const;

/**
 * The commands of `names` that are not on PATH.
 *
 * @param names command names
 * @returns the missing ones, in order
 */
export async function missingPeers(names: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const name of names) {
    const found = await new Deno.Command("sh", {
      args: ["-c", 'command -v "$1" >/dev/null', "sh", name],
      stdout: "null",
      stderr: "null",
    }).output().then((out) => out.success, () => false);
    if (!found) missing.push(name);
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
