import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { join } from "node:path";
import {
  build,
  compileArgs,
  compileFailure,
  outputName,
  PERMISSIONS,
  plan,
  readVersion,
  TARGETS,
  writeChecksums,
} from "../scripts/compile_all.ts";
import { VERSION } from "../lib/version.ts";

const root = new URL("..", import.meta.url);

Deno.test("compile script builds the five release targets with versioned names", () => {
  const built = plan(["--all"], "1.2.3");
  assertEquals(built.checksums, true);
  assertEquals(built.builds.map((b) => b.output), [
    join("dist", "kpm-1.2.3-x86_64-unknown-linux-gnu"),
    join("dist", "kpm-1.2.3-aarch64-unknown-linux-gnu"),
    join("dist", "kpm-1.2.3-x86_64-apple-darwin"),
    join("dist", "kpm-1.2.3-aarch64-apple-darwin"),
    join("dist", "kpm-1.2.3-x86_64-pc-windows-msvc.exe"),
  ]);
  assertEquals(built.builds.map((b) => b.target), [...TARGETS]);
  assertEquals(outputName("0.1.0", "x86_64-pc-windows-msvc"), "kpm-0.1.0-x86_64-pc-windows-msvc.exe");
});

Deno.test("compile script: --host builds dist/kpm without a target and without checksums", () => {
  const built = plan(["--host", "--out", "out"], "1.2.3");
  assertEquals(built.checksums, false);
  assertEquals(built.builds.length, 1);
  assertEquals(built.builds[0]!.target, undefined);
  assertMatch(built.builds[0]!.output, /^out[/\\]kpm(\.exe)?$/);
});

Deno.test("compile script: --target selects targets and rejects unknown ones", () => {
  const built = plan(["--target", "aarch64-apple-darwin"], "1.2.3");
  assertEquals(built.builds, [{
    target: "aarch64-apple-darwin",
    output: join("dist", "kpm-1.2.3-aarch64-apple-darwin"),
  }]);
  assertThrows(() => plan(["--target", "riscv64-linux"], "1"), Error, 'Unknown target "riscv64-linux"');
  assertThrows(() => plan(["--fast"], "1"), Error, 'Unknown argument "--fast"');
});

Deno.test("compile script passes the narrowest permissions, the same for host and cross builds", () => {
  assertEquals(PERMISSIONS, ["--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-run"]);
  assertEquals(compileArgs("dist/kpm"), ["compile", ...PERMISSIONS, "--output", "dist/kpm", "main.ts"]);
  assertEquals(compileArgs("dist/k.exe", { target: "x86_64-pc-windows-msvc" }), [
    "compile",
    ...PERMISSIONS,
    "--target",
    "x86_64-pc-windows-msvc",
    "--output",
    "dist/k.exe",
    "main.ts",
  ]);
  assert(!compileArgs("x").includes("-A") && !compileArgs("x").includes("--allow-all"));
});

Deno.test("compile script's permissions cover what the code uses: no system-information APIs", async () => {
  const sysApis =
    /Deno\.(osRelease|osUptime|hostname|loadavg|systemMemoryInfo|networkInterfaces|uid|gid)\b|node:os/;
  const files: string[] = [fromRoot("main.ts")];
  for await (const path of walk(fromRoot("lib"))) files.push(path);
  for (const path of files) {
    assert(!sysApis.test(await Deno.readTextFile(path)), `${path} uses a system API needing --allow-sys`);
  }
});

Deno.test("compile script writes SHA256SUMS in sha256sum format", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kpm-compile-test-" });
  try {
    await Deno.writeTextFile(join(dir, "kpm-b"), "abc");
    await Deno.writeFile(join(dir, "kpm-a.exe"), new Uint8Array());
    const text = await writeChecksums(dir, ["kpm-b", "kpm-a.exe"]);
    assertEquals(
      text,
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  kpm-a.exe\n" +
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  kpm-b\n",
    );
    assertEquals(await Deno.readTextFile(join(dir, "SHA256SUMS")), text);
    const check = await new Deno.Command("sha256sum", {
      args: ["-c", "SHA256SUMS"],
      cwd: dir,
      stdout: "null",
    })
      .output().catch(() => undefined);
    if (check) assert(check.success, "sha256sum -c accepts the file");
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["SHA256SUMS", "kpm-a.exe", "kpm-b"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compile script turns an unreachable denort download into one line", () => {
  const stderr = "\x1b[0m\x1b[32mCompile\x1b[0m main.ts to dist/kpm\n" +
    "\x1b[0m\x1b[32mDownload\x1b[0m https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip\n" +
    "\x1b[0m\x1b[1m\x1b[31merror\x1b[0m: Writing deno compile executable to temporary file 'dist/kpm.tmp-1'\n\n" +
    "Caused by:\n    0: Setting up base binary.\n" +
    "    1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip):" +
    " client error (Connect): dns error: failed to lookup address information: Name or service not known\n" +
    "    2: client error (Connect)\n";
  const line = compileFailure(stderr, "x86_64-unknown-linux-gnu");
  assert(!line.includes("\n"));
  assertEquals(
    line,
    'Cannot compile kpm for "x86_64-unknown-linux-gnu": deno could not download its runtime from ' +
      '"https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip" (client error (Connect): dns ' +
      "error: failed to lookup address information: Name or service not known); build where dl.deno.land is " +
      "reachable or set DENORT_BIN to a local denort",
  );
  assertEquals(
    compileFailure('\x1b[31merror\x1b[0m: Module not found "file:///x/main.ts".\n', "aarch64-apple-darwin"),
    'Cannot compile kpm for "aarch64-apple-darwin": Module not found "file:///x/main.ts".',
  );
});

Deno.test("compile script stops at the first failing compile with its one-line message", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kpm-compile-test-" });
  try {
    // A stand-in for deno that fails the way an unreachable dl.deno.land does, without touching the network.
    const fake = join(dir, "fake-deno.sh");
    await Deno.writeTextFile(
      fake,
      "#!/bin/sh\necho 'Download https://dl.deno.land/release/v9/denort-x.zip' >&2\n" +
        "echo '    0: Setting up base binary.' >&2\nexit 1\n",
    );
    await Deno.chmod(fake, 0o755);
    const out = join(dir, "dist");
    await assertRejects(
      () => build(plan(["--all", "--out", out], "1.0.0"), { deno: fake }),
      Error,
      'Cannot compile kpm for "x86_64-unknown-linux-gnu": deno could not download its runtime',
    );
    assertEquals([...Deno.readDirSync(out)], [], "no SHA256SUMS after a failure");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compile script reads the version from deno.json, which lib/version.ts repeats", async () => {
  assertEquals(await readVersion(fromRoot("deno.json")), VERSION);
});

Deno.test("deno tasks compile and compile:all both go through the script", async () => {
  const config = JSON.parse(await Deno.readTextFile(fromRoot("deno.json"))) as {
    tasks: Record<string, string>;
  };
  assertMatch(config.tasks.compile ?? "", /scripts\/compile_all\.ts --host$/);
  assertMatch(config.tasks["compile:all"] ?? "", /scripts\/compile_all\.ts --all$/);
});

function assertMatch(text: string, pattern: RegExp): void {
  assert(pattern.test(text), `${JSON.stringify(text)} does not match ${pattern}`);
}

function fromRoot(path: string): string {
  return new URL(path, root).pathname;
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* walk(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}
