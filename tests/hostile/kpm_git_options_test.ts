/**
 * The attacker wrote a kcl.mod (or a git repository it points to): git URLs and references starting with "-"
 * must never reach git as options, a repository's package name must not name a folder outside the cache, a
 * symlink out of the repository must not be read, and files the checksum skips must not enter the cache from
 * a clone. Local repositories over file://.
 */

import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { git, hasGit } from "../git_support.ts";
import { describe, kpmHome, ROOT, runKpm } from "../integration/ship_support.ts";
import { tree } from "../tar_builder.ts";

const MAIN = join(ROOT, "main.ts");

/** Makes a git repository at `dir` holding `files`, tagged v1. */
async function repository(dir: string, files: Record<string, string>): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  await git(dir, "init", "--quiet");
  for (const [name, text] of Object.entries(files)) {
    await Deno.mkdir(join(dir, name, ".."), { recursive: true });
    await Deno.writeTextFile(join(dir, name), text);
  }
  await git(dir, "add", ".");
  await git(dir, "commit", "--quiet", "-m", "one");
  await git(dir, "tag", "v1");
  return `file://${dir}`;
}

Deno.test(
  { name: "git sources cannot inject git options or leave the cache", ignore: !hasGit },
  async (t) => {
    await using home = await kpmHome();
    const marker = join(home.dir, "owned");
    const victim = join(home.dir, "victim");
    await Deno.mkdir(victim);
    await Deno.writeTextFile(join(victim, "precious.txt"), "keep me");
    const good = await repository(join(home.dir, "good"), {
      "kcl.mod": '[package]\nname = "good"\nversion = "0.1.0"\n',
      "main.k": "a = 1\n",
      "evil.git.k": "a = 'owned'\n",
      ".github/x.k": "b = 'owned'\n",
    });
    const kpm = (args: string[], cwd: string) => runKpm(MAIN, args, { cwd, env: home.env });
    const app = join(home.dir, "app");
    assertEquals((await kpm(["mod", "init", "app"], home.dir)).code, 0);
    const inject = `--upload-pack=touch ${marker}`;
    const cases: [string, string, string][] = [
      ["a URL that is an option", `{ git = "${inject}", tag = "v1" }`, `Invalid git URL "${inject}"`],
      [
        "a branch that is an option",
        `{ git = "${good}", branch = "${inject}" }`,
        `Invalid git branch "${inject}"`,
      ],
      ["a tag that is an option", `{ git = "${good}", tag = "-c" }`, 'Invalid git tag "-c"'],
      [
        "a commit that is an option",
        `{ git = "${good}", commit = "--orphan=x" }`,
        'Invalid git commit "--orphan=x"',
      ],
    ];
    for (const [title, spec, says] of cases) {
      await t.step(`kcl.mod with ${title} is refused`, async () => {
        await Deno.writeTextFile(
          join(app, "kcl.mod"),
          `[package]\nname = "app"\nversion = "0.0.1"\n\n[dependencies]\ndep = ${spec}\n`,
        );
        const result = await kpm(["mod", "update"], app);
        assertEquals(result.code, 1, describe(result));
        assertStringIncludes(result.stderr, `error: ${says}`);
        assert(!(await Deno.stat(marker).then(() => true, () => false)), "git ran the injected command");
      });
    }
    await Deno.writeTextFile(join(app, "kcl.mod"), '[package]\nname = "app"\nversion = "0.0.1"\n');

    await t.step("mod add --git=-… is refused", async () => {
      const result = await kpm(["mod", "add", `--git=${inject}`, "--tag", "v1"], app);
      assertEquals(result.code, 1, describe(result));
      assertStringIncludes(result.stderr, `Invalid git URL "${inject}"`);
    });

    await t.step("a repository whose kcl.mod names a folder outside the cache is refused", async () => {
      const evil = await repository(join(home.dir, "evil"), {
        "kcl.mod": '[package]\nname = "../../victim"\nversion = "0.1.0"\n',
      });
      const result = await kpm(["mod", "add", "--git", evil, "--tag", "v1"], app);
      assertEquals(result.code, 1, describe(result));
      assertStringIncludes(result.stderr, 'its name "../../victim" is not a KCL package name');
      assertEquals(await tree(victim), ["precious.txt"]);
    });

    await t.step("a repository with a symlink out of it is refused", async () => {
      const dir = join(home.dir, "linky");
      const linky = await repository(dir, { "kcl.mod": '[package]\nname = "linky"\nversion = "0.1.0"\n' });
      await Deno.symlink(join(victim, "precious.txt"), join(dir, "leak.k"));
      await git(dir, "add", ".");
      await git(dir, "commit", "--quiet", "-m", "link");
      await git(dir, "tag", "v2");
      const result = await kpm(["mod", "add", "--git", linky, "--tag", "v2"], app);
      assertEquals(result.code, 1, describe(result));
      assertStringIncludes(result.stderr, 'leak.k": it points outside the package');
      assertEquals(
        await tree(home.env.KCL_PKG_PATH!).then((all) => all.filter((p) => p.startsWith("linky"))),
        [],
      );
    });

    await t.step("files the checksum skips do not enter the cache from a clone", async () => {
      const result = await kpm(["mod", "add", "--git", good, "--tag", "v1"], app);
      assertEquals(result.code, 0, describe(result));
      assertEquals(await tree(join(home.env.KCL_PKG_PATH!, "good_v1")), ["kcl.mod", "main.k"]);
    });
  },
);
