/**
 * References: `host[:port]/repo[:tag][@digest]`, with an optional `oci://` prefix and docker's rules for names
 * without a registry.
 *
 * @module
 */

import {
  formatReference as formatInternal,
  parseReference as parseInternal,
  type Reference,
} from "../oci/reference.ts";

export type { Reference };

/**
 * Parses a reference. A name with no registry (`account/repo:1.0`, `alpine`) means Docker Hub, with
 * `library/` before single-segment names, as docker reads them.
 *
 * @throws {ReferenceFormatError} naming the input and what is wrong with it
 * @example
 * ```ts
 * import { parseReference } from "@kcl/kpm";
 *
 * console.log(parseReference("oci://localhost:5001/test/mypkg:0.0.1"));
 * // { registry: "localhost:5001", repository: "test/mypkg", tag: "0.0.1" }
 * console.log(parseReference("alpine").repository); // library/alpine
 * ```
 */
export function parseReference(input: string): Reference {
  return parseInternal(input);
}

/**
 * Formats a reference as `registry/repository[:tag][@digest]`.
 *
 * @example
 * ```ts
 * import { formatReference } from "@kcl/kpm";
 *
 * console.log(formatReference({ registry: "ghcr.io", repository: "kcl-lang/k8s", tag: "1.28" })); // ghcr.io/kcl-lang/k8s:1.28
 * ```
 */
export function formatReference(reference: Reference): string {
  return formatInternal(reference);
}
export type { Digest } from "../oci/digest.ts";
