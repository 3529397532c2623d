/**
 * The configuration resolver (lib/config): every setting says where its value came from (flag, environment
 * variable, settings file, default), the plain-HTTP rule, and resolving never writes: registry and artifact
 * commands leave a fresh home as they found it (only `registry login` stores its credentials) and never read
 * kpm.json.
 */

import { join } from "node:path";
import { resolveClientSettings } from "../lib/config/client_settings.ts";
import { concurrencySetting, resolveKpmSettings } from "../lib/config/kpm_settings.ts";
import { timeoutSetting } from "../lib/config/timeout.ts";
import { allowsHttp, usesPlainHttp } from "../lib/config/plain_http.ts";
import type { Setting } from "../lib/config/setting.ts";
import { assert, assertEquals } from "./assert.ts";
import { startEmbeddedRegistry } from "./integration/support/embedded.ts";
import { kpmInProcess } from "./integration/support/kpm_cli.ts";
import { describe, kpmHome } from "./integration/ship_support.ts";

/** The files under `dir`, relative, sorted; [] when it does not exist. */
async function filesUnder(dir: string, prefix = ""): Promise<string[]> {
  const found: string[] = [];
  try {
    for await (const entry of Deno.readDir(join(dir, prefix))) {
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      found.push(...entry.isDirectory ? await filesUnder(dir, path) : [path]);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return found.sort();
}

Deno.test("every setting names its origin: flag, environment variable, settings file or default", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "kpm-config-" });
  const origin = <T>(setting: Setting<T>) => [setting.value, setting.source, setting.origin];
  try {
    await t.step("defaults, the home derived from HOME", async () => {
      const settings = await resolveKpmSettings({ HOME: dir });
      const home = join(dir, ".kcl", "kpm");
      assertEquals(origin(settings.home), [home, "default", "HOME"]);
      assertEquals(origin(settings.registry), ["ghcr.io", "default", "default"]);
      assertEquals(origin(settings.repository), ["kcl-lang", "default", "default"]);
      assertEquals(origin(settings.plainHttp), [false, "default", "default"]);
      assertEquals(origin(settings.compiler), ["kcl", "default", "default"]);
      assertEquals(origin(settings.credentialsFile), [
        join(home, ".kpm", "config", "config.json"),
        "default",
        "default",
      ]);
      assertEquals(origin(settings.dockerConfigFiles), [
        [join(dir, ".docker", "config.json")],
        "default",
        "HOME",
      ]);
      assertEquals(settings.settingsFile, join(home, ".kpm", "config", "kpm.json"));
    });
    const file = join(dir, ".kpm", "config", "kpm.json");
    await Deno.mkdir(join(dir, ".kpm", "config"), { recursive: true });
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        DefaultOciRegistry: "reg.example",
        DefaultOciRepo: "team",
        DefaultOciPlainHttp: true,
      }),
    );
    await t.step("kpm.json, named by its path", async () => {
      const settings = await resolveKpmSettings({ KCL_PKG_PATH: dir });
      assertEquals(origin(settings.home), [dir, "env", "KCL_PKG_PATH"]);
      assertEquals(origin(settings.registry), ["reg.example", "kpm.json", file]);
      assertEquals(origin(settings.repository), ["team", "kpm.json", file]);
      assertEquals(origin(settings.plainHttp), [true, "kpm.json", file]);
    });
    await t.step("environment variables", async () => {
      const env = {
        KCL_PKG_PATH: dir,
        KPM_REG: "localhost:5001",
        KPM_REPO: "test",
        OCI_REG_PLAIN_HTTP: "off",
        DOCKER_CONFIG: join(dir, "docker"),
        KPM_KCL_BIN: "/opt/kcl/bin/kcl",
      };
      const settings = await resolveKpmSettings(env);
      assertEquals(origin(settings.registry), ["localhost:5001", "env", "KPM_REG"]);
      assertEquals(origin(settings.repository), ["test", "env", "KPM_REPO"]);
      assertEquals(origin(settings.plainHttp), [false, "env", "OCI_REG_PLAIN_HTTP"]);
      assertEquals(origin(settings.compiler), ["/opt/kcl/bin/kcl", "env", "KPM_KCL_BIN"]);
      assertEquals(origin(settings.dockerConfigFiles), [
        [join(dir, "docker", "config.json")],
        "env",
        "DOCKER_CONFIG",
      ]);
    });
    await t.step("flags", () => {
      const settings = resolveClientSettings(
        { KCL_PKG_PATH: dir, OCI_REG_PLAIN_HTTP: "off" },
        { plainHttp: true, registryConfig: "/creds.json" },
      );
      assertEquals(origin(settings.plainHttp), [true, "flag", "--plain-http"]);
      assertEquals(origin(settings.credentialsFile), ["/creds.json", "flag", "--registry-config"]);
    });
    await t.step("the timeout and the download concurrency, as typed", () => {
      const env = { KPM_TIMEOUT: "2m", KPM_CONCURRENCY: "4" };
      assertEquals(origin(timeoutSetting(env, "5s")), ["5s", "flag", "--timeout"]);
      assertEquals(origin(timeoutSetting(env)), ["2m", "env", "KPM_TIMEOUT"]);
      assertEquals(origin(timeoutSetting({ KPM_TIMEOUT: "" })), [undefined, "default", "default"]);
      assertEquals(origin(concurrencySetting(env, "2")), ["2", "flag", "--concurrency"]);
      assertEquals(origin(concurrencySetting(env)), ["4", "env", "KPM_CONCURRENCY"]);
      assertEquals(origin(concurrencySetting({})), [undefined, "default", "default"]);
    });
    await t.step("registry commands' settings ignore kpm.json", () => {
      const settings = resolveClientSettings({ KCL_PKG_PATH: dir });
      assertEquals(origin(settings.plainHttp), [false, "default", "default"]);
      assertEquals("registry" in settings, false);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the plain-HTTP rule: flag and env for every registry, kpm.json for the default one", () => {
  const setting = (value: boolean, source: Setting<boolean>["source"]) => ({ value, source, origin: "x" });
  const registry = { value: "reg.example:5000", source: "kpm.json" as const, origin: "x" };
  const cases: [string, Parameters<typeof usesPlainHttp>[0], string, boolean, boolean][] = [
    ["the flag, any registry", { plainHttp: setting(true, "flag") }, "ghcr.io", true, true],
    ["env, any registry", { plainHttp: setting(true, "env") }, "ghcr.io", true, true],
    [
      "kpm.json, the default registry",
      { plainHttp: setting(true, "kpm.json"), registry },
      registry.value,
      true,
      true,
    ],
    [
      "kpm.json, another registry",
      { plainHttp: setting(true, "kpm.json"), registry },
      "ghcr.io",
      false,
      false,
    ],
    [
      "off, a loopback registry (https, then http)",
      { plainHttp: setting(false, "default") },
      "127.0.0.1:5000",
      false,
      true,
    ],
    ["off, a remote registry", { plainHttp: setting(false, "default") }, "ghcr.io", false, false],
  ];
  for (const [name, settings, host, plain, allowed] of cases) {
    assertEquals([usesPlainHttp(settings, host), allowsHttp(settings, host)], [plain, allowed], name);
  }
});

Deno.test("registry and artifact commands create no kpm.json and do not read it", async () => {
  const registry = await startEmbeddedRegistry({ users: [{ username: "ci", password: "secret" }] });
  await using home = await kpmHome();
  const kpmDir = home.env.KCL_PKG_PATH!;
  const kpm = async (...args: string[]) => {
    const result = await kpmInProcess(args, home.dir, home.env);
    assertEquals(result.code, 0, `kpm ${args.join(" ")}: ${describe(result)}`);
    return result;
  };
  try {
    await Deno.writeTextFile(join(home.dir, "hi.txt"), "hello\n");
    await kpm("registry", "login", "-u", "ci", "-p", "secret", registry.host);
    assertEquals(await filesUnder(kpmDir), [".kpm/config/config.json"], "login stores its credentials only");
    await kpm("artifact", "push", `${registry.host}/demo/app:v1`, "hi.txt");
    await kpm("artifact", "pull", `${registry.host}/demo/app:v1`, "-o", "out");
    assertEquals(await Deno.readTextFile(join(home.dir, "out", "hi.txt")), "hello\n");
    await kpm("config", "--json");
    assertEquals(await filesUnder(kpmDir), [".kpm/config/config.json"], "nothing but the credentials");
    // a kpm.json artifact commands would choke on, were they to read it
    await Deno.writeTextFile(join(kpmDir, ".kpm", "config", "kpm.json"), "{ not json");
    const pulled = await kpm("artifact", "pull", `${registry.host}/demo/app:v1`, "-o", "again");
    assert(!pulled.stderr.includes("kpm.json"), pulled.stderr);
    await kpm("registry", "logout", registry.host);
  } finally {
    await registry.close();
  }
});
