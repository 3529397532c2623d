/**
 * Real Helm for the chart-repo tests: Helm 3.6.3 (`helm363`, whose experimental `helm chart save/push` seed 004
 * uses) and current Helm (`helm`), built by scripts/peers.sh, run in a private HOME, optionally inside another
 * command (e.g. `nsenter` into a test's namespaces).
 *
 * @module
 */

import { join } from "node:path";
import { HELM_CHART_LEGACY } from "../../../lib/oci/media_types.ts";

/**
 * Where a built peer is: `$KPM_PEERS_BIN/NAME`, then `~/.cache/kpm-peers/bin/NAME`, then PATH (the rule of the
 * interop branch's `peerPath` in ./peers.ts, which replaces this once it is on main).
 */
async function peerPath(name: string): Promise<string | undefined> {
  const folders = [
    Deno.env.get("KPM_PEERS_BIN"),
    join(Deno.env.get("HOME") ?? "/", ".cache", "kpm-peers", "bin"),
  ];
  for (const folder of folders) {
    if (folder && await Deno.stat(join(folder, name)).then((s) => s.isFile, () => false)) {
      return join(folder, name);
    }
  }
  const out = await new Deno.Command("sh", { args: ["-c", 'command -v "$1"', "sh", name], stdout: "piped" })
    .output();
  return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
}

/** The two Helm binaries, or undefined when either is not built. */
export interface HelmBinaries {
  helm363: string;
  helm: string;
}

/**
 * Finds helm363 and helm; outside CI a missing one is reported once on stderr (the tests are then skipped), with
 * `CI=true` the tests run and fail.
 */
export async function findHelm(): Promise<HelmBinaries | undefined> {
  const [helm363, helm] = [await peerPath("helm363"), await peerPath("helm")];
  if (helm363 && helm) return { helm363, helm };
  console.error(
    "skipping the Helm tests: helm363 or helm not built (scripts/peers.sh; they fail when CI=true)",
  );
  return undefined;
}

/** Whether a test needing Helm is ignored: Helm missing outside CI. */
export function ignoreWithoutHelm(found: HelmBinaries | undefined): boolean {
  return !found && Deno.env.get("CI") !== "true";
}

/** Helm in a private HOME (XDG folders inside), with the experimental OCI commands on. */
export class HelmHome {
  /** The private HOME. */
  readonly home: string;
  #wrapper: string[];
  #env: Record<string, string>;

  /**
   * @param home an empty folder
   * @param options `wrapper` runs Helm inside another command; `env` adds variables (e.g. SSL_CERT_FILE)
   */
  constructor(home: string, options: { wrapper?: string[]; env?: Record<string, string> } = {}) {
    this.home = home;
    this.#wrapper = options.wrapper ?? [];
    this.#env = options.env ?? {};
  }

  /**
   * Runs `binary ARGS…` in the home folder.
   *
   * @returns its stdout
   * @throws with stdout and stderr when it fails
   */
  async run(binary: string, args: string[]): Promise<string> {
    const [program, ...rest] = [...this.#wrapper, binary, ...args];
    const out = await new Deno.Command(program!, {
      args: rest,
      cwd: this.home,
      env: {
        HOME: this.home,
        XDG_CACHE_HOME: join(this.home, "cache"),
        XDG_CONFIG_HOME: join(this.home, "config"),
        XDG_DATA_HOME: join(this.home, "data"),
        HELM_EXPERIMENTAL_OCI: "1",
        ...this.#env,
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    if (!out.success) {
      throw new Error(`helm ${args.join(" ")} failed: ${text}${new TextDecoder().decode(out.stderr)}`);
    }
    return text;
  }

  /** `helm create NAME` and sets the chart's version. */
  async createChart(binary: string, name: string, version: string): Promise<void> {
    await this.run(binary, ["create", name]);
    const file = join(this.home, name, "Chart.yaml");
    const text = await Deno.readTextFile(file);
    await Deno.writeTextFile(file, text.replace(/^version: .*$/m, `version: ${version}`));
  }

  /**
   * The chart .tgz Helm 3.6's `helm chart save` put in its OCI-layout cache for `ref`, read through the cache's
   * index.json and the manifest.
   *
   * @throws when the manifest's layer is not Helm 3.6's `application/tar+gzip`
   */
  async savedChart(ref: string): Promise<Uint8Array> {
    const cache = join(this.home, "cache", "helm", "registry", "cache");
    const blob = (digest: string) => Deno.readFile(join(cache, "blobs", ...digest.split(":")));
    const index = JSON.parse(await Deno.readTextFile(join(cache, "index.json")));
    const entry = index.manifests.find((m: { annotations?: Record<string, string> }) =>
      m.annotations?.["org.opencontainers.image.ref.name"] === ref
    );
    const manifest = JSON.parse(new TextDecoder().decode(await blob(entry.digest)));
    const types = manifest.layers.map((l: { mediaType: string }) => l.mediaType).join(", ");
    if (types !== HELM_CHART_LEGACY) throw new Error(`helm chart save wrote layers of types ${types}`);
    return await blob(manifest.layers[0].digest);
  }
}
