/**
 * Seed 004's deployment, verbatim: credentials in a Kubernetes `dockerconfigjson` secret mounted at
 * `/etc/secret/dockerconfigjson`, the launch line `--storage=registry --storage-registry-repo=HOST:PORT
 * --storage-registry-scheme=HTTPS --port=8080`, the default port 8080, and the empty scheme detected (https,
 * else http).
 *
 * So that the fixed path and port are the test's own, everything runs in fresh namespaces (`unshare
 * --map-root-user --mount --net`): /etc is an overlay (the secret and a `registry.test` hosts entry exist only
 * there), and the network has only its loopback, where `registry.test` is 10.77.0.1. In there: distribution
 * over TLS with htpasswd (registry.test:5000) and over plain HTTP (registry.test:5001), Helm 3.6.3 pushing the
 * seed's way, `kpm chart-repo serve`, and current Helm pulling through it.
 */

import { join } from "node:path";
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { startChartRepoCli } from "./support/chart_repo.ts";
import { findHelm, HELM_PEERS, HelmHome } from "./support/helm.ts";
import { ignoreWithoutPeers, runPeer } from "./support/peers.ts";
import { makeTestPki, type TestPki } from "../hostile/support/tls_certs.ts";

const SETUP = `set -e
ip link set lo up
ip addr add 10.77.0.1/32 dev lo
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/up,workdir=$1/work" /etc
echo "10.77.0.1 registry.test" >> /etc/hosts
mkdir -p /etc/secret
cp "$1/dockerconfigjson" /etc/secret/dockerconfigjson
echo ready
exec sleep 3600`;

/**
 * Namespaces holding a sleeping process; `enter` is the command prefix that runs a program inside them, in the
 * folder `dir/home`.
 */
interface Namespaces {
  enter: string[];
  close(): Promise<void>;
}

/** Enters new user, mount and network namespaces set up by SETUP, or fails with its stderr. */
async function makeNamespaces(dir: string): Promise<Namespaces> {
  for (const folder of ["up", "work", "home"]) await Deno.mkdir(join(dir, folder));
  const holder = new Deno.Command("unshare", {
    args: ["--map-root-user", "--mount", "--net", "sh", "-c", SETUP, "sh", dir],
    cwd: join(dir, "home"),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(holder.stderr).text();
  const first = await holder.stdout.pipeThrough(new TextDecoderStream()).getReader().read();
  if (first.value !== "ready\n") {
    await holder.status;
    throw new Error(`cannot make the test's namespaces: ${await stderr}`);
  }
  return {
    enter: ["nsenter", "-t", String(holder.pid), "-U", "-m", "-n", "--wd", "--preserve-credentials", "--"],
    close: async () => {
      holder.kill("SIGKILL");
      await holder.status;
      await stderr;
    },
  };
}

/** Whether this machine lets the test make its namespaces (user namespaces and overlayfs allowed). */
async function namespacesWork(): Promise<boolean> {
  const dir = await Deno.makeTempDir({ prefix: "kpm-ns-probe-" });
  try {
    await Deno.writeTextFile(join(dir, "dockerconfigjson"), "{}");
    await (await makeNamespaces(dir)).close();
    return true;
  } catch (error) {
    if (Deno.env.get("CI") === "true") return true; // run, and fail with the reason
    console.error(`skipping the seed deployment test: ${(error as Error).message.split("\n")[0]}`);
    return false;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A bcrypt htpasswd file for alice, and the Kubernetes secret with her credentials. */
async function makeSecrets(dir: string): Promise<void> {
  await Deno.writeTextFile(
    join(dir, "htpasswd"),
    await runPeer("htpasswd", ["-Bbn", "alice", "s3cret"], { cwd: dir }),
  );
  // As `kubectl create secret docker-registry` writes it.
  await Deno.writeTextFile(
    join(dir, "dockerconfigjson"),
    JSON.stringify({
      auths: {
        "registry.test:5000": {
          username: "alice",
          password: "s3cret",
          email: "alice@example.com",
          auth: btoa("alice:s3cret"),
        },
      },
    }),
  );
}

/**
 * Starts distribution inside the namespaces on registry.test:PORT: over TLS with htpasswd when given the PKI,
 * else over plain HTTP.
 */
async function startRegistry(
  ns: Namespaces,
  dir: string,
  port: number,
  tls?: TestPki,
): Promise<Deno.ChildProcess> {
  const config = join(dir, `registry-${port}.yml`);
  const secure = tls
    ? `  tls:\n    certificate: ${tls.serverCert}\n    key: ${tls.serverKey}\n` +
      `auth:\n  htpasswd:\n    realm: seed\n    path: ${dir}/htpasswd\n`
    : "";
  await Deno.writeTextFile(
    config,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n` +
      `storage:\n  filesystem:\n    rootdirectory: ${dir}/data-${port}\n` +
      `http:\n  addr: 10.77.0.1:${port}\n${secure}`,
  );
  const child = new Deno.Command(ns.enter[0]!, {
    args: [...ns.enter.slice(1), "docker-registry", "serve", config],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `${tls ? "https" : "http"}://registry.test:${port}/v2/`;
  const [enter, ...probe] = [
    ...ns.enter,
    ..."curl -s -o /dev/null -w %{http_code}".split(" "),
    ...(tls ? ["--cacert", tls.caFile] : []),
    url,
  ];
  for (let i = 0; i < 100; i++) {
    const code = await runPeer(enter!, probe, { cwd: dir }).catch(() => "");
    if (code === (tls ? "401" : "200")) return child;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill();
  await child.status;
  throw new Error(`distribution did not answer on ${url}`);
}

Deno.test("seed 004's deployment works verbatim: secret at /etc/secret/dockerconfigjson, HTTPS, port 8080", {
  ignore: await ignoreWithoutPeers([
    "docker-registry",
    "htpasswd",
    "openssl",
    "curl",
    "unshare",
    "nsenter",
    ...HELM_PEERS,
  ]) ||
    !(await namespacesWork()),
}, async (t) => {
  const { helm363, helm } = await findHelm();
  const dir = await Deno.makeTempDir({ prefix: "kpm-chartrepo-seed-" });
  await using pki = await makeTestPki({ serverNames: "DNS:registry.test" });
  await makeSecrets(dir);
  const ns = await makeNamespaces(dir);
  const registries: Deno.ChildProcess[] = [];
  try {
    registries.push(await startRegistry(ns, dir, 5000, pki), await startRegistry(ns, dir, 5001));
    const h = new HelmHome(join(dir, "home"), {
      wrapper: ns.enter,
      env: { SSL_CERT_FILE: pki.caFile },
    });
    // The seed's "How to use": Helm 3's experimental OCI commands.
    const ref = "registry.test:5000/myrepo/mychart:2.7.0";
    await h.createChart(helm363, "mychart", "2.7.0");
    await h.run(helm363, ["registry", "login", "registry.test:5000", "-u", "alice", "-p", "s3cret"]);
    await h.run(helm363, ["chart", "save", "mychart/", ref]);
    await h.run(helm363, ["chart", "push", ref]);
    const saved = await h.savedChart(ref);
    await h.createChart(helm, "web", "1.0.0");
    await h.run(helm, ["package", "web"]);
    await h.run(helm, ["push", "web-1.0.0.tgz", "oci://registry.test:5001/team", "--plain-http"]);
    const web = await Deno.readFile(join(h.home, "web-1.0.0.tgz"));

    /** Runs `kpm chart-repo serve ARGS` in the namespaces around `use`; its exit code must be 0. */
    const serving = async (args: string[], use: () => Promise<void>) => {
      const env = { DENO_CERT: pki.caFile };
      const repo = await startChartRepoCli(args, { command: ns.enter, env });
      let ended = { code: -1, stderr: "" };
      try {
        assertEquals(repo.url, "http://0.0.0.0:8080");
        await use();
      } finally {
        ended = await repo.stop();
      }
      assertEquals(ended.code, 0, ended.stderr);
      return ended.stderr;
    };
    const pull = async (repo: string, chart: string, version: string) => {
      await Deno.mkdir(join(h.home, repo));
      await h.run(helm, ["repo", "add", repo, "http://127.0.0.1:8080"]);
      await h.run(helm, ["pull", `${repo}/${chart}`, "--version", version, "-d", repo]);
      return await Deno.readFile(join(h.home, repo, `${chart}-${version}.tgz`));
    };

    await t.step("the launch line of the seed's README, with the mounted secret", async () => {
      const line = [
        "--storage=registry",
        "--storage-registry-repo=registry.test:5000",
        "--storage-registry-scheme=HTTPS",
        "--port=8080",
      ];
      await serving(line, async () => assertEquals(await pull("seed", "mychart", "2.7.0"), saved));
    });

    await t.step("port 8080 by default; an empty scheme finds https, and falls back to http", async () => {
      const https = await serving(
        ["--storage=registry", "--storage-registry-repo=registry.test:5000"],
        async () => {
          assertEquals(await pull("detected-https", "mychart", "2.7.0"), saved);
        },
      );
      assertEquals(https.includes("over http"), false, https);
      const http = await serving(
        ["--storage=registry", "--storage-registry-repo=registry.test:5001"],
        async () => {
          assertEquals(await pull("detected-http", "web", "1.0.0"), web);
        },
      );
      assertStringIncludes(http, `reaching "registry.test:5001" over http from now on`);
    });
  } finally {
    for (const registry of registries) {
      registry.kill();
      await registry.status;
    }
    await ns.close();
    await Deno.remove(dir, { recursive: true });
  }
});
