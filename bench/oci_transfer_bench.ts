/**
 * Transfer benchmark: a single-layer artifact of N MiB pushed and pulled on loopback against the CNCF
 * `distribution` registry, with kpm (as a subprocess, `deno run -A main.ts artifact push|pull`), skopeo
 * (oci layout → registry, registry → dir:), `curl -o FILE` of the raw blob (the limit) and
 * `curl | tee FILE | openssl dgst -sha256` (the limit for a verified download). Wall time and peak RSS of each
 * tool come from `/usr/bin/time -f "%e %M"`.
 *
 * Usage: deno run -A bench/oci_transfer_bench.ts [--size-mib 1024] [--runs 3] [--only kpm-push,kpm-pull,…]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { digestStream } from "../lib/oci/digest.ts";
import { startDistribution } from "../tests/integration/support/distribution.ts";
import { median, SIZE_OPTIONS, timed } from "./timed.ts";
import { currentDenoDir } from "../tests/integration/ship_support.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { ...SIZE_OPTIONS, keep: { type: "boolean", default: false } },
});
const sizeMiB = Number(values["size-mib"]);
const runs = Number(values.runs);
const only = values.only?.split(",");
const root = new URL("..", import.meta.url).pathname;
const work = await Deno.makeTempDir({ prefix: "kpm_transfer_bench_" });

/** An OCI image layout holding one uncompressed layer (hard-linked to `file`), for skopeo. */
async function ociLayout(dir: string, file: string, digest: string, size: number): Promise<void> {
  const blobs = join(dir, "blobs", "sha256");
  await Deno.mkdir(blobs, { recursive: true });
  const put = async (bytes: Uint8Array) => {
    const { digest } = await digestStream(new Blob([bytes as Uint8Array<ArrayBuffer>]).stream());
    await Deno.writeFile(join(blobs, digest.slice(7)), bytes);
    return { digest, size: bytes.byteLength };
  };
  await Deno.link(file, join(blobs, digest.slice(7)));
  const encoder = new TextEncoder();
  const config = await put(encoder.encode(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: [digest] },
  })));
  const manifest = await put(encoder.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest, size }],
  })));
  await Deno.writeTextFile(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  await Deno.writeTextFile(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        ...manifest,
        annotations: { "org.opencontainers.image.ref.name": "bench" },
      }],
    }),
  );
}

const registry = await startDistribution({ auth: "none" });
const results: { tool: string; seconds: number[]; rss: number[] }[] = [];
try {
  const file = join(work, "big.bin");
  console.error(`making a ${sizeMiB} MiB random file…`);
  const make = await new Deno.Command("sh", {
    args: ["-c", `head -c ${sizeMiB * 1024 * 1024} /dev/urandom > ${file}`],
  }).output();
  if (!make.success) throw new Error("cannot make the test file");
  const { digest, size } = await digestStream((await Deno.open(file)).readable);
  await ociLayout(join(work, "layout"), file, digest, size);
  const main = join(root, "main.ts");
  const deno = Deno.execPath();
  // Deno's own cache folder (not one under the temporary HOME), warmed for every module kpm may load, so that
  // start-up is not measured as download or compile time.
  const env = {
    HOME: work,
    KCL_PKG_PATH: join(work, "kpm"),
    NO_COLOR: "1",
    DENO_DIR: await currentDenoDir(),
  };
  await timed([deno, "cache", main], { env: { ...Deno.env.toObject(), ...env } });

  // skopeo remembers (as root, in /var/lib/containers/cache) where it pushed a blob and mounts it from there
  // next time, so each skopeo-in run after the first pushes its own layout, a blob of the same size with a
  // different first byte.
  const skopeoLayout = async (i: number) => {
    if (i === 0) return join(work, "layout");
    const copy = join(work, `big-${i}.bin`);
    await Deno.copyFile(file, copy);
    const handle = await Deno.open(copy, { write: true });
    await handle.write(new Uint8Array([i]));
    handle.close();
    const blob = await digestStream((await Deno.open(copy)).readable);
    await ociLayout(join(work, `layout-${i}`), copy, blob.digest, blob.size);
    await Deno.remove(copy);
    return join(work, `layout-${i}`);
  };
  const layouts: string[] = [];
  const tools: {
    name: string;
    run: (i: number) => string[];
    cwd?: string;
    before?: (i: number) => Promise<void>;
    after?: () => Promise<void>;
  }[] = [
    {
      name: "kpm-push",
      run: (
        i,
      ) => [deno, "run", "-A", main, "artifact", "push", `${registry.host}/bench/kpm${i}:1`, "big.bin"],
      cwd: work,
    },
    {
      name: "kpm-pull",
      run: () => [
        deno,
        "run",
        "-A",
        main,
        "artifact",
        "pull",
        `${registry.host}/bench/kpm0:1`,
        "-o",
        join(work, "out"),
      ],
      after: () => Deno.remove(join(work, "out"), { recursive: true }),
    },
    {
      name: "skopeo-in",
      run: (i) => [
        "skopeo",
        "copy",
        "-q",
        "--dest-tls-verify=false",
        `oci:${layouts[i]}:bench`,
        `docker://${registry.host}/bench/skopeo${i}:1`,
      ],
      before: async (i) => void (layouts[i] = await skopeoLayout(i)),
    },
    {
      name: "skopeo-out",
      run: () => [
        "skopeo",
        "copy",
        "-q",
        "--src-tls-verify=false",
        `docker://${registry.host}/bench/skopeo0:1`,
        `dir:${join(work, "skopeo-out")}`,
      ],
      after: () => Deno.remove(join(work, "skopeo-out"), { recursive: true }),
    },
    {
      name: "curl",
      run: () => [
        "curl",
        "-sf",
        "-o",
        join(work, "curl.bin"),
        `http://${registry.host}/v2/bench/kpm0/blobs/${digest}`,
      ],
      after: () => Deno.remove(join(work, "curl.bin")),
    },
    {
      // curl does not verify what it gets; this is the limit for a download hashed as it is written (openssl
      // uses SHA-NI like node:crypto; coreutils sha256sum is 4× slower)
      name: "curl-verify",
      run: () => [
        "sh",
        "-c",
        `curl -sf "$1" | tee "$2" | openssl dgst -sha256 >/dev/null`,
        "sh",
        `http://${registry.host}/v2/bench/kpm0/blobs/${digest}`,
        join(work, "curl.bin"),
      ],
      after: () => Deno.remove(join(work, "curl.bin")),
    },
  ];
  for (const tool of tools) {
    if (only && !only.includes(tool.name)) continue;
    const result = { tool: tool.name, seconds: [] as number[], rss: [] as number[] };
    for (let i = 0; i < runs; i++) {
      // A fresh HOME per run: skopeo's blob-info cache would otherwise turn later pushes into mounts.
      const home = await Deno.makeTempDir({ dir: work });
      await tool.before?.(i);
      // Flush what earlier runs wrote, so that no run pays for the previous one's disk writeback.
      await new Deno.Command("sync").output();
      const { seconds, rssMiB } = await timed(tool.run(i), {
        cwd: tool.cwd,
        env: { ...Deno.env.toObject(), ...env, HOME: home },
      });
      await tool.after?.();
      result.seconds.push(seconds);
      result.rss.push(rssMiB);
      console.error(`${tool.name} #${i + 1}: ${seconds.toFixed(2)} s, ${rssMiB.toFixed(0)} MiB`);
    }
    results.push(result);
  }
} finally {
  await registry.close();
  if (!values.keep) await Deno.remove(work, { recursive: true });
}

const curl = results.find((r) => r.tool === "curl");
console.log(`| tool | ${sizeMiB} MiB: median time (runs) | vs curl | peak RSS (max) |`);
console.log("| --- | --- | --- | --- |");
for (const r of results) {
  const ratio = curl ? `${(median(r.seconds) / median(curl.seconds)).toFixed(2)}×` : "";
  console.log(
    `| ${r.tool} | ${median(r.seconds).toFixed(2)} s (${
      r.seconds.map((s) => s.toFixed(2)).join(", ")
    }) | ${ratio} | ${Math.max(...r.rss).toFixed(0)} MiB |`,
  );
}
