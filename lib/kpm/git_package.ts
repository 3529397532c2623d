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
import { packageSum } from "./package.ts";

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

async function git(args: string[], options: { cwd?: string; bin: string; what: string }): Promise<void> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(options.bin, {
      args,
      cwd: options.cwd,
      env: { GIT_TERMINAL_PROMPT: "0" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new PackageError(`Cannot ${options.what}: "${options.bin}" is not installed`);
    }
    throw new PackageError(`Cannot ${options.what}: ${(error as Error).message}`);
  }
  if (!out.success) {
    const reason = new TextDecoder().decode(out.stderr).trim().split("\n").pop() || `exit ${out.code}`;
    throw new PackageError(`Cannot ${options.what}: ${reason.replace(/^fatal: /, "")}`);
  }
}

/**
 * Clones a git package into the cache, replacing a cached copy whose content differs, and checks it against
 * `expectedSum` (from kcl.mod.lock).
 *
 * @param options `home` the cache, `gitBin` the git command (default "git")
 * @throws {PackageError} when git is missing, the clone fails, there is no kcl.mod, or the sum does not match
 */
export async function fetchGitPackage(
  source: GitSource,
  options: { home: string; expectedSum?: string; gitBin?: string },
): Promise<CachedGitPackage> {
  const bin = options.gitBin ?? "git";
  const ref = gitRef(source);
  const what = `clone "${source.url}" at "${ref}"`;
  const tempRoot = join(options.home, ".kpm", "tmp");
  await Deno.mkdir(tempRoot, { recursive: true });
  const temp = join(tempRoot, `git-${crypto.randomUUID().slice(0, 8)}`);
  try {
    if (source.commit) {
      await git(["clone", "--quiet", "--no-checkout", source.url, temp], { bin, what });
      await git(["checkout", "--quiet", source.commit], { bin, what, cwd: temp });
    } else {
      const branch = source.tag ?? source.branch;
      await git(
        ["clone", "--quiet", "--depth", "1", ...(branch ? ["--branch", branch] : []), source.url, temp],
        { bin, what },
      );
    }
    await Deno.remove(join(temp, ".git"), { recursive: true });
    const mod = await readModFile(temp);
    const name = mod.package.name;
    const dir = join(options.home, `${name}_${ref}`);
    const sum = await packageSum(temp);
    if (options.expectedSum && sum !== options.expectedSum) {
      throw new PackageError(
        `Cannot use package "${source.url}" at "${ref}": its checksum is "${sum}" but kcl.mod.lock says "${options.expectedSum}", so kpm is refusing it`,
      );
    }
    const existing = await packageSum(dir).catch(() => undefined);
    if (existing !== sum) {
      const old = `${dir}.${crypto.randomUUID().slice(0, 8)}.old`;
      if (existing !== undefined) await Deno.rename(dir, old);
      await Deno.rename(temp, dir);
      await Deno.remove(old, { recursive: true }).catch(() => {});
    }
    return { name, version: ref, dir, sum };
  } finally {
    await Deno.remove(temp, { recursive: true }).catch(() => {});
  }
}
