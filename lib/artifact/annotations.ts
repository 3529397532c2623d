/**
 * Annotations of an artifact push: `--annotation K=V` and oras's `--annotation-file` JSON
 * (`{"$manifest": {...}, "$config": {...}, "FILE": {...}}`), merged and checked.
 *
 * @module
 */

import { ANNOTATION_CREATED } from "../oci/media_types.ts";
import { ArtifactError } from "./files.ts";

/** Annotations for the manifest, the config and each file (keyed by the file's title). */
export interface ArtifactAnnotations {
  manifest: Record<string, string>;
  config: Record<string, string>;
  files: Record<string, Record<string, string>>;
}

/** The annotation-file key of the manifest's annotations. */
export const MANIFEST_KEY = "$manifest";
/** The annotation-file key of the config's annotations. */
export const CONFIG_KEY = "$config";

/**
 * Parses `K=V` values (the value may contain `=`).
 *
 * @throws {ArtifactError} for a value without `=` or with an empty key
 */
export function parseAnnotationFlags(values: string[]): Record<string, string> {
  const annotations: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf("=");
    if (eq <= 0) throw new ArtifactError(`Invalid annotation "${value}": expected KEY=VALUE`);
    const key = value.slice(0, eq);
    if (key in annotations) throw new ArtifactError(`Invalid annotation "${value}": "${key}" is given twice`);
    annotations[key] = value.slice(eq + 1);
  }
  return annotations;
}

/**
 * Parses the text of an oras annotation file.
 *
 * @param where names the file in errors
 * @throws {ArtifactError} for invalid JSON or values that are not string maps
 * @example parseAnnotationFile('{"$manifest":{"a":"1"},"hi.txt":{"b":"2"}}', "ann.json")
 */
export function parseAnnotationFile(text: string, where: string): ArtifactAnnotations {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ArtifactError(`Cannot read annotation file "${where}": ${(error as Error).message}`);
  }
  if (!json || typeof json !== "object" || Array.isArray(json)) {
    throw new ArtifactError(`Cannot read annotation file "${where}": expected a JSON object`);
  }
  const result: ArtifactAnnotations = { manifest: {}, config: {}, files: {} };
  for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
    if (!value || typeof value !== "object" || Array.isArray(value)) {
      throw new ArtifactError(`Cannot read annotation file "${where}": "${key}" is not an object`);
    }
    const map: Record<string, string> = {};
    for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
      if (typeof v !== "string") {
        throw new ArtifactError(
          `Cannot read annotation file "${where}": "${key}"."${name}" is not a string`,
        );
      }
      map[name] = v;
    }
    if (key === MANIFEST_KEY) result.manifest = map;
    else if (key === CONFIG_KEY) result.config = map;
    else result.files[key] = map;
  }
  return result;
}

/**
 * Merges `--annotation` values into the annotation file's manifest annotations and checks, as oras does, that
 * every file the file names is pushed and that a given creation time is an RFC 3339 date-time.
 *
 * @param titles the titles of the files being pushed
 * @throws {ArtifactError} when a key is set by both, the file names a file that is not pushed, or
 *   `org.opencontainers.image.created` is not an RFC 3339 date-time
 */
export function mergeAnnotations(
  flags: Record<string, string>,
  file: ArtifactAnnotations | undefined,
  titles: string[],
): ArtifactAnnotations {
  const result: ArtifactAnnotations = file
    ? { manifest: { ...file.manifest }, config: { ...file.config }, files: { ...file.files } }
    : { manifest: {}, config: {}, files: {} };
  for (const [key, value] of Object.entries(flags)) {
    if (key in result.manifest && result.manifest[key] !== value) {
      throw new ArtifactError(`Annotation "${key}" is set by both --annotation and the annotation file`);
    }
    result.manifest[key] = value;
  }
  const known = new Set(titles);
  for (const name of Object.keys(result.files)) {
    if (!known.has(name)) {
      throw new ArtifactError(`The annotation file names "${name}", which is not among the files pushed`);
    }
  }
  const created = result.manifest[ANNOTATION_CREATED];
  if (created !== undefined && !RFC_3339.test(created)) {
    throw new ArtifactError(
      `Invalid annotation "${ANNOTATION_CREATED}": "${created}" is not an RFC 3339 date-time (2006-01-02T15:04:05Z)`,
    );
  }
  return result;
}

/** An RFC 3339 date-time (as Go's time.RFC3339 parses it). */
const RFC_3339 =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;
