/**
 * File names for a Helm chart's layers, which Helm pushes without titles: `NAME-VERSION.tgz` and
 * `NAME-VERSION.tgz.prov`, from the chart name and version that Helm writes into the manifest's annotations.
 * The annotations are registry data: a name or version that is not plainly a chart name or a SemVer version
 * leaves the layers untitled (and so skipped, as oras skips them).
 *
 * @module
 */

import type { Descriptor, ImageManifest } from "../oci/manifest.ts";
import { ANNOTATION_TITLE, HELM_CHART, HELM_CONFIG, HELM_PROVENANCE } from "../oci/media_types.ts";

/** The annotation Helm writes the chart version into. */
const ANNOTATION_VERSION = "org.opencontainers.image.version";
const CHART_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const SEMVER = /^v?\d{1,9}\.\d{1,9}\.\d{1,9}(-[0-9A-Za-z.-]{1,100})?(\+[0-9A-Za-z.-]{1,100})?$/;

/**
 * The manifest's layers, where the manifest is a Helm chart, with titles for its untitled chart and
 * provenance layers.
 *
 * @returns the layers (the same objects when there is nothing to name)
 * @example withHelmTitles(manifest) // chart layer titled "demo-0.1.0.tgz"
 */
export function withHelmTitles(manifest: ImageManifest): Descriptor[] {
  const name = manifest.annotations?.[ANNOTATION_TITLE];
  const version = manifest.annotations?.[ANNOTATION_VERSION];
  if (manifest.config?.mediaType !== HELM_CONFIG || !name || !version) return manifest.layers;
  if (!CHART_NAME.test(name) || name.includes("..") || !SEMVER.test(version)) return manifest.layers;
  const file = `${name}-${version}.tgz`;
  return manifest.layers.map((layer) => {
    if (layer.annotations?.[ANNOTATION_TITLE]) return layer;
    const title = layer.mediaType === HELM_CHART
      ? file
      : layer.mediaType === HELM_PROVENANCE
      ? `${file}.prov`
      : undefined;
    return title ? { ...layer, annotations: { ...layer.annotations, [ANNOTATION_TITLE]: title } } : layer;
  });
}
