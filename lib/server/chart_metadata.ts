/**
 * The Chart.yaml fields of a chart config blob, checked against the types Helm reads them as.
 *
 * Helm loads index.yaml strictly (`yaml.UnmarshalStrict` into its `ChartVersion` type): one unknown field or
 * one field of the wrong type anywhere makes `helm repo add`/`update` fail for the whole repository. A config
 * blob is written by whoever pushed the chart, so only the fields of Helm's `chart.Metadata` go into the index,
 * each of the type Helm expects; a config with a field of another type is not a Helm chart config.
 *
 * @module
 */

/** How Helm types a field. */
type FieldType = "string" | "strings" | "boolean" | "stringMap" | "list" | { objects: Schema };
type Schema = Record<string, FieldType>;

const MAINTAINER: Schema = { name: "string", email: "string", url: "string" };

const DEPENDENCY: Schema = {
  name: "string",
  version: "string",
  repository: "string",
  condition: "string",
  tags: "strings",
  enabled: "boolean",
  "import-values": "list",
  alias: "string",
};

/** Helm's `chart.Metadata` (pkg/chart), the fields of the config blob `helm push` and `helm chart save` write. */
const METADATA: Schema = {
  name: "string",
  home: "string",
  sources: "strings",
  version: "string",
  description: "string",
  keywords: "strings",
  maintainers: { objects: MAINTAINER },
  icon: "string",
  apiVersion: "string",
  condition: "string",
  tags: "string",
  appVersion: "string",
  deprecated: "boolean",
  annotations: "stringMap",
  kubeVersion: "string",
  dependencies: { objects: DEPENDENCY },
  type: "string",
};

/**
 * The Chart.yaml fields of a parsed config blob that Helm knows, in Helm's order; unknown fields and nulls are
 * dropped.
 *
 * @throws {Error} naming the field when a known field has another type than Helm's
 * @example
 * chartMetadata({ name: "web", version: "1.0.0", extra: 1 }); // { name: "web", version: "1.0.0" }
 */
export function chartMetadata(config: unknown): Record<string, unknown> {
  return checkObject(config, METADATA, "the chart config");
}

function checkObject(value: unknown, schema: Schema, where: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${where} is not an object`);
  }
  const fields = value as Record<string, unknown>;
  const checked: Record<string, unknown> = {};
  for (const [key, type] of Object.entries(schema)) {
    const field = Object.hasOwn(fields, key) ? fields[key] : undefined;
    if (field === undefined || field === null) continue;
    checked[key] = checkField(field, type, `field "${key}" of ${where}`);
  }
  return checked;
}

function checkField(value: unknown, type: FieldType, where: string): unknown {
  const expected = typeof type === "string" ? type : "objects";
  const ok = type === "string"
    ? typeof value === "string"
    : type === "boolean"
    ? typeof value === "boolean"
    : type === "stringMap"
    ? isObject(value) && Object.values(value).every((v) => typeof v === "string")
    : Array.isArray(value) && (type !== "strings" || value.every((v) => typeof v === "string"));
  if (!ok) throw new Error(`${where} is not of type ${expected}, as Helm reads it`);
  if (typeof type === "string") return value;
  return (value as unknown[]).map((item, i) => checkObject(item, type.objects, `item ${i} of ${where}`));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
