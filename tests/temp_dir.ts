/**
 * A temporary folder for one test, removed afterwards whatever the outcome.
 *
 * @module
 */

/** Runs `fn` with a fresh temporary folder and removes the folder (recursively) when `fn` settles. */
export async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kpm-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
