/**
 * The package cache's layout and its one writer per entry: `HOME/NAME_VERSION` folders, a lock file per
 * entry (`HOME/.kpm/lock/NAME_VERSION.lock`, an OS file lock that a killed process releases), and a work
 * folder per entry (`HOME/.kpm/tmp/pull-NAME_VERSION/`) with stable names, so that an interrupted pull is
 * resumed or cleaned by the next one instead of leaving debris. Every path is checked by containedPath.
 *
 * @module
 */

import { join } from "node:path";
import { containedPath } from "../oci/contained_path.ts";

/** How old an abandoned temporary file or folder must be before any run removes it. */
export const STALE_AFTER_MS = 24 * 60 * 60 * 1000;

/** The cache folder of entry `full` (`NAME_VERSION`, already checked by fullName or checkFullName). */
export function entryDir(home: string, full: string): string {
  return containedPath(home, [full], "cache folder");
}

/** `HOME/.kpm/tmp`: temporary files on the cache's file system, so renames into the cache are atomic. */
export function tempRoot(home: string): string {
  return join(home, ".kpm", "tmp");
}

/**
 * Runs `fn` holding the lock of cache entry `full`, with the entry's work folder. Another process (or call)
 * wanting the same entry waits; the lock of a killed process is released by the OS. The work folder holds
 * only download partials (`.NAME.DIGEST.partial`, resumed by the next downloadBlob to the same name) when
 * `fn` starts or fails, and is removed when `fn` succeeds.
 *
 * @example await withEntryLock(home, "k8s_1.28", async (work) => { … })
 */
export async function withEntryLock<T>(
  home: string,
  full: string,
  fn: (work: string) => Promise<T>,
): Promise<T> {
  const locks = join(home, ".kpm", "lock");
  await Deno.mkdir(locks, { recursive: true });
  const lock = await Deno.open(containedPath(locks, [`${full}.lock`], "lock file"), {
    read: true,
    write: true,
    create: true,
  });
  try {
    await lock.lock(true);
    const work = containedPath(tempRoot(home), [`pull-${full}`], "work folder");
    await Deno.mkdir(work, { recursive: true });
    await keepOnlyPartials(work);
    let value: T;
    try {
      value = await fn(work);
    } catch (error) {
      await keepOnlyPartials(work);
      throw error;
    }
    await Deno.remove(work, { recursive: true });
    return value;
  } finally {
    lock.close();
  }
}

/**
 * Puts the verified folder `fresh` in place as cache folder `dir` (held under the entry's lock): an older
 * copy is first moved into `work`, so readers see the old copy or the new one, never half of either.
 */
export async function replaceEntry(dir: string, fresh: string, work: string): Promise<void> {
  const old = join(work, "old");
  await Deno.remove(old, { recursive: true }).catch(() => {});
  const hadOld = await Deno.rename(dir, old).then(() => true, (error) => {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  });
  await Deno.rename(fresh, dir);
  if (hadOld) await Deno.remove(old, { recursive: true });
}

/**
 * Removes what runs killed long ago left behind: anything in `HOME/.kpm/tmp` (clones, archives, other
 * entries' work folders, and the `*.layer` downloads of earlier kpm versions), and the `NAME_VERSION.*.partial`
 * folders that earlier kpm versions extracted into the cache itself, once its newest modification (its own, or
 * its direct children's) is older than STALE_AFTER_MS. Work in progress is newer than that, so concurrent runs
 * are not disturbed.
 */
export async function sweepStale(home: string, now = Date.now()): Promise<void> {
  const leftovers = [
    ...(await list(tempRoot(home))).map((entry) => ({ folder: tempRoot(home), entry })),
    ...(await list(home)).filter(({ name, isDirectory }) => isDirectory && LEGACY_PARTIAL.test(name))
      .map((entry) => ({ folder: home, entry })),
  ];
  for (const { folder, entry } of leftovers) {
    const path = join(folder, entry.name);
    if (now - await newest(path, entry.isDirectory) > STALE_AFTER_MS) {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    }
  }
}

/** The half-extracted cache folders of kpm versions before the per-entry work folder (`NAME_VER.X.partial`). */
const LEGACY_PARTIAL = /^[^.].*\.[0-9a-f]{8}\.partial$/;

/** Removes everything in `work` but resumable download partials. */
async function keepOnlyPartials(work: string): Promise<void> {
  for (const entry of await list(work)) {
    if (entry.isFile && /^\..+\.partial$/.test(entry.name)) continue;
    await Deno.remove(join(work, entry.name), { recursive: true });
  }
}

async function list(folder: string): Promise<Deno.DirEntry[]> {
  const entries: Deno.DirEntry[] = [];
  try {
    for await (const entry of Deno.readDir(folder)) entries.push(entry);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return entries;
}

/** The newest modification time of `path` and, for a folder, of its direct children (0 when gone). */
async function newest(path: string, isDirectory: boolean): Promise<number> {
  const time = async (p: string) => (await Deno.lstat(p).catch(() => undefined))?.mtime?.getTime() ?? 0;
  let latest = await time(path);
  if (isDirectory) {
    for (const child of await list(path)) latest = Math.max(latest, await time(join(path, child.name)));
  }
  return latest;
}
