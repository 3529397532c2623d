/**
 * KCL packages from git repositories (`{ git = URL, tag | commit | branch }` in kcl.mod): cloned with the
 * `git` command into a temporary folder, stripped of `.git`, and renamed into the cache as
 * `HOME/NAME_REF`, with the reference's checksum verified against the lock.
 *
 * @module
 */

import { join } from "node:path";
import { PackageError } from "./errors.ts";
import { readModFile } from "./modfile.ts";
import { entryDir, replaceEntry, sweepStale, tempRoot, withEntryLock } from "./cache.ts";
import { type GitOptions, runGit } from "./git_command.ts";
import { fullName } from "./names.ts";
import { packageSum, removeUncovered } from "./package.ts";

/** A git dependency: the repository and at most one of tag, commit or branch. */
export interface GitSource {
  /** The repository URL. */
  url: string;
  /** A tag to check out. */
  tag?: string;
  /** A commit to check out. */
  commit?: string;
  /** A branch to check out. */
  branch?: string;
}

/** A git package in the cache. */
export interface CachedGitPackage {
  /** kcl.mod's package name. */
  name: string;
  /** The git reference, as the reference kpm versions git dependencies (tag, else commit, else branch). */
  version: string;
  dir: string;
  sum: string;
}

/** The reference a git source asks for, or "HEAD" for the default branch. */
export function gitRef(source: GitSource): string {
  return source.tag ?? source.commit ?? source.branch ?? "HEAD";
}

/**
 * Refuses a git URL or reference that git would read as an option (a leading `-`), or that holds control
 * characters or spaces; a commit must be hexadecimal.
 *
 * @throws {PackageError} naming the value
 */
export function checkGitSource(source: GitSource): void {
  const bad = (what: string, value: string, why: string): never => {
    throw new PackageError(`Invalid git ${what} ${JSON.stringify(value)}: ${why}`);
  };
  // deno-lint-ignore no-control-regex
  if (source.url === "" || source.url.startsWith("-") || /[\x00-\x20\x7f]/.test(source.url)) {
    bad("URL", source.url, 'it is empty, starts with "-" or holds spaces or control characters');
  }
  for (const [what, value] of [["tag", source.tag], ["branch", source.branch]] as const) {
    if (value !== undefined && (!GIT_REF.test(value) || value.includes(".."))) {
      bad(what, value, 'use letters, digits, "_", ".", "+", "-" and "/", not starting with "-", "." or "/"');
    }
  }
  if (source.commit !== undefined && !/^[0-9a-fA-F]{4,64}$/.test(source.commit)) {
    bad("commit", source.commit, "expected a hexadecimal commit id");
  }
}

/** What kpm accepts as a git tag or branch name (a subset of git's own rules). */
const GIT_REF = /^[A-Za-z0-9_][A-Za-z0-9_.+\/-]*$/;

/**
 * Clones a git package into the cache, replacing a cached copy whose content differs, and checks it against
 * `expectedSum` (from kcl.mod.lock). Files the checksum does not cover are removed before the copy enters the
 * cache; the cache folder `NAME_REF` is checked by fullName and written under the entry's lock.
 *
 * @param options `home` the cache; how git runs (GitOptions: its idle timeout, a signal that stops it)
 * @throws {PackageError} when git is missing, the source is invalid, the clone fails or stalls, there is no
 *   kcl.mod, or the sum does not match; the signal's reason when it aborts (no clone is left behind)
 */
export async function fetchGitPackage(
  source: GitSource,
  options: GitOptions & { home: string; expectedSum?: string },
): Promise<CachedGitPackage> {
  checkGitSource(source);
  const ref = gitRef(source);
  const git = { ...options, what: `clone ${JSON.stringify(source.url)} at ${JSON.stringify(ref)}` };
  await sweepStale(options.home);
  await Deno.mkdir(tempRoot(options.home), { recursive: true });
  const temp = join(tempRoot(options.home), `git-${crypto.randomUUID().slice(0, 8)}`);
  try {
    if (source.commit) {
      await runGit(["clone", "--quiet", "--progress", "--no-checkout", "--", source.url, temp], git);
      await runGit(["checkout", "--quiet", "--progress", "--detach", source.commit, "--"], {
        ...git,
        cwd: temp,
      });
    } else {
      const branch = source.tag ?? source.branch;
      await runGit(
        [
          "clone",
          "--quiet",
          "--progress",
          "--depth",
          "1",
          ...(branch ? [`--branch=${branch}`] : []),
          "--",
          source.url,
          temp,
        ],
        git,
      );
    }
    await removeUncovered(temp);
    const mod = await readModFile(temp);
    const name = mod.package.name;
    const full = fullName(name, ref, `${source.url}@${ref}`);
    const dir = entryDir(options.home, full);
    const sum = await packageSum(temp);
    if (options.expectedSum && sum !== options.expectedSum) {
      throw new PackageError(
        `Cannot use package "${source.url}" at "${ref}": its checksum is "${sum}" but kcl.mod.lock says "${options.expectedSum}", so kpm is refusing it`,
      );
    }
    await withEntryLock(options.home, full, async (work) => {
      if (await packageSum(dir).catch(() => undefined) !== sum) await replaceEntry(dir, temp, work);
    });
    return { name, version: ref, dir, sum };
  } finally {
    await Deno.remove(temp, { recursive: true }).catch(() => {});
  }
}
