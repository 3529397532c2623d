import { assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { editDependency, formatModFile, ModFileError, parseModFile } from "../lib/kpm/modfile.ts";
import { formatLockFile, parseLockFile } from "../lib/kpm/lockfile.ts";
import { parseSource, SourceError } from "../lib/kpm/source.ts";
import { compareVersions, highestSemverTag, ResolutionError, selectVersions } from "../lib/kpm/mvs.ts";
import { packageSum, packPackage, unpackPackage } from "../lib/kpm/package.ts";
import { digestStream } from "../lib/oci/digest.ts";
import { resolveKpmSettings } from "../lib/config/kpm_settings.ts";
import { SettingsError } from "../lib/config/setting.ts";

const fixture = (path: string) => Deno.readTextFile(new URL(`./fixtures/kcl/${path}`, import.meta.url));

Deno.test("kcl.mod written by mod init matches the reference byte for byte", () => {
  assertEquals(
    formatModFile({ name: "MyPkg", edition: "v0.11.0", version: "0.0.1" }),
    '[package]\nname = "MyPkg"\nedition = "v0.11.0"\nversion = "0.0.1"\n',
  );
});

Deno.test("kcl.mod with an aliased oci dependency round-trips in the reference format", async () => {
  const text = await fixture("rename/kcl.mod");
  const mod = parseModFile(text, "rename/kcl.mod");
  assertEquals(mod.dependencies.get("newpkg"), {
    kind: "oci",
    oci: "oci://ghcr.io/kcl-lang/helloworld",
    tag: "0.1.4",
    package: "subhelloworld",
    version: "0.0.1",
  });
  assertEquals(formatModFile(mod.package, mod.dependencies), text);
});

Deno.test("editing a dependency keeps comments, order and other sections", async (t) => {
  const text = await fixture("commented.kcl.mod");
  await t.step("replace in place", () => {
    const out = editDependency(text, "k8s", { kind: "registry", version: "1.29" });
    assertEquals(out, text.replace('k8s = "1.28"', 'k8s = "1.29"'));
  });
  await t.step("add after the last dependency, before the blank line", () => {
    const out = editDependency(text, "konfig", {
      kind: "oci",
      oci: "oci://ghcr.io/kcl-lang/konfig",
      tag: "0.4.0",
    });
    assertEquals(
      out,
      text.replace(
        'tag = "0.1.2" }\n',
        'tag = "0.1.2" }\nkonfig = { oci = "oci://ghcr.io/kcl-lang/konfig", tag = "0.4.0" }\n',
      ),
    );
    assertEquals(parseModFile(out, "x").dependencies.size, 3);
  });
  await t.step("remove", () => {
    assertEquals(editDependency(text, "k8s", undefined), text.replace('k8s = "1.28"\n', ""));
  });
  await t.step("add a section when there is none", () => {
    const bare = formatModFile({ name: "a", edition: "v0.11.0", version: "0.0.1" });
    assertEquals(
      editDependency(bare, "helloworld", { kind: "registry", version: "0.1.2" }),
      `${bare}\n[dependencies]\nhelloworld = "0.1.2"\n`,
    );
  });
});

Deno.test("a broken kcl.mod names file, line and column", () => {
  const error = assertThrows(
    () => parseModFile('[package]\nname = "x"\nversion = \n', "/p/kcl.mod"),
    ModFileError,
  );
  assertEquals(/"\/p\/kcl\.mod:3:\d+"/.test(error.message), true, error.message);
  assertThrows(() => parseModFile('[dependencies]\na = "1"\n', "k"), ModFileError, "no [package]");
  assertThrows(
    () => parseModFile('[package]\nname = "x"\n[dependencies]\na = { oci = "http://x" }\n', "k"),
    ModFileError,
  );
});

Deno.test("a broken kcl.mod or kcl.mod.lock is named by kind, file, line and column", () => {
  const mod = assertThrows(
    () => parseModFile('[package]\nname = "x"\nversion = \n', "/p/kcl.mod"),
    ModFileError,
  );
  assertEquals(/^Invalid kcl\.mod "\/p\/kcl\.mod:3:\d+": [^\n]+$/.test(mod.message), true, mod.message);
  const lock = assertThrows(() => parseLockFile("[dependencies\n", "/p/kcl.mod.lock"), ModFileError);
  assertEquals(
    /^Invalid kcl\.mod\.lock "\/p\/kcl\.mod\.lock:1:\d+": [^\n]+$/.test(lock.message),
    true,
    lock.message,
  );
});

Deno.test("kcl.mod.lock round-trips in the reference layout", async (t) => {
  for (const name of ["rename", "mixed"]) {
    await t.step(name, async () => {
      const text = await fixture(`${name}/kcl.mod.lock`);
      assertEquals(formatLockFile(parseLockFile(text, name)), text);
    });
  }
  assertEquals(formatLockFile(new Map()), "");
});

Deno.test("package sources", async (t) => {
  const defaults = { registry: "ghcr.io", repository: "kcl-lang" };
  const options = { defaults, cwd: "/w", stat: () => undefined };
  const cases: [string, string | undefined, unknown][] = [
    ["k8s:1.28", undefined, {
      kind: "oci",
      registry: "ghcr.io",
      repository: "kcl-lang/k8s",
      spelled: "kcl-lang/k8s",
      tag: "1.28",
    }],
    ["k8s", undefined, {
      kind: "oci",
      registry: "ghcr.io",
      repository: "kcl-lang/k8s",
      spelled: "kcl-lang/k8s",
    }],
    ["MyPkg:v0.1.0", undefined, {
      kind: "oci",
      registry: "ghcr.io",
      repository: "kcl-lang/mypkg",
      spelled: "kcl-lang/MyPkg",
      tag: "v0.1.0",
    }],
    ["oci://localhost:5001/test/MyPkg", "v0.1.0", {
      kind: "oci",
      registry: "localhost:5001",
      repository: "test/mypkg",
      spelled: "test/MyPkg",
      tag: "v0.1.0",
    }],
    ["oci://localhost:5001/test/pkg:1.0", undefined, {
      kind: "oci",
      registry: "localhost:5001",
      repository: "test/pkg",
      spelled: "test/pkg",
      tag: "1.0",
    }],
    ["localhost:5001/test/pkg:2.0", undefined, {
      kind: "oci",
      registry: "localhost:5001",
      repository: "test/pkg",
      spelled: "test/pkg",
      tag: "2.0",
    }],
    ["account/repo:1.0", undefined, {
      kind: "oci",
      registry: "docker.io",
      repository: "account/repo",
      spelled: "account/repo",
      tag: "1.0",
    }],
  ];
  for (const [input, tag, expected] of cases) {
    await t.step(input, () => assertEquals(parseSource(input, { ...options, tag }), expected));
  }
  await t.step("errors", () => {
    assertThrows(() => parseSource("https://x/y", options), SourceError, "only oci://");
    assertThrows(() => parseSource("oci://localhost:5001", options), SourceError);
    assertThrows(() => parseSource("oci://local host/x", options), SourceError);
    assertThrows(() => parseSource("", options), SourceError);
  });
  await t.step("paths and archives", () => {
    const stat = (p: string) =>
      (p === "/w/pkg" ? "dir" : p === "/w/p.tgz" ? "file" : undefined) as "dir" | "file" | undefined;
    assertEquals(parseSource("pkg", { ...options, stat }), { kind: "path", path: "/w/pkg" });
    assertEquals(parseSource("p.tgz", { ...options, stat }), { kind: "archive", path: "/w/p.tgz" });
  });
  await t.step("the lowercase note fires once per call", () => {
    const notes: string[] = [];
    parseSource("MyPkg", { ...options, onLowercase: (from, to) => notes.push(`${from}>${to}`) });
    assertEquals(notes, ["kcl-lang/MyPkg>kcl-lang/mypkg"]);
  });
});

Deno.test("minimal version selection keeps the highest required version", async () => {
  const graph: Record<string, { name: string; version: string }[]> = {
    "a@1.0.0": [{ name: "c", version: "1.1.0" }],
    "b@1.0.0": [{ name: "c", version: "1.3.0" }],
    "c@1.1.0": [],
    "c@1.3.0": [{ name: "d", version: "0.1.0" }],
    "d@0.1.0": [],
  };
  const { selected } = await selectVersions(
    [{ name: "a", version: "1.0.0" }, { name: "b", version: "1.0.0" }],
    (req) => Promise.resolve(graph[`${req.name}@${req.version}`]!),
  );
  assertEquals(Object.fromEntries(selected), { a: "1.0.0", b: "1.0.0", c: "1.3.0", d: "0.1.0" });
  await assertRejects(
    () =>
      selectVersions(
        [{ name: "my-pkg", version: "1" }, { name: "my_pkg", version: "1" }],
        () => Promise.resolve([]),
      ),
    ResolutionError,
    "clash",
  );
  assertEquals(await highestSemverTag(["latest", "0.9.0", "v1.2.0", "1.10.0", "1.2.0-rc.1"]), "1.10.0");
  assertEquals(await compareVersions("1.28", "1.9") > 0, true);
});

Deno.test("package archives are reproducible, safe and checksummed like the reference", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pkg = `${dir}/pkg`;
    await Deno.mkdir(`${pkg}/sub`, { recursive: true });
    await Deno.mkdir(`${pkg}/.git`);
    await Deno.writeTextFile(`${pkg}/kcl.mod`, '[package]\nname = "a"\n');
    await Deno.writeTextFile(`${pkg}/sub/x.k`, "a = 1\n");
    await Deno.writeTextFile(`${pkg}/.git/HEAD`, "ref");
    await Deno.writeTextFile(`${pkg}/old.tar`, "junk");
    // base64(sha256('[package]\nname = "a"\n' + 'a = 1\n')), computed with sha256sum | xxd -r -p | base64
    assertEquals(await packageSum(pkg), "X5w6idHIqBC8vmwnd44CnI8PY7Cb5ReJH13A8GDJR4M=");
    const first = await digestStream(packPackage(pkg));
    await Deno.utime(`${pkg}/sub/x.k`, 1, 1);
    assertEquals(await digestStream(packPackage(pkg)), first);
    await unpackPackage(packPackage(pkg), `${dir}/out`);
    assertEquals(await Deno.readTextFile(`${dir}/out/sub/x.k`), "a = 1\n");
    assertEquals(await packageSum(`${dir}/out`), await packageSum(pkg));
    await assertRejects(() => Deno.stat(`${dir}/out/.git`));
    await assertRejects(() => Deno.stat(`${dir}/out/old.tar`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("settings: flags over env over kpm.json over defaults; nothing is written", async () => {
  const home = await Deno.makeTempDir();
  try {
    const base = await resolveKpmSettings({ KCL_PKG_PATH: home });
    assertEquals([base.registry.value, base.registry.source], ["ghcr.io", "default"]);
    assertEquals([...Deno.readDirSync(home)], [], "resolving the settings creates no kpm.json");
    await Deno.mkdir(`${home}/.kpm/config`, { recursive: true });
    await Deno.writeTextFile(
      `${home}/.kpm/config/kpm.json`,
      JSON.stringify({
        DefaultOciRegistry: "reg.example",
        DefaultOciRepo: "team",
        DefaultOciPlainHttp: true,
      }),
    );
    const file = await resolveKpmSettings({ KCL_PKG_PATH: home });
    assertEquals([file.registry.value, file.registry.source, file.plainHttp.value], [
      "reg.example",
      "kpm.json",
      true,
    ]);
    const env = await resolveKpmSettings(
      { KCL_PKG_PATH: home, KPM_REG: "localhost:5001", KPM_REPO: "", OCI_REG_PLAIN_HTTP: "off" },
    );
    assertEquals([env.registry.value, env.registry.source, env.repository.value, env.plainHttp.value], [
      "localhost:5001",
      "env",
      "team",
      false,
    ]);
    const flag = await resolveKpmSettings({ KCL_PKG_PATH: home, OCI_REG_PLAIN_HTTP: "off" }, {
      plainHttp: true,
    });
    assertEquals(flag.plainHttp, { value: true, source: "flag", origin: "--plain-http" });
    await assertRejects(
      () => resolveKpmSettings({ KCL_PKG_PATH: home, OCI_REG_PLAIN_HTTP: "yes" }),
      SettingsError,
      "OCI_REG_PLAIN_HTTP",
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
