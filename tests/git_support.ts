/**
 * Local git repositories for tests: run git with a fixed identity and default branch, and whether git is
 * installed at all.
 *
 * @module
 */

/** Runs `git ARGS` in `cwd` (identity t <t@example.com>, default branch main) and returns its trimmed stdout. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("git", {
    args: ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main", ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).trim();
}

/** Whether a git command is installed. */
export const hasGit: boolean = await new Deno.Command("git", {
  args: ["--version"],
  stdout: "null",
  stderr: "null",
}).output().then((out) => out.success, () => false);
