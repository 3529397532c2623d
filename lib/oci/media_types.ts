/**
 * Every media type kpm names, in one place.
 *
 * @module
 */

/** OCI image manifest. */
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** OCI image index. */
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
/** Docker schema 2 manifest. */
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
/** Docker manifest list. */
export const DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
/** Every manifest type kpm reads, in the order of the Accept header it sends. */
export const MANIFEST_TYPES = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST] as const;
/** Manifest types that reference other manifests. */
export const INDEX_TYPES: readonly string[] = [OCI_INDEX, DOCKER_MANIFEST_LIST];

/** OCI image config. */
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
/** Docker image config. */
export const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
/** The empty descriptor's media type (image-spec 1.1), content `{}`. */
export const OCI_EMPTY = "application/vnd.oci.empty.v1+json";
/** Config type ORAS uses for artifacts pushed without a config under image-spec 1.0. */
export const UNKNOWN_CONFIG = "application/vnd.unknown.config.v1+json";
/** ORAS's default artifact type when none is given under image-spec 1.1. */
export const UNKNOWN_ARTIFACT = "application/vnd.unknown.artifact.v1";

/** Plain tar layer; ORAS's default layer type for files. */
export const OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar";
/** Gzipped tar layer; used for KCL packages and ORAS folders. */
export const OCI_LAYER_TAR_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
/** Docker gzipped tar layer. */
export const DOCKER_LAYER_TAR_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/** Helm chart config. */
export const HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json";
/** Helm chart content layer. */
export const HELM_CHART = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/** Helm chart content layer as Helm 3.0–3.6's experimental `helm chart save` wrote it. */
export const HELM_CHART_LEGACY = "application/tar+gzip";
/** Helm provenance layer. */
export const HELM_PROVENANCE = "application/vnd.cncf.helm.chart.provenance.v1.prov";

/** Annotation holding a file's name (ORAS, image-spec). */
export const ANNOTATION_TITLE = "org.opencontainers.image.title";
/** Annotation holding the creation time (RFC 3339). */
export const ANNOTATION_CREATED = "org.opencontainers.image.created";
/** ORAS: the layer is a tar+gzip of a folder to unpack on pull. */
export const ANNOTATION_UNPACK = "io.deis.oras.content.unpack";
/** ORAS: digest of the uncompressed tar of a folder layer. */
export const ANNOTATION_CONTENT_DIGEST = "io.deis.oras.content.digest";
