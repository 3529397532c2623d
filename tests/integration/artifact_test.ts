/**
 * `kpm artifact …` against real registries (the CNCF distribution and, when present, kpm's embedded
 * registry) and OCI layout folders checked with skopeo: push/pull of files and folders, annotation files,
 * several tags, copy registry↔layout and registry↔registry (cross-repo mount, referrers), tag, tags (all
 * pages), manifest, blob, attach and discover.
 */

import { join } from "node:path";
import { RegistryClient } from "../../lib/oci/client.ts";
import { digestOf } from "../../lib/oci/digest.ts";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { availableRegistries } from "./chart_fixture.ts";
import { kpmInProcess as kpm } from "./support/kpm_cli.ts";
import { ignoreWithoutPeers } from "./support/peers.ts";
import { describe, kpmHome, ROOT, runKpm } from "./ship_support.ts";
import { Repository } from "../../lib/oci/repository.ts";

/** Skip the skopeo steps outside CI when skopeo is missing; under CI=true they run and fail. */
const SKIP_SKOPEO = await ignoreWithoutPeers(["skopeo"]);

async function skopeo(args: string[]): Promise<string> {
  const out = await new Deno.Command("skopeo", {
    args: ["--insecure-policy", ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`skopeo ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

const IMAGE_CONFIG = JSON.stringify({
  architecture: "amd64",
  os: "linux",
  rootfs: { type: "layers", diff_ids: [] },
  config: {},
});

for (const [label, start, peers] of availableRegistries()) {
  Deno.test(
    `artifact commands against the ${label}`,
    { ignore: await ignoreWithoutPeers(peers) },
    async (t) => {
      const registry = await start();
      await using home = await kpmHome();
      const work = join(home.dir, "work");
      await Deno.mkdir(join(work, "conf", "sub"), { recursive: true });
      await Deno.writeTextFile(join(work, "hi.txt"), "hello\n");
      await Deno.writeTextFile(join(work, "conf", "app.yaml"), "replicas: 2\n");
      await Deno.writeTextFile(join(work, "conf", "sub", "x.k"), "x = 1\n");
      await Deno.writeTextFile(
        join(work, "ann.json"),
        JSON.stringify({
          $manifest: { "org.example.by": "file" },
          $config: { c: "1" },
          conf: { folder: "yes" },
        }),
      );
      await Deno.writeTextFile(join(work, "config.json"), IMAGE_CONFIG);
      const run = (...args: string[]) => kpm(args, work, home.env);
      const repo = `${registry.host}/demo/app`;
      try {
        let digest = "";
        await t.step("push files and a folder under two tags with an annotation file", async () => {
          const out = await run(
            "artifact",
            "push",
            `${repo}:v1,latest`,
            "hi.txt:text/plain",
            "conf",
            "--annotation-file",
            "ann.json",
            "-a",
            "team=kcl",
            "--json",
          );
          assertEquals(out.code, 0, out.stderr);
          const json = JSON.parse(out.stdout);
          digest = json.digest;
          assertEquals(json.tags, ["v1", "latest"]);
          const manifest = JSON.parse((await run("artifact", "manifest", `${repo}:latest`)).stdout);
          assertEquals(manifest.artifactType, "application/vnd.unknown.artifact.v1");
          assertEquals(manifest.config.annotations, { c: "1" });
          assertEquals(manifest.annotations["org.example.by"], "file");
          assertEquals(manifest.annotations.team, "kcl");
          assertEquals(manifest.layers[0].mediaType, "text/plain");
          assertEquals(manifest.layers[1].mediaType, "application/vnd.oci.image.layer.v1.tar+gzip");
          assertEquals(manifest.layers[1].annotations.folder, "yes");
          assertEquals(manifest.layers[1].annotations["io.deis.oras.content.unpack"], "true");
          const raw = await run("artifact", "manifest", `${repo}:v1`);
          assertEquals(digestOf(raw.stdout), digest, "manifest prints the raw bytes");
          const descriptor = JSON.parse(
            (await run("artifact", "manifest", `${repo}:v1`, "--descriptor")).stdout,
          );
          assertEquals(descriptor.digest, digest);
        });

        await t.step("pull unpacks the folder and saves the file, in parallel or not", async () => {
          for (const concurrency of ["1", "3"]) {
            const out = await run(
              "artifact",
              "pull",
              `${repo}:v1`,
              "-o",
              `out${concurrency}`,
              "--concurrency",
              concurrency,
            );
            assertEquals(out.code, 0, out.stderr);
            assertEquals(await Deno.readTextFile(join(work, `out${concurrency}`, "hi.txt")), "hello\n");
            assertEquals(
              await Deno.readTextFile(join(work, `out${concurrency}`, "conf", "sub", "x.k")),
              "x = 1\n",
            );
          }
          const filtered = await run(
            "artifact",
            "pull",
            `${repo}:v1`,
            "-o",
            "only",
            "--media-type",
            "text/plain",
          );
          assertEquals(filtered.code, 0, filtered.stderr);
          assertEquals([...Deno.readDirSync(join(work, "only"))].map((e) => e.name), ["hi.txt"]);
        });

        await t.step("blob saves a layer verified; tag and tags list every page", async () => {
          const layer = digestOf("hello\n");
          const out = await run("artifact", "blob", `${repo}@${layer}`, "-o", "blob.txt");
          assertEquals(out.code, 0, out.stderr);
          assertEquals(await Deno.readTextFile(join(work, "blob.txt")), "hello\n");
          const tagged = await run("artifact", "tag", `${repo}:v1`, "t1", "t2", "t3", "t4");
          assertEquals(tagged.code, 0, tagged.stderr);
          const listed = await run("artifact", "tags", repo);
          assertEquals(listed.stdout.trim().split("\n").sort(), ["latest", "t1", "t2", "t3", "t4", "v1"]);
          const paged = await new Repository(new RegistryClient(), {
            registry: registry.host,
            repository: "demo/app",
          }, {
            pageSize: 2,
          }).tags();
          assertEquals(paged.sort(), ["latest", "t1", "t2", "t3", "t4", "v1"]);
        });

        await t.step("attach and discover (referrers API or the sha256-<hex> tag schema)", async () => {
          await Deno.writeTextFile(join(work, "sig.txt"), "signed\n");
          const out = await run(
            "artifact",
            "attach",
            "--artifact-type",
            "application/vnd.test.sig",
            `${repo}:v1`,
            "sig.txt",
          );
          assertEquals(out.code, 0, out.stderr);
          const found = JSON.parse((await run("artifact", "discover", `${repo}:v1`, "--json")).stdout);
          assertEquals(found.subject.digest, digest);
          assertEquals(found.manifests.map((d: { artifactType: string }) => d.artifactType), [
            "application/vnd.test.sig",
          ]);
          const none = JSON.parse(
            (await run("artifact", "discover", `${repo}:v1`, "--artifact-type", "other/type", "--json"))
              .stdout,
          );
          assertEquals(none.manifests, []);
        });

        await t.step("copy -r to another repository of the same registry mounts the blobs", async () => {
          const out = await run(
            "artifact",
            "copy",
            "-r",
            `${repo}:v1`,
            `${registry.host}/mirror/app:v1`,
            "-v",
          );
          assertEquals(out.code, 0, out.stderr);
          assertStringIncludes(out.stderr, "mount=");
          assertStringIncludes(out.stderr, "from=demo%2Fapp");
          const found = JSON.parse(
            (await run("artifact", "discover", `${registry.host}/mirror/app:v1`, "--json")).stdout,
          );
          assertEquals(found.manifests.length, 1);
          const again = await run(
            "artifact",
            "copy",
            `${repo}:v1`,
            `${registry.host}/mirror/app:v1`,
            "--json",
          );
          assertEquals(JSON.parse(again.stdout).copied, 0, "a second copy skips everything");
        });

        await t.step(
          "copy to an OCI layout that skopeo reads, and back from a layout skopeo wrote",
          async () => {
            const out = await run("artifact", "copy", "-r", `${repo}:v1`, "oci-layout:layout:v1");
            assertEquals(out.code, 0, out.stderr);
            const discovered = JSON.parse(
              (await run("artifact", "discover", "oci-layout:layout:v1", "--json")).stdout,
            );
            assertEquals(discovered.manifests.length, 1);
            const pulled = await run("artifact", "pull", "oci-layout:layout:v1", "-o", "from-layout");
            assertEquals(pulled.code, 0, pulled.stderr);
            assertEquals(
              await Deno.readTextFile(join(work, "from-layout", "conf", "app.yaml")),
              "replicas: 2\n",
            );
            if (SKIP_SKOPEO) return;
            const raw = await skopeo(["inspect", "--raw", `oci:${join(work, "layout")}:v1`]);
            assertEquals(digestOf(raw), digest);
            await skopeo(["copy", `oci:${join(work, "layout")}:v1`, `dir:${join(work, "skopeo-dir")}`]);
            const names = [...Deno.readDirSync(join(work, "skopeo-dir"))].map((e) => e.name);
            assert(names.includes(digestOf("hello\n").slice(7)), names.join(" "));

            // An image-shaped artifact (a real image config) passes a full `skopeo inspect`.
            const image = await run(
              "artifact",
              "push",
              "oci-layout:layout:image",
              "conf",
              "--config",
              "config.json:application/vnd.oci.image.config.v1+json",
            );
            assertEquals(image.code, 0, image.stderr);
            const inspected = JSON.parse(await skopeo(["inspect", `oci:${join(work, "layout")}:image`]));
            assertEquals(inspected.Os, "linux");
            assertEquals(inspected.Layers.length, 1);

            // A layout written by skopeo is a source for kpm.
            await skopeo(["copy", `oci:${join(work, "layout")}:v1`, `oci:${join(work, "by-skopeo")}:s1`]);
            const back = await run(
              "artifact",
              "copy",
              "oci-layout:by-skopeo:s1",
              `${registry.host}/from/skopeo:s1`,
            );
            assertEquals(back.code, 0, back.stderr);
            const again = await run(
              "artifact",
              "pull",
              `${registry.host}/from/skopeo:s1`,
              "-o",
              "via-skopeo",
            );
            assertEquals(again.code, 0, again.stderr);
            assertEquals(await Deno.readTextFile(join(work, "via-skopeo", "hi.txt")), "hello\n");
          },
        );

        await t.step("main.ts in a process: push to a layout, pull from it, errors exit 1", async () => {
          const entry = join(ROOT, "main.ts");
          const pushed = await runKpm(entry, ["artifact", "push", "oci-layout:proc:v1", "hi.txt"], {
            cwd: work,
            env: home.env,
          });
          assertEquals(pushed.code, 0, describe(pushed));
          const missing = await runKpm(entry, ["artifact", "pull", "oci-layout:proc:nope", "-o", "x"], {
            cwd: work,
            env: home.env,
          });
          assertEquals(missing.code, 1, describe(missing));
          assertStringIncludes(missing.stderr, `no such tag`);
        });
      } finally {
        await registry.close();
      }
    },
  );
}
