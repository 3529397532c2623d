/**
 * Embedded registry benchmark: kpm's `registry serve` (as a subprocess, `deno run -A main.ts registry serve`)
 * against the CNCF `distribution` registry (`docker-registry`) in the same run, on loopback:
 *
 * 1. 50 parallel small pushes (blob + config + manifest under a tag, kpm's client) with no error and no lost
 *    blob (every blob and tag read back and verified), and the server's peak RSS (VmHWM) under that load;
 * 2. a 1 GiB blob uploaded with `curl -T` (POST then one streamed PUT), and again with kpm's client (one
 *    streamed PATCH, then PUT);
 * 3. the 1 GiB blob fetched with `curl -o /dev/null`, alternating servers, median of the runs;
 * and the peak RSS of each server at the end.
 *
 * Usage: deno run -A bench/registry_bench.ts [--size-mib 1024] [--runs 5] [--pushes 50] [--push-kib 64]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { RegistryClient } from "../lib/oci/client.ts";
import { digestOf, digestStream } from "../lib/oci/digest.ts";
import { OCI_CONFIG, OCI_MANIFEST } from "../lib/oci/media_types.ts";
import { Repository } from "../lib/oci/repository.ts";
import { startDistribution } from "../tests/integration/support/distribution.ts";
import { freePort } from "../tests/integration/support/ports.ts";
import { median } from "./timed.ts";

const root = new URL("..", import.meta.url).pathname;

/** A registry server process under test. */
export interface Server {
  name: string;
  host: string;
  pid: number;
  stop(): Promise<void>;
}

/** A server certificate and key (PEM files), and the CA file that verifies the certificate. */
export interface ServerTls {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/** Waits until `/v2/` answers 200: over https trusting `tls.caFile` when given, else plain HTTP. */
async function waitReady(host: string, tls?: ServerTls): Promise<void> {
  using client = Deno.createHttpClient(tls ? { caCerts: [await Deno.readTextFile(tls.caFile)] } : {});
  for (let i = 0; i < 200; i++) {
    try {
      const response = await fetch(`${tls ? "https" : "http"}://${host}/v2/`, { client });
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Cannot reach the registry at "${host}"`);
}

/**
 * Starts `kpm registry serve` (a `deno run -A main.ts` subprocess) on a free port over the folder `storage`;
 * over https (`--tls-cert`, `--tls-key`) when `tls` is given.
 */
export async function startKpm(storage: string, tls?: ServerTls): Promise<Server> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(root, "main.ts"),
      "registry",
      "serve",
      "--addr",
      `127.0.0.1:${port}`,
      "--root",
      storage,
      ...(tls ? ["--tls-cert", tls.certFile, "--tls-key", tls.keyFile] : []),
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const host = `127.0.0.1:${port}`;
  await waitReady(host, tls);
  return {
    name: "kpm registry serve",
    host,
    pid: child.pid,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** Starts distribution 2.8 (`docker-registry`, no auth). */
export async function startDistributionServer(): Promise<Server> {
  const registry = await startDistribution({ auth: "none" });
  return { name: "distribution 2.8", host: registry.host, pid: registry.pid, stop: registry.close };
}

/** Peak and current resident memory of a process, in MiB. */
export async function memory(pid: number): Promise<{ peak: number; now: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? NaN);
  return { peak: kib("VmHWM") / 1024, now: kib("VmRSS") / 1024 };
}

/** Runs a command to its end; wall time and stdout. */
export async function run(cmd: string[]): Promise<{ seconds: number; stdout: string }> {
  const started = performance.now();
  const out = await new Deno.Command(cmd[0]!, { args: cmd.slice(1), stdout: "piped", stderr: "piped" })
    .output();
  const seconds = (performance.now() - started) / 1000;
  if (!out.success) throw new Error(`${cmd.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  return { seconds, stdout: new TextDecoder().decode(out.stdout) };
}

/** 50 parallel pushes of a distinct small artifact each; then every blob and tag is read back and checked. */
async function parallelPushes(
  server: Server,
  pushes: number,
  pushKiB: number,
): Promise<{ seconds: number; errors: number; lost: number }> {
  const client = new RegistryClient();
  const config = new TextEncoder().encode("{}");
  const started = performance.now();
  const items = Array.from({ length: pushes }, (_, i) => ({
    repository: `bench/small${i % 5}`,
    tag: `t${i}`,
    bytes: crypto.getRandomValues(new Uint8Array(pushKiB * 1024)),
  }));
  const results = await Promise.allSettled(items.map(async (item) => {
    const repo = new Repository(client, { registry: server.host, repository: item.repository });
    const layer = {
      mediaType: "application/octet-stream",
      digest: digestOf(item.bytes),
      size: item.bytes.byteLength,
    };
    const configDescriptor = { mediaType: OCI_CONFIG, digest: digestOf(config), size: config.byteLength };
    await repo.blobs.push(configDescriptor, config);
    await repo.blobs.push(layer, item.bytes);
    const manifest = new TextEncoder().encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: configDescriptor,
        layers: [layer],
      }),
    );
    await repo.manifests.push(manifest, OCI_MANIFEST, { tag: item.tag });
  }));
  const seconds = (performance.now() - started) / 1000;
  const errors = results.filter((r) => r.status === "rejected");
  for (const error of errors.slice(0, 3)) {
    console.error(`push failed: ${(error as PromiseRejectedResult).reason}`);
  }
  let lost = 0;
  for (const item of items) {
    try {
      const repo = new Repository(client, { registry: server.host, repository: item.repository });
      const { manifest } = await repo.manifests.fetch(item.tag);
      const layer = (manifest as { layers: { digest: `${string}:${string}` }[] }).layers[0]!;
      const { body } = await repo.blobs.open(layer.digest);
      if ((await digestStream(body)).digest !== digestOf(item.bytes)) lost++;
    } catch {
      lost++;
    }
  }
  return { seconds, errors: errors.length, lost };
}

/** Uploads `file` with `curl -T` (POST, then one streamed PUT) into `repository`; seconds of the PUT. */
export async function uploadBig(
  host: string,
  file: string,
  digest: string,
  repository = "bench/big",
): Promise<number> {
  const start = await fetch(`http://${host}/v2/${repository}/blobs/uploads/`, { method: "POST" });
  await start.body?.cancel();
  const location = new URL(start.headers.get("Location")!, `http://${host}`);
  location.searchParams.set("digest", digest);
  const { seconds, stdout } = await run([
    "curl",
    "-s",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
    "-T",
    file,
    "-H",
    "Content-Type: application/octet-stream",
    location.href,
  ]);
  if (stdout !== "201") throw new Error(`upload to ${host} answered ${stdout}`);
  return seconds;
}

/** Pushes the big blob with kpm's client (one streamed PATCH, as docker does) into another repository. */
async function clientPush(server: Server, file: string, digest: `${string}:${string}`, size: number) {
  const started = performance.now();
  const repo = new Repository(new RegistryClient(), { registry: server.host, repository: "bench/client" });
  const outcome = await repo.blobs.push({ digest, size }, async () => (await Deno.open(file)).readable);
  if (outcome !== "uploaded") throw new Error(`client push to ${server.name}: ${outcome}`);
  return (performance.now() - started) / 1000;
}

/** Fetches the blob `digest` of `bench/big` with `curl -o /dev/null`; seconds. */
export async function curlGet(server: Server, digest: string, size: number): Promise<number> {
  const url = `http://${server.host}/v2/bench/big/blobs/${digest}`;
  const { seconds, stdout } = await run(["curl", "-sf", "-o", "/dev/null", "-w", "%{size_download}", url]);
  if (Number(stdout) !== size) throw new Error(`${server.name} sent ${stdout} bytes, not ${size}`);
  return seconds;
}

/** Prints the table of the rows measured. */
function printTable(
  rows: string[],
  args: { sizeMiB: number; runs: number; pushes: number; pushKiB: number },
) {
  const { sizeMiB, runs, pushes, pushKiB } = args;
  console.log(
    `\n${sizeMiB} MiB blob GET with curl (median of ${runs}, min–max), ${pushes} parallel pushes of ${pushKiB} KiB\n`,
  );
  console.log(
    "| server | GET (curl -o /dev/null) | upload (curl -T) | push (kpm client) | parallel pushes | RSS after pushes | peak RSS (all) |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  for (const row of rows) console.log(row);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "size-mib": { type: "string", default: "1024" },
      runs: { type: "string", default: "5" },
      pushes: { type: "string", default: "50" },
      "push-kib": { type: "string", default: "64" },
    },
  });
  const sizeMiB = Number(values["size-mib"]);
  const runs = Number(values.runs);
  const pushes = Number(values.pushes);
  const pushKiB = Number(values["push-kib"]);
  const work = await Deno.makeTempDir({ prefix: "kpm_registry_bench_" });
  const servers: Server[] = [];
  try {
    const file = join(work, "big.bin");
    console.error(`making a ${sizeMiB} MiB random file…`);
    await run(["sh", "-c", `head -c ${sizeMiB * 1024 * 1024} /dev/urandom > ${file}`]);
    const { digest, size } = await digestStream((await Deno.open(file)).readable);
    servers.push(await startKpm(join(work, "kpm")), await startDistributionServer());
    const rows: string[] = [];
    const gets = new Map<Server, number[]>(servers.map((s) => [s, []]));
    const summary = new Map<Server, string[]>();
    for (const server of servers) {
      console.error(`${server.name}: ${pushes} parallel pushes…`);
      const push = await parallelPushes(server, pushes, pushKiB);
      const afterPush = await memory(server.pid);
      console.error(`${server.name}: ${sizeMiB} MiB upload…`);
      const upload = await uploadBig(server.host, file, digest);
      const client = await clientPush(server, file, digest, size);
      summary.set(server, [
        `${push.seconds.toFixed(2)} s, ${push.errors} errors, ${push.lost} lost`,
        `${afterPush.peak.toFixed(0)} MiB`,
        `${upload.toFixed(2)} s`,
        `${client.toFixed(2)} s`,
      ]);
    }
    for (let i = 0; i < runs; i++) {
      for (const server of servers) gets.get(server)!.push(await curlGet(server, digest, size));
    }
    for (const server of servers) {
      const peak = (await memory(server.pid)).peak;
      const times = gets.get(server)!;
      const [push, pushRss, upload, client] = summary.get(server)!;
      rows.push(
        `| ${server.name} | ${median(times).toFixed(2)} s (${Math.min(...times).toFixed(2)}–${
          Math.max(...times).toFixed(2)
        }) | ${upload} | ${client} | ${push} | ${pushRss} | ${peak.toFixed(0)} MiB |`,
      );
    }
    printTable(rows, { sizeMiB, runs, pushes, pushKiB });
  } finally {
    for (const server of servers) await server.stop();
    await Deno.remove(work, { recursive: true });
  }
}

if (import.meta.main) await main();
