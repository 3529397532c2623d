/**
 * Builds a Helm chart-repository `index.yaml` from the Helm chart artifacts of an OCI registry.
 *
 * Tags are re-listed on every build; manifests and config blobs are cached by digest (they are immutable), so
 * a warm build costs one catalog listing, one tag listing per repository and one HEAD per chart tag.
 *
 * @module
 */

import type { RegistryClient } from "../oci/client.ts";
import { Limiter } from "../oci/concurrency.ts";
import { Registry } from "../oci/repository.ts";
import type { Digest } from "../oci/digest.ts";
import { type Descriptor, isIndex, type Manifest } from "../oci/manifest.ts";
import {
  ANNOTATION_CREATED,
  HELM_CHART,
  HELM_CHART_LEGACY,
  HELM_CONFIG,
  HELM_PROVENANCE,
} from "../oci/media_types.ts";
import { chartMetadata } from "./chart_metadata.ts";
import { chartNameOf, versionFromTag } from "./chart_names.ts";

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
export function registryChartSource(client: RegistryClient, host: string): ChartSource {
  const registry = new Registry(client, host);
  return {
    listRepositories: () => registry.repositories(),
    listTags: (repository) => registry.repository(repository).tags(),
    resolveTag: async (repository, tag) =>
      (await registry.repository(repository).manifests.head(tag))?.digest,
    fetchManifest: async (repository, digest) =>
      (await registry.repository(repository).manifests.fetch(digest)).manifest,
    fetchBlob: async (repository, descriptor) => {
      const verified = await registry.repository(repository).fetchBlob(descriptor);
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

/** The media types of a chart's content layer: `helm push` (3.8+), and `helm chart save` (3.0–3.6). */
const CHART_LAYERS = new Set([HELM_CHART, HELM_CHART_LEGACY]);

/**
 * Tells whether a manifest is a Helm chart: an image manifest with the Helm config type, exactly one chart
 * layer (of either media type) and at most one provenance layer.
 *
 * @param firstSeen the time to use as `created` when the manifest has no valid creation annotation
 */
export function classifyManifest(manifest: Manifest, firstSeen: string): Classified {
  if (isIndex(manifest)) return { chart: false, reason: "an index, not a chart manifest" };
  if (manifest.config?.mediaType !== HELM_CONFIG) {
    return { chart: false, reason: `config type "${manifest.config?.mediaType}" is not a Helm config` };
  }
  const charts = manifest.layers.filter((l) => CHART_LAYERS.has(l.mediaType));
  const provs = manifest.layers.filter((l) => l.mediaType === HELM_PROVENANCE);
  const layer = charts[0];
  if (charts.length !== 1 || !layer) return { chart: false, reason: `${charts.length} chart layers` };
  if (provs.length > 1) return { chart: false, reason: `${provs.length} provenance layers` };
  if (charts.length + provs.length !== manifest.layers.length) {
    return { chart: false, reason: "layers of other media types" };
  }
  const annotated = manifest.annotations?.[ANNOTATION_CREATED];
  const created = annotated !== undefined && RFC3339.test(annotated) ? annotated : firstSeen;
  return { chart: true, config: manifest.config, layer, provenance: provs[0], created };
}

/** An RFC 3339 date-time, as Helm parses `created` (anything else would make it refuse the whole index). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

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
    const limiter = new Limiter(this.#concurrency);
    const tagLists = await limiter.map(repositories, async (repository) => {
      if (chartNameOf(repository) === undefined) {
        this.#report(`skipping repository ${JSON.stringify(repository)}: not a valid repository name`);
        return [];
      }
      try {
        return (await this.#source.listTags(repository)).map((tag) => ({ repository, tag }));
      } catch (error) {
        this.#report(`skipping repository "${repository}": ${firstLine(error)}`);
        return [];
      }
    });
    const wanted = tagLists.flat().filter(({ tag }) => versionFromTag(tag) !== undefined);
    const found = await limiter.map(wanted, async ({ repository, tag }) => {
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
    return { charts };
  }

  /**
   * Resolves one tag to a chart version, or undefined when the tag is missing, not a version, not a chart,
   * names a different version than its config, or the chart is not named after its repository (Helm's rule:
   * `team/web` holds the chart `web`), so that no repository can pass its charts off as another's.
   *
   * @throws whatever the source throws
   */
  async lookup(repository: string, tag: string): Promise<ChartRecord | undefined> {
    const version = versionFromTag(tag);
    const name = chartNameOf(repository);
    if (version === undefined || name === undefined) return undefined;
    const digest = await this.#source.resolveTag(repository, tag);
    if (!digest) return undefined;
    this.#touched?.add(digest);
    const kind = await this.#classified(repository, digest);
    if (!kind.chart) return undefined;
    this.#touched?.add(kind.config.digest);
    const metadata = await this.#config(repository, kind.config);
    const skip = metadata.name !== name
      ? `the chart is named ${JSON.stringify(metadata.name)}, not "${name}" as its repository`
      : metadata.version !== version
      ? `the chart says version ${JSON.stringify(metadata.version)}`
      : undefined;
    if (skip) {
      this.#report(`skipping "${repository}:${tag}": ${skip}`);
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
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw new Error(`chart config "${descriptor.digest}" is not JSON`);
    }
    return chartMetadata(parsed);
  }

  /** Forgets manifests and configs the last walk did not meet, so the caches stay as big as the registry. */
  #prune(touched: Set<Digest>): void {
    for (const digest of this.#manifests.keys()) if (!touched.has(digest)) this.#manifests.delete(digest);
    for (const digest of this.#configs.keys()) if (!touched.has(digest)) this.#configs.delete(digest);
  }
}

/** The first line of an error's message, for a one-line log entry or answer. */
export function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!;
}
