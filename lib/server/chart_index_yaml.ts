/**
 * Renders the chart versions found in a registry as Helm's `index.yaml`, leaving out chart files that more
 * than one repository claims.
 *
 * @module
 */

import { loadSemver, loadYaml } from "../deps.ts";
import { digestHex, digestOf } from "../oci/digest.ts";
import type { ChartRecord } from "./chart_index.ts";
import { chartFileName, chartUrl } from "./chart_names.ts";

// Only the chart-repo server loads this module, and it needs both packages for every index; load them here,
// once, so that rendering stays synchronous.
const [semver, { stringifyYaml }] = await Promise.all([loadSemver(), loadYaml()]);

/** A rendered index.yaml. */
export interface RenderedIndex {
  /** The YAML text. */
  body: string;
  /** Hash of the entries (without `generated`): equal entries give an equal hash. */
  contentHash: string;
  /** The charts served, by file name (`NAME-VERSION.tgz`). */
  files: Map<string, ChartRecord>;
  /** Chart files left out because several repositories hold them: file name → one error line. */
  conflicts: Map<string, string>;
}

/**
 * Renders charts as Helm's index.yaml: `apiVersion: v1`, `entries` (chart name → versions, newest first, each
 * with the chart's Chart.yaml fields, `urls`, `created` and `digest`), and `generated`. Keys are sorted, as
 * Helm writes them. A chart file (`NAME-VERSION.tgz`) found in more than one repository is left out and
 * reported in `conflicts`: which one is meant cannot be known, and serving either would let one repository
 * replace another's chart.
 *
 * @param generated RFC 3339 time written as `generated`
 * @param options `previous` keeps `generated` (and so the body and its ETag) when the entries did not change
 */
export function renderIndex(
  charts: readonly ChartRecord[],
  generated: string,
  options: { previous?: RenderedIndex } = {},
): RenderedIndex {
  const claims = new Map<string, ChartRecord[]>();
  for (const chart of charts) {
    const file = chartFileName(chart.name, chart.version);
    claims.set(file, [...(claims.get(file) ?? []), chart]);
  }
  const files = new Map<string, ChartRecord>();
  const conflicts = new Map<string, string>();
  for (const [file, claimed] of claims) {
    if (claimed.length === 1) files.set(file, claimed[0]!);
    else conflicts.set(file, conflictMessage(file, claimed.map((c) => c.repository)));
  }
  const byName = new Map<string, ChartRecord[]>();
  for (const chart of files.values()) byName.set(chart.name, [...(byName.get(chart.name) ?? []), chart]);
  const entries: Record<string, Record<string, unknown>[]> = {};
  for (const name of [...byName.keys()].sort()) {
    entries[name] = byName.get(name)!.sort(newestFirst).map((chart) => ({
      ...chart.metadata,
      created: chart.created,
      digest: digestHex(chart.chart.digest),
      urls: [chartUrl(chart.name, chart.version)],
    }));
  }
  const contentHash = digestOf(JSON.stringify(entries));
  if (options.previous?.contentHash === contentHash) return { ...options.previous, files, conflicts };
  const body = stringifyYaml({ apiVersion: "v1", entries, generated }, { sortMapEntries: true });
  return { body, contentHash, files, conflicts };
}

/**
 * The error line for a chart file that several repositories hold.
 *
 * @param repositories at least two repository names
 */
function conflictMessage(file: string, repositories: readonly string[]): string {
  const quoted = [...repositories].sort().map((r) => `"${r}"`);
  return `chart "${file}" is in ${quoted.slice(0, -1).join(", ")} and ${quoted.at(-1)}: ` +
    "left out of the index until only one repository holds it";
}

function newestFirst(a: ChartRecord, b: ChartRecord): number {
  return semver.rcompare(a.version, b.version) ||
    (a.version < b.version ? 1 : a.version > b.version ? -1 : 0);
}
