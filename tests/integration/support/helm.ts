/**
 * Real Helm for the chart-repo tests: Helm 3.6.3 (`helm363`, whose experimental `helm chart save/push` seed 004
 * uses) and current Helm (`helm`), built by scripts/peers.sh, run in a private HOME, optionally inside another
 * command (e.g. `nsenter` into a test's namespaces).
 *
 * @module
 */

import { join } from "node:path";
import { HELM_CHART_LEGACY } from "../../../lib/oci/media_types.ts";
import { peerCommand } from "./peers.ts";

/** The Helm peers the chart-repo tests need (with `ignoreWithoutPeers`). */
export const HELM_PEERS = ["helm363", "helm"] as const;

/** The two Helm binaries, as `peerCommand` finds them. */
export async function findHelm(): Promise<{ helm363: string; helm: string }> {
  return { helm363: await peerCommand("helm363"), helm: await peerCommand("helm") };
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
