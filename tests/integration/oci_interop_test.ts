/**
 * Interop proof of the OCI engine against real peers: the CNCF `distribution` registry (Debian's
 * `docker-registry`) with no auth, htpasswd Basic auth and token auth (our test issuer), and `skopeo` as the
 * other client. kpm runs as a process (main.ts through `deno run`), skopeo reads what kpm pushed and kpm pulls
 * what skopeo pushed, byte for byte.
 */

import { join } from "node:path";
import { digestHex, digestOf } from "../../lib/oci/digest.ts";
import type { ImageManifest } from "../../lib/oci/manifest.ts";
import {
  ANNOTATION_TITLE,
  OCI_EMPTY,
  OCI_LAYER_TAR,
  OCI_MANIFEST,
  UNKNOWN_ARTIFACT,
} from "../../lib/oci/media_types.ts";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { describe, kpmHome, ROOT, runKpm } from "./ship_support.ts";
import { type Distribution, startDistribution } from "./support/distribution.ts";
import { ignoreWithoutPeers, runPeer } from "./support/peers.ts";

const MAIN = join(ROOT, "main.ts");
const ignore = await ignoreWithoutPeers();

function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  return bytes;
}

/**
 * The files pushed in every mode: a text file, a typed JSON file, 300 KiB of binary in a sub-folder, and
 * 17 MiB (over the 16 MiB chunk size, so it goes as one streamed PATCH, after the auth exchange on the POST).
 */
function sampleFiles(): { path: string; type?: string; bytes: Uint8Array }[] {
  return [
    { path: "readme.txt", bytes: new TextEncoder().encode("hello from kpm\n") },
    { path: "values.json", type: "application/json", bytes: new TextEncoder().encode('{"replicas":3}\n') },
    { path: "data/blob.bin", bytes: randomBytes(300 * 1024) },
    { path: "data/big.bin", bytes: randomBytes(17 * 1024 * 1024) },
  ];
}

function creds(registry: Distribution, mode: string): string[] {
  const user = registry.users[0]!;
  return mode === "none" ? [] : ["--creds", `${user.username}:${user.password}`];
}

/** Writes an OCI image layout holding an ORAS-style artifact (empty config, titled tar layers). */
async function writeLayout(dir: string, tag: string, files: { title: string; bytes: Uint8Array }[]) {
  const blobs = join(dir, "blobs", "sha256");
  await Deno.mkdir(blobs, { recursive: true });
  const put = async (bytes: Uint8Array) => {
    const digest = digestOf(bytes);
    await Deno.writeFile(join(blobs, digestHex(digest)), bytes);
    return { digest, size: bytes.byteLength };
  };
  const config = { mediaType: OCI_EMPTY, ...await put(new TextEncoder().encode("{}")) };
  const layers = [];
  for (const file of files) {
    layers.push({
      mediaType: OCI_LAYER_TAR,
      ...await put(file.bytes),
      annotations: { [ANNOTATION_TITLE]: file.title },
    });
  }
  const manifest = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: "application/vnd.example.skopeo.v1",
    config,
    layers,
  }));
  const written = await put(manifest);
  await Deno.writeTextFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await Deno.writeTextFile(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: OCI_MANIFEST,
        ...written,
        annotations: { "org.opencontainers.image.ref.name": tag },
      }],
    }),
  );
  return written.digest;
}

for (const mode of ["none", "htpasswd", "token"] as const) {
  Deno.test({
    name: `interop with distribution (${
      mode === "none" ? "open" : mode
    }): kpm and skopeo read each other's artifacts`,
    ignore,
    fn: async (t) => {
      const registry = await startDistribution({ auth: mode, publicRepositories: ["public/files"] });
      await using home = await kpmHome();
      const work = join(home.dir, "work");
      await Deno.mkdir(join(work, "data"), { recursive: true });
      const kpm = (
        args: string[],
        options: { cwd?: string; env?: Record<string, string>; stdin?: string } = {},
      ) =>
        runKpm(MAIN, args, { cwd: options.cwd ?? work, env: options.env ?? home.env, stdin: options.stdin });
      const host = registry.host;
      const user = registry.users[0]!;
      const files = sampleFiles();
      for (const file of files) await Deno.writeFile(join(work, file.path), file.bytes);
      try {
        if (mode !== "none") {
          await t.step("a wrong password fails with exit 1 and a one-line error", async () => {
            const result = await kpm([
              "registry",
              "login",
              "-u",
              user.username,
              "-p",
              "wrong-password",
              host,
            ]);
            assertEquals(result.code, 1, describe(result));
            // -p warns first, as docker and oras do; then the one error line
            const lines = result.stderr.trimEnd().split("\n").filter((line) => !line.startsWith("WARNING! "));
            assert(lines[0]!.startsWith("error: "), describe(result));
            assert(!result.stderr.includes("    at "), describe(result));
            assertEquals(lines.length, 1, describe(result));
            assert(lines[0]!.includes(`Login to "${host}" as "${user.username}" failed`), describe(result));
            assert(!result.stderr.includes("wrong-password") && !result.stdout.includes("wrong-password"));
            assertEquals(result.stdout, "");
          });
        }

        await t.step("kpm registry login", async () => {
          const result = await kpm(["registry", "login", "-u", user.username, "--password-stdin", host], {
            stdin: `${user.password}\n`,
          });
          assertEquals(result.code, 0, describe(result));
          assertStringIncludes(result.stdout, "Login succeeded");
        });

        let pushedDigest = "";
        await t.step("kpm artifact push, with exactly one token in token mode", async () => {
          const before = registry.tokenRequests();
          const result = await kpm([
            "artifact",
            "push",
            "--json",
            `${host}/kpm/files:v1`,
            ...files.map((f) => f.type ? `${f.path}:${f.type}` : f.path),
          ]);
          assertEquals(result.code, 0, describe(result));
          pushedDigest = (JSON.parse(result.stdout) as { digest: string }).digest;
          if (mode === "token") assertEquals(registry.tokenRequests() - before, 1, "one token for the push");
        });

        await t.step("skopeo inspect --raw sees the manifest with ORAS defaults", async () => {
          const raw = await runPeer("skopeo", [
            "inspect",
            "--raw",
            "--tls-verify=false",
            ...creds(registry, mode),
            `docker://${host}/kpm/files:v1`,
          ]);
          assertEquals(digestOf(raw), pushedDigest);
          const manifest = JSON.parse(raw) as ImageManifest & { artifactType?: string };
          assertEquals(manifest.mediaType, OCI_MANIFEST);
          assertEquals(manifest.artifactType, UNKNOWN_ARTIFACT);
          assertEquals(manifest.config, {
            mediaType: OCI_EMPTY,
            digest: digestOf("{}"),
            size: 2,
            data: "e30=",
          });
          assertEquals(
            manifest.layers.map((l) => [l.mediaType, l.digest, l.size, l.annotations?.[ANNOTATION_TITLE]]),
            files.map((f) => [f.type ?? OCI_LAYER_TAR, digestOf(f.bytes), f.bytes.byteLength, f.path]),
          );
        });

        await t.step("skopeo copy to dir: gets byte-identical blobs", async () => {
          const out = join(home.dir, "skopeo-dir");
          await runPeer("skopeo", [
            "copy",
            "--src-tls-verify=false",
            ...srcCreds(registry, mode),
            `docker://${host}/kpm/files:v1`,
            `dir:${out}`,
          ]);
          for (const file of files) {
            assertEquals(
              await Deno.readFile(join(out, digestHex(digestOf(file.bytes)))),
              file.bytes,
              file.path,
            );
          }
          assertEquals(digestOf(await Deno.readFile(join(out, "manifest.json"))), pushedDigest);
        });

        await t.step("skopeo copy from an oci: layout, kpm artifact pull gets the files", async () => {
          const layout = join(home.dir, "layout");
          const layoutFiles = [
            { title: "from-skopeo.txt", bytes: new TextEncoder().encode("pushed by skopeo\n") },
            { title: "nested/blob.bin", bytes: files[2]!.bytes },
          ];
          const digest = await writeLayout(layout, "v2", layoutFiles);
          await runPeer("skopeo", [
            "copy",
            "--dest-tls-verify=false",
            ...destCreds(registry, mode),
            `oci:${layout}:v2`,
            `docker://${host}/skopeo/files:v2`,
          ]);
          const outDir = join(home.dir, "pulled");
          const result = await kpm(["artifact", "pull", "--json", `${host}/skopeo/files:v2`, "-o", outDir]);
          assertEquals(result.code, 0, describe(result));
          assertEquals((JSON.parse(result.stdout) as { digest: string }).digest, digest);
          for (const file of layoutFiles) {
            assertEquals(await Deno.readFile(join(outDir, file.title)), file.bytes, file.title);
          }
        });

        await t.step("kpm artifact pull of its own push round-trips", async () => {
          const outDir = join(home.dir, "pulled-own");
          const result = await kpm(["artifact", "pull", `${host}/kpm/files:v1`, "-o", outDir, "--allow-all"]);
          assertEquals(result.code, 0, describe(result));
          for (const file of files) assertEquals(await Deno.readFile(join(outDir, file.path)), file.bytes);
        });

        if (mode === "token") await tokenSteps(t, registry, kpm, files);
      } finally {
        await registry.close();
      }
    },
  });
}

function srcCreds(registry: Distribution, mode: string): string[] {
  return creds(registry, mode).map((a) => a === "--creds" ? "--src-creds" : a);
}

function destCreds(registry: Distribution, mode: string): string[] {
  return creds(registry, mode).map((a) => a === "--creds" ? "--dest-creds" : a);
}

type Kpm = (
  args: string[],
  options?: { cwd?: string; env?: Record<string, string>; stdin?: string },
) => ReturnType<typeof runKpm>;

/** Token mode only: anonymous pulls of public repositories, and refresh tokens from a docker config.json. */
async function tokenSteps(
  t: Deno.TestContext,
  registry: Distribution,
  kpm: Kpm,
  files: { path: string; type?: string; bytes: Uint8Array }[],
): Promise<void> {
  const host = registry.host;
  const issuer = registry.issuer!;
  await t.step("anonymous pull of a public repository through a token", async () => {
    const push = await kpm(["artifact", "push", `${host}/public/files:v1`, files[0]!.path]);
    assertEquals(push.code, 0, describe(push));
    await using anonymous = await kpmHome();
    const before = issuer.requests.length;
    const outDir = join(anonymous.dir, "out");
    const result = await kpm(["artifact", "pull", `${host}/public/files:v1`, "-o", outDir], {
      cwd: anonymous.dir,
      env: anonymous.env,
    });
    assertEquals(result.code, 0, describe(result));
    assertEquals(await Deno.readFile(join(outDir, files[0]!.path)), files[0]!.bytes);
    const asked = issuer.requests.slice(before);
    assert(
      asked.length >= 1 && asked.every((r) => r.grant === "anonymous" && r.status === 200),
      JSON.stringify(asked),
    );

    const denied = await kpm(["artifact", "pull", `${host}/kpm/files:v1`, "-o", outDir], {
      cwd: anonymous.dir,
      env: anonymous.env,
    });
    assertEquals(denied.code, 1, describe(denied));
    assert(denied.stderr.startsWith("error: "), describe(denied));
  });

  await t.step(
    "a refresh token (identitytoken in docker config.json) pulls through the OAuth2 POST",
    async () => {
      const user = registry.users[0]!;
      const response = await fetch(issuer.realm, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "password",
          username: user.username,
          password: user.password,
          service: issuer.service,
          scope: "",
          client_id: "docker",
          access_type: "offline",
        }),
      });
      assertEquals(response.status, 200);
      const { refresh_token: refreshToken } = await response.json() as { refresh_token: string };
      assert(refreshToken);
      await using docker = await kpmHome();
      await Deno.mkdir(docker.env.DOCKER_CONFIG!, { recursive: true });
      await Deno.writeTextFile(
        join(docker.env.DOCKER_CONFIG!, "config.json"),
        JSON.stringify({
          auths: { [host]: { auth: btoa(`${user.username}:`), identitytoken: refreshToken } },
        }),
      );
      const before = issuer.requests.length;
      const outDir = join(docker.dir, "out");
      const result = await kpm(["artifact", "pull", `${host}/kpm/files:v1`, "-o", outDir], {
        cwd: docker.dir,
        env: docker.env,
      });
      assertEquals(result.code, 0, describe(result));
      for (const file of files) assertEquals(await Deno.readFile(join(outDir, file.path)), file.bytes);
      const asked = issuer.requests.slice(before);
      assert(
        asked.some((r) => r.method === "POST" && r.grant === "refresh_token" && r.subject === user.username),
        JSON.stringify(asked),
      );
      assert(!result.stderr.includes(refreshToken) && !result.stdout.includes(refreshToken));
    },
  );
}
