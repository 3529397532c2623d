/**
 * Builds a Helm chart-repository `index.yaml` from the Helm chart artifacts of an OCI registry.
 *
 * Tags are re-listed on every build; manifests and config blobs are cached by digest (they are immutable), so
 * a warm build costs one catalog listing, one tag listing per repository and one HEAD per chart tag.
 *
 * @module
 */

import { loadSemver, loadYaml } from "../deps.ts";
import { openBlob } from "../oci/blobs.ts";
import type { RegistryClient } from "../oci/client.ts";
import { fetchManifest, headManifest, listRepositories, listTags } from "../oci/manifests.ts";
import { type Digest, digestHex, digestOf, verifyingStream } from "../oci/digest.ts";
import { type Descriptor, isIndex, type Manifest } from "../oci/manifest.ts";
import { ANNOTATION_CREATED, HELM_CHART, HELM_CONFIG, HELM_PROVENANCE } from "../oci/media_types.ts";

// Only the chart-repo server loads this module, and it needs both packages at once (tags are versions); load
// them here, once, so that the functions below stay synchronous.
const [semver, { stringifyYaml }] = await Promise.all([loadSemver(), loadYaml()]);

/** What index building needs from a registry; tests pass a stub. */
export interface ChartSource {
  /** Every repository of the registry (the catalog). */
  listRepositories(): Promise<string[]>;
  /** Every tag of a repository. */
  listTags(repository: string): Promise<string[]>;
  /** The digest of the manifest a tag points at, or undefined when the tag does not exist. */
  resolveTag(repository: string, tag: string): Promise<Digest | undefined>;
  /** A manifest by digest (verified). */
  fetchManifest(repository: string, digest: Digest): Promise<Manifest>;
  /** A small blob, whole and verified. */
  fetchBlob(repository: string, descriptor: Descriptor): Promise<Uint8Array>;
}

/** A registry as a ChartSource, through the OCI client. */
export function registryChartSource(client: RegistryClient, registry: string): ChartSource {
  return {
    listRepositories: () => listRepositories(client, registry),
    listTags: (repository) => listTags(client, { registry, repository }),
    resolveTag: async (repository, tag) =>
      (await headManifest(client, { registry, repository, tag }))?.digest,
    fetchManifest: async (repository, digest) =>
      (await fetchManifest(client, { registry, repository, digest })).manifest,
    fetchBlob: async (repository, descriptor) => {
      const { body } = await openBlob(client, { registry, repository }, descriptor.digest);
      const verified = body.pipeThrough(verifyingStream(descriptor, `blob "${descriptor.digest}"`));
      return new Uint8Array(await new Response(verified).arrayBuffer());
    },
  };
}

/** One chart version found in the registry. */
export interface ChartRecord {
  repository: string;
  tag: string;
  manifestDigest: Digest;
  /** The chart's name (from the config). */
  name: string;
  /** The chart's version (from the config), with `+` where the tag has `_`. */
  version: string;
  /** Every Chart.yaml field, as the config blob holds them. */
  metadata: Record<string, unknown>;
  /** The config blob. */
  config: Descriptor;
  /** The chart .tgz layer. */
  chart: Descriptor;
  /** The provenance layer, when pushed. */
  provenance?: Descriptor;
  /** RFC 3339: the manifest's `org.opencontainers.image.created`, else when kpm first saw the manifest. */
  created: string;
}

/** What a manifest turned out to be. */
type Classified =
  | { chart: true; config: Descriptor; layer: Descriptor; provenance?: Descriptor; created: string }
  | { chart: false; reason: string };

/** Config blobs larger than this are not Chart.yaml metadata. */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/**
 * The chart version a tag names: Helm stores version `1.0.0+build` under tag `1.0.0_build`.
 *
 * @returns the version, or undefined when the tag is not a SemVer 2 version (e.g. `latest`)
 */
export function versionFromTag(tag: string): string | undefined {
  const version = tag.replaceAll("_", "+");
  return semver.valid(version) === null ? undefined : version;
}

/** The tag a chart version is stored under (`+` → `_`). */
export function tagFromVersion(version: string): string {
  return version.replaceAll("+", "_");
}

/** The file name a chart version is served as: `NAME-VERSION.tgz`. */
export function chartFileName(name: string, version: string): string {
  return `${name}-${version}.tgz`;
}

/**
 * Tells whether a manifest is a Helm chart: an image manifest with the Helm config type, exactly one chart
 * layer and at most one provenance layer.
 *
 * @param firstSeen the time to use as `created` when the manifest has no creation annotation
 */
export function classifyManifest(manifest: Manifest, firstSeen: string): Classified {
  if (isIndex(manifest)) return { chart: false, reason: "an index, not a chart manifest" };
  if (manifest.config?.mediaType !== HELM_CONFIG) {
    return { chart: false, reason: `config type "${manifest.config?.mediaType}" is not a Helm config` };
  }
  const charts = manifest.layers.filter((l) => l.mediaType === HELM_CHART);
  const provs = manifest.layers.filter((l) => l.mediaType === HELM_PROVENANCE);
  const layer = charts[0];
  if (charts.length !== 1 || !layer) return { chart: false, reason: `${charts.length} chart layers` };
  if (provs.length > 1) return { chart: false, reason: `${provs.length} provenance layers` };
  if (charts.length + provs.length !== manifest.layers.length) {
    return { chart: false, reason: "layers of other media types" };
  }
  const created = manifest.annotations?.[ANNOTATION_CREATED] ?? firstSeen;
  return { chart: true, config: manifest.config, layer, provenance: provs[0], created };
}

/** Options of a ChartIndexer. */
export interface ChartIndexerOptions {
  /** Registry requests in flight at once while indexing (default 16). */
  concurrency?: number;
  /** Receives one line per skipped repository or tag that failed. */
  log?: (line: string) => void;
  /** Clock for `created` of manifests without a creation annotation. */
  now?: () => Date;
}

/** The outcome of one walk over the registry. */
export interface ChartCatalog {
  /** Every chart version found, in repository then tag order. */
  charts: ChartRecord[];
  /** The catalog, as listed. */
  repositories: string[];
}

/** Walks a registry for Helm charts, caching manifests and configs by digest between walks. */
export class ChartIndexer {
  #source: ChartSource;
  #concurrency: number;
  #log: (line: string) => void;
  #now: () => Date;
  #manifests = new Map<Digest, Promise<Classified>>();
  #configs = new Map<Digest, Promise<Record<string, unknown>>>();
  /** Digests met by the walk in progress. */
  #touched?: Set<Digest>;
  /** Problems reported by the last walk and the one in progress: each is logged once while it lasts. */
  #reported = new Set<string>();
  #reporting?: Set<string>;

  /** @param source the registry (or a stub) */
  constructor(source: ChartSource, options: ChartIndexerOptions = {}) {
    this.#source = source;
    this.#concurrency = options.concurrency ?? 16;
    this.#log = options.log ?? (() => {});
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Lists every repository and tag and returns the chart versions. A repository or tag that fails is logged
   * and left out; only a failing catalog listing fails the walk.
   *
   * @throws whatever the source throws when listing the catalog
   */
  async walk(): Promise<ChartCatalog> {
    const repositories = await this.#source.listRepositories();
    const touched = new Set<Digest>();
    this.#touched = touched;
    const reporting = new Set<string>();
    this.#reporting = reporting;
    const tagLists = await mapLimit(repositories, this.#concurrency, async (repository) => {
      try {
        return (await this.#source.listTags(repository)).map((tag) => ({ repository, tag }));
      } catch (error) {
        this.#report(`skipping repository "${repository}": ${firstLine(error)}`);
        return [];
      }
    });
    const wanted = tagLists.flat().filter(({ tag }) => versionFromTag(tag) !== undefined);
    const found = await mapLimit(wanted, this.#concurrency, async ({ repository, tag }) => {
      try {
        return await this.lookup(repository, tag);
      } catch (error) {
        this.#report(`skipping "${repository}:${tag}": ${firstLine(error)}`);
        return undefined;
      }
    });
    const charts = found.filter((c): c is ChartRecord => c !== undefined);
    if (this.#touched === touched) this.#prune(touched);
    if (this.#reporting === reporting) this.#reported = reporting;
    return { charts, repositories };
  }

  /**
   * Resolves one tag to a chart version, or undefined when the tag is missing, not a version, not a chart, or
   * names a different version than its config.
   *
   * @throws whatever the source throws
   */
  async lookup(
    repository: string,
    tag: string,
  ): Promise<ChartRecord | undefined> {
    const version = versionFromTag(tag);
    if (version === undefined) return undefined;
    const digest = await this.#source.resolveTag(repository, tag);
    if (!digest) return undefined;
    this.#touched?.add(digest);
    const kind = await this.#classified(repository, digest);
    if (!kind.chart) return undefined;
    this.#touched?.add(kind.config.digest);
    const metadata = await this.#config(repository, kind.config);
    const name = metadata.name;
    if (typeof name !== "string" || name === "" || typeof metadata.version !== "string") {
      this.#report(`skipping "${repository}:${tag}": the chart config has no name or version`);
      return undefined;
    }
    if (metadata.version !== version) {
      this.#report(`skipping "${repository}:${tag}": the chart says version "${metadata.version}"`);
      return undefined;
    }
    return {
      repository,
      tag,
      manifestDigest: digest,
      name,
      version,
      metadata,
      config: kind.config,
      chart: kind.layer,
      provenance: kind.provenance,
      created: kind.created,
    };
  }

  /** Logs a problem, once while it persists from walk to walk. */
  #report(line: string): void {
    this.#reporting?.add(line);
    if (!this.#reported.has(line)) this.#log(line);
  }

  #classified(repository: string, digest: Digest): Promise<Classified> {
    let found = this.#manifests.get(digest);
    if (!found) {
      const seen = this.#now().toISOString();
      found = this.#source.fetchManifest(repository, digest).then((m) => classifyManifest(m, seen));
      this.#manifests.set(digest, found);
      found.catch(() => this.#manifests.delete(digest));
    }
    return found;
  }

  #config(repository: string, descriptor: Descriptor): Promise<Record<string, unknown>> {
    let found = this.#configs.get(descriptor.digest);
    if (!found) {
      found = this.#readConfig(repository, descriptor);
      this.#configs.set(descriptor.digest, found);
      found.catch(() => this.#configs.delete(descriptor.digest));
    }
    return found;
  }

  async #readConfig(repository: string, descriptor: Descriptor): Promise<Record<string, unknown>> {
    if (descriptor.size > MAX_CONFIG_BYTES) {
      throw new Error(
        `chart config "${descriptor.digest}" is ${descriptor.size} bytes, over the 4 MiB limit`,
      );
    }
    const bytes = await this.#source.fetchBlob(repository, descriptor);
    const parsed: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new Error(`chart config "${descriptor.digest}" is not a JSON object`);
    }
    return parsed as Record<string, unknown>;
  }

  /** Forgets manifests and configs the last walk did not meet, so the caches stay as big as the registry. */
  #prune(touched: Set<Digest>): void {
    for (const digest of this.#manifests.keys()) if (!touched.has(digest)) this.#manifests.delete(digest);
    for (const digest of this.#configs.keys()) if (!touched.has(digest)) this.#configs.delete(digest);
  }
}

/** A rendered index.yaml. */
export interface RenderedIndex {
  /** The YAML text. */
  body: string;
  /** Hash of the entries (without `generated`): equal entries give an equal hash. */
  contentHash: string;
  /** The charts served, by file name (`NAME-VERSION.tgz`); the first repository wins a duplicate. */
  files: Map<string, ChartRecord>;
}

/**
 * Renders charts as Helm's index.yaml: `apiVersion: v1`, `entries` (chart name → versions, newest first, each
 * with every Chart.yaml field, `urls`, `created` and `digest`), and `generated`. Keys are sorted, as Helm
 * writes them.
 *
 * @param generated RFC 3339 time written as `generated`
 * @param options `log` hears about duplicate chart versions; `previous` keeps `generated` (and so the body and
 *   its ETag) when the entries did not change
 */
export function renderIndex(
  charts: readonly ChartRecord[],
  generated: string,
  options: { log?: (line: string) => void; previous?: RenderedIndex } = {},
): RenderedIndex {
  const files = new Map<string, ChartRecord>();
  for (const chart of charts) {
    const file = chartFileName(chart.name, chart.version);
    const first = files.get(file);
    if (first) {
      options.log?.(
        `chart "${file}" is in both "${first.repository}" and "${chart.repository}"; serving the first`,
      );
    } else files.set(file, chart);
  }
  const byName = new Map<string, ChartRecord[]>();
  for (const chart of files.values()) byName.set(chart.name, [...(byName.get(chart.name) ?? []), chart]);
  const entries: Record<string, Record<string, unknown>[]> = {};
  for (const name of [...byName.keys()].sort()) {
    entries[name] = byName.get(name)!.sort(newestFirst).map((chart) => ({
      ...chart.metadata,
      created: chart.created,
      digest: digestHex(chart.chart.digest),
      urls: [`charts/${chartFileName(chart.name, chart.version)}`],
    }));
  }
  const contentHash = digestOf(JSON.stringify(entries));
  if (options.previous?.contentHash === contentHash) return { ...options.previous, files };
  const body = stringifyYaml({ apiVersion: "v1", entries, generated }, { sortMapEntries: true });
  return { body, contentHash, files };
}

function newestFirst(a: ChartRecord, b: ChartRecord): number {
  return semver.rcompare(a.version, b.version) ||
    (a.version < b.version ? 1 : a.version > b.version ? -1 : 0);
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!;
}

/** Maps `items` through `fn` with at most `limit` calls in flight, keeping the order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
