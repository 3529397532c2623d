import { join } from "node:path";
import { assertEquals } from "./assert.ts";
import { STALE_AFTER_MS, sweepStale, tempRoot } from "../lib/kpm/cache.ts";

/** Creates `path` (a folder with one file) last modified at `time`. */
async function leftover(path: string, time: Date): Promise<void> {
  await Deno.mkdir(path, { recursive: true });
  await Deno.writeTextFile(join(path, "main.k"), "a = 1");
  await Deno.utime(join(path, "main.k"), time, time);
  await Deno.utime(path, time, time);
}

async function names(folder: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(folder))).map((entry) => entry.name).sort();
}

Deno.test("sweepStale removes old debris of killed runs, earlier versions' cache partials included, and nothing else", async () => {
  const home = await Deno.makeTempDir();
  try {
    const now = Date.now();
    const old = new Date(now - STALE_AFTER_MS - 60_000);
    const fresh = new Date(now - 60_000);
    await leftover(join(home, "pkg_0.1.0.0123abcd.partial"), old);
    await leftover(join(home, "pkg_0.2.0.89abcdef.partial"), fresh);
    await leftover(join(home, "pkg_0.1.0"), old);
    await leftover(join(home, "notes.partial"), old);
    await leftover(join(tempRoot(home), "pull-pkg_0.1.0"), old);
    await leftover(join(tempRoot(home), "pull-pkg_0.2.0"), fresh);
    await Deno.writeTextFile(join(tempRoot(home), "x.layer"), "half");
    await Deno.utime(join(tempRoot(home), "x.layer"), old, old);

    await sweepStale(home, now);

    assertEquals(await names(home), [".kpm", "notes.partial", "pkg_0.1.0", "pkg_0.2.0.89abcdef.partial"]);
    assertEquals(await names(tempRoot(home)), ["pull-pkg_0.2.0"]);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
