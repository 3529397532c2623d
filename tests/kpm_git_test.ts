/**
 * Git dependencies (`{ git = URL, tag | commit | branch }`) through main.ts, against a local repository over
 * file:// (no network): mod add --git, the lock entry, run with -E, the offline lock, a branch that moved, a lock
 * that does not match, and a missing repository.
 */

import { join } from "node:path";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./assert.ts";
import { fetchGitPackage } from "../lib/kpm/git_package.ts";
import { PackageError } from "../lib/kpm/errors.ts";
import { readLockFile } from "../lib/kpm/lockfile.ts";
import { ModFileError, readModFile } from "../lib/kpm/modfile.ts";
import { git, hasGit } from "./git_support.ts";
import { describe, kpmHome, ROOT, runKpm } from "./integration/ship_support.ts";

const MAIN = join(ROOT, "main.ts");

Deno.test(
  { name: "git dependencies: add, lock, run, offline, moved branch, mismatch", ignore: !hasGit },
  async (t) => {
    await using home = await kpmHome();
    const repo = join(home.dir, "gitlib");
    await Deno.mkdir(repo);
    await git(repo, "init", "--quiet");
    await Deno.writeTextFile(join(repo, "kcl.mod"), '[package]\nname = "gitlib"\nversion = "0.2.0"\n');
    await Deno.writeTextFile(join(repo, "main.k"), "v = 1\n");
    await git(repo, "add", ".");
    await git(repo, "commit", "--quiet", "-m", "one");
    await git(repo, "tag", "v0.2.0");
    const first = await git(repo, "rev-parse", "HEAD");
    await Deno.writeTextFile(join(repo, "main.k"), "v = 2\n");
    await git(repo, "commit", "--quiet", "-am", "two");
    const url = `file://${repo}`;

    const log = join(home.dir, "kcl.log");
    const compiler = join(home.dir, "kcl");
    await Deno.writeTextFile(compiler, `#!/bin/sh\necho "$*" >> '${log}'\n`);
    await Deno.chmod(compiler, 0o755);
    const kpm = (args: string[], cwd: string) =>
      runKpm(MAIN, args, { cwd, env: { ...home.env, KPM_KCL_BIN: compiler } });
    const ok = async (args: string[], cwd: string) => {
      const result = await kpm(args, cwd);
      assertEquals(result.code, 0, `kpm ${args.join(" ")}: ${describe(result)}`);
      return result;
    };
    const cache = home.env.KCL_PKG_PATH!;
    const app = join(home.dir, "app");
    await ok(["mod", "init", "app"], home.dir);

    await t.step("mod add --git URL --tag writes the git form and locks url, git_tag and sum", async () => {
      await ok(["mod", "add", "--git", url, "--tag", "v0.2.0"], app);
      assertStringIncludes(
        await Deno.readTextFile(join(app, "kcl.mod")),
        `[dependencies]\ngitlib = { git = "${url}", tag = "v0.2.0" }\n`,
      );
      const lock = await Deno.readTextFile(join(app, "kcl.mod.lock"));
      assertStringIncludes(
        lock,
        '  [dependencies.gitlib]\n    name = "gitlib"\n    full_name = "gitlib_v0.2.0"\n    version = "v0.2.0"\n',
      );
      assertStringIncludes(lock, `    url = "${url}"\n    git_tag = "v0.2.0"\n`);
      assertEquals(await Deno.readTextFile(join(cache, "gitlib_v0.2.0", "main.k")), "v = 1\n");
      await Deno.stat(join(cache, "gitlib_v0.2.0", ".git")).then(
        () => assert(false, ".git is not cached"),
        () => {},
      );
    });

    await t.step("run passes it with -E, and works offline from the lock once cached", async () => {
      await ok(["run"], app);
      await Deno.rename(repo, `${repo}.away`);
      await ok(["run"], app);
      await Deno.rename(`${repo}.away`, repo);
      assertEquals(
        await Deno.readTextFile(log),
        `run -E gitlib=${join(cache, "gitlib_v0.2.0")}\n`.repeat(2),
      );
    });

    await t.step("commit and branch forms", async () => {
      const cases: [string, string, string][] = [["--commit", first, "v = 1\n"], [
        "--branch",
        "main",
        "v = 2\n",
      ]];
      for (const [flag, ref, content] of cases) {
        const dir = join(home.dir, `app-${flag.slice(2)}`);
        await ok(["mod", "init", `app-${flag.slice(2)}`], home.dir);
        await ok(["mod", "add", "--git", url, flag, ref], dir);
        assertEquals(await Deno.readTextFile(join(cache, `gitlib_${ref}`, "main.k")), content);
        assertStringIncludes(
          await Deno.readTextFile(join(dir, "kcl.mod.lock")),
          `${flag.slice(2)} = "${ref}"`,
        );
      }
    });

    await t.step("a lock that does not match the repository is refused; mod update re-locks", async () => {
      const dir = join(home.dir, "app-branch");
      await Deno.writeTextFile(join(repo, "main.k"), "v = 3\n");
      await git(repo, "commit", "--quiet", "-am", "three");
      await ok(["run"], dir); // the cached copy still matches the lock
      await Deno.remove(join(cache, "gitlib_main"), { recursive: true });
      const refused = await kpm(["run"], dir);
      assertEquals(refused.code, 1, describe(refused));
      assertStringIncludes(refused.stderr, "refusing");
      await ok(["mod", "update"], dir);
      assertEquals(await Deno.readTextFile(join(cache, "gitlib_main", "main.k")), "v = 3\n");
    });

    await t.step("a repository that is not there is one error line naming it", async () => {
      const result = await kpm(["mod", "add", "--git", `file://${home.dir}/nothere`, "--tag", "v1"], app);
      assertEquals(result.code, 1, describe(result));
      assertStringIncludes(result.stderr, `Cannot clone "file://${home.dir}/nothere" at "v1"`);
    });
  },
);

Deno.test("a git command that is not installed is named, with the clone it was for", async () => {
  const home = await Deno.makeTempDir();
  try {
    const error = await assertRejects(
      () => fetchGitPackage({ url: "https://example.invalid/x.git" }, { home, gitBin: join(home, "no-git") }),
      PackageError,
    );
    assertEquals(
      error.message,
      `Cannot clone "https://example.invalid/x.git" at "HEAD": "${join(home, "no-git")}" is not installed`,
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test(
  { name: "a hostile kcl.mod (a link to a device, or over 1 MiB) is refused with one line", ignore: !hasGit },
  async () => {
    const home = await Deno.makeTempDir();
    try {
      const repo = join(home, "hostile");
      await Deno.mkdir(repo);
      await git(repo, "init", "--quiet");
      await Deno.symlink("/dev/zero", join(repo, "kcl.mod"));
      await git(repo, "add", ".");
      await git(repo, "commit", "--quiet", "-m", "endless kcl.mod");
      const error = await assertRejects(
        () => fetchGitPackage({ url: `file://${repo}` }, { home: join(home, "cache") }),
        ModFileError,
      );
      assertStringIncludes(error.message, "kcl.mod");
      assertStringIncludes(error.message, "not a regular file");

      const big = join(home, "big");
      await Deno.mkdir(big);
      const padding = `# ${"x".repeat(1024 * 1024)}\n`;
      await Deno.writeTextFile(join(big, "kcl.mod"), `${padding}[package]\nname = "big"\n`);
      await Deno.writeTextFile(join(big, "kcl.mod.lock"), padding);
      for (const read of [() => readModFile(big), () => readLockFile(big)]) {
        const refused = await assertRejects(read, ModFileError);
        assertStringIncludes(refused.message, `over the ${1024 * 1024} byte limit`);
      }
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
);
