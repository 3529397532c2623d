/**
 * Real Helm chart artifacts for the chart-repo tests and benchmark: a packaged chart .tgz (Chart.yaml,
 * values.yaml, templates/) made with `tar czf`, its config JSON as Helm writes it, and a Helm-shaped manifest
 * pushed with kpm's own client.
 *
 * @module
 */

import { join } from "node:path";
import { loadYaml } from "../../lib/deps.ts";
import type { RegistryClient } from "../../lib/oci/client.ts";
import { type Digest, digestOf } from "../../lib/oci/digest.ts";
import type { Descriptor, ImageManifest } from "../../lib/oci/manifest.ts";
import { HELM_CHART, HELM_CONFIG, HELM_PROVENANCE, OCI_MANIFEST } from "../../lib/oci/media_types.ts";
import { startDistribution } from "./support/distribution.ts";
import { startEmbeddedRegistry } from "./support/embedded.ts";
import { Repository } from "../../lib/oci/repository.ts";

/** Chart.yaml fields (name and version required). */
export type ChartMetadata = { name: string; version: string } & Record<string, unknown>;

/** The order of Helm's `chart.Metadata` fields, which is the order of its config JSON. */
const HELM_FIELDS = [
  "name",
  "home",
  "sources",
  "version",
  "description",
  "keywords",
  "maintainers",
  "icon",
  "apiVersion",
  "condition",
  "tags",
  "appVersion",
  "deprecated",
  "annotations",
  "kubeVersion",
  "dependencies",
  "type",
];

/** The config blob Helm pushes: Chart.yaml's fields as JSON, in Helm's field order. */
function helmConfig(metadata: ChartMetadata): Uint8Array {
  const ordered: Record<string, unknown> = {};
  for (const key of HELM_FIELDS) if (metadata[key] !== undefined) ordered[key] = metadata[key];
  return new TextEncoder().encode(JSON.stringify(ordered));
}

/** Packages a chart like `helm package`: NAME/Chart.yaml, values.yaml and a template, in a gzipped tar. */
export async function packageChart(metadata: ChartMetadata): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "kpm-chart-" });
  try {
    const root = join(dir, metadata.name);
    await Deno.mkdir(join(root, "templates"), { recursive: true });
    await Deno.writeTextFile(join(root, "Chart.yaml"), (await loadYaml()).stringifyYaml(metadata));
    await Deno.writeTextFile(join(root, "values.yaml"), `replicaCount: 1\nversion: "${metadata.version}"\n`);
    await Deno.writeTextFile(
      join(root, "templates", "configmap.yaml"),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  replicas: "{{ .Values.replicaCount }}"\n',
    );
    const out = await new Deno.Command("tar", {
      args: ["czf", join(dir, "chart.tgz"), "-C", dir, metadata.name],
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`tar failed: ${new TextDecoder().decode(out.stderr)}`);
    return await Deno.readFile(join(dir, "chart.tgz"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A pushed chart. */
export interface PushedChart {
  tgz: Uint8Array;
  prov?: Uint8Array;
  chart: Descriptor;
  manifestDigest: Digest;
  tag: string;
}

/**
 * Pushes a chart the way `helm push` does: config, chart layer (and provenance), an OCI manifest with Helm's
 * annotations, tagged with the version (`+` → `_`).
 *
 * @param options `tgz` reuses a packaged chart; `config` replaces the config blob Helm would write; `prov` adds
 *   a provenance layer; `created` sets the annotation
 */
export async function pushChart(
  client: RegistryClient,
  target: { registry: string; repository: string },
  metadata: ChartMetadata,
  options: { tgz?: Uint8Array; config?: Uint8Array; prov?: Uint8Array; created?: string } = {},
): Promise<PushedChart> {
  const tgz = options.tgz ?? await packageChart(metadata);
  const config = options.config ?? helmConfig(metadata);
  const blobs: [Uint8Array, string][] = [[config, HELM_CONFIG], [tgz, HELM_CHART]];
  if (options.prov) blobs.push([options.prov, HELM_PROVENANCE]);
  const descriptors: Descriptor[] = [];
  for (const [bytes, mediaType] of blobs) {
    const descriptor = { mediaType, digest: digestOf(bytes), size: bytes.byteLength };
    await new Repository(client, target).blobs.push(descriptor, bytes);
    descriptors.push(descriptor);
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: descriptors[0]!,
    layers: descriptors.slice(1),
    annotations: {
      "org.opencontainers.image.title": metadata.name,
      "org.opencontainers.image.version": metadata.version,
      ...(options.created ? { "org.opencontainers.image.created": options.created } : {}),
    },
  };
  const tag = metadata.version.replaceAll("+", "_");
  const pushed = await new Repository(client, target).manifests.push(
    new TextEncoder().encode(JSON.stringify(manifest)),
    OCI_MANIFEST,
    { tag },
  );
  return { tgz, prov: options.prov, chart: descriptors[1]!, manifestDigest: pushed.digest, tag };
}

/** A registry under test. */
export interface TestRegistry {
  host: string;
  close(): Promise<void>;
}

/** Starts a registry for a test. */
export type Starter = () => Promise<TestRegistry>;

/**
 * The registries the chart-repo and artifact tests run against, each with the commands it needs on PATH (for
 * `ignoreWithoutPeers`): distribution (no auth) and kpm's embedded registry.
 */
export function availableRegistries(): [label: string, start: Starter, peers: string[]][] {
  return [
    ["distribution", () => startDistribution({ auth: "none" }), ["docker-registry"]],
    ["embedded registry", () => startEmbeddedRegistry(), []],
  ];
}
