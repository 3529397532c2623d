/**
 * How a chart stored in an OCI registry is named: Helm's rule that a chart lives in the repository named after
 * it (`helm push web-1.0.0.tgz oci://host/team` writes `team/web:1.0.0`), the tag a version is stored under,
 * and the file name and URL it is served as. Repository names, tags and chart configs come from the registry
 * and are untrusted: these functions are where they are checked before they become names, paths or URLs.
 *
 * @module
 */

import { isValidRepository } from "../oci/reference.ts";

/**
 * SemVer 2 (semver.org's grammar), with the optional `v` that Helm accepts; major, minor and patch have at most
 * 15 digits, so that they compare as exact numbers.
 */
const VERSION_PATTERN = new RegExp(
  "^v?(?:0|[1-9]\\d{0,14})\\.(?:0|[1-9]\\d{0,14})\\.(?:0|[1-9]\\d{0,14})" +
    "(?:-(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?" +
    "(?:\\+[0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*)?$",
);

/** The longest tag the distribution spec allows, and so the longest chart version that can be stored. */
const MAX_VERSION_LENGTH = 128;

/**
 * Tells whether a string is a chart version: SemVer 2, optionally with a leading `v`, at most 128 characters.
 *
 * @example
 * isChartVersion("1.2.0+build.5"); // true
 * isChartVersion("../../x"); // false
 */
export function isChartVersion(version: string): boolean {
  return version.length <= MAX_VERSION_LENGTH && VERSION_PATTERN.test(version);
}

/**
 * The chart version a tag names: Helm stores version `1.0.0+build` under tag `1.0.0_build`.
 *
 * @returns the version, or undefined when the tag is not a chart version (e.g. `latest`, `sha256-…`)
 */
export function versionFromTag(tag: string): string | undefined {
  const version = tag.replaceAll("_", "+");
  return isChartVersion(version) ? version : undefined;
}

/** The tag a chart version is stored under (`+` → `_`). */
export function tagFromVersion(version: string): string {
  return version.replaceAll("+", "_");
}

/**
 * The name of the chart a repository may hold, by Helm's rule: its last path component (`team/web` → `web`).
 *
 * @returns the name, or undefined when `repository` is not a valid OCI repository name
 */
export function chartNameOf(repository: string): string | undefined {
  return isValidRepository(repository) ? repository.slice(repository.lastIndexOf("/") + 1) : undefined;
}

/** The file name a chart version is served as: `NAME-VERSION.tgz`. */
export function chartFileName(name: string, version: string): string {
  return `${name}-${version}.tgz`;
}

/**
 * The URL of a chart file in index.yaml, relative to the repository and escaped (`+` becomes `%2B`).
 *
 * @example
 * chartUrl("web", "1.0.0+b.1"); // "charts/web-1.0.0%2Bb.1.tgz"
 */
export function chartUrl(name: string, version: string): string {
  return `charts/${encodeURIComponent(chartFileName(name, version))}`;
}
