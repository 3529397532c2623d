/**
 * The options every command takes (`--plain-http`, `--json`, `-q`, `-v`…) and how their values become the
 * GlobalOptions a command receives.
 *
 * @module
 */

import { type GlobalOptions, type OptionSpecs, UsageError } from "./command.ts";
import { parseDuration } from "./duration.ts";
import type { Setting } from "../config/setting.ts";
import { timeoutSetting } from "../config/timeout.ts";

/** The options every command takes. */
export const GLOBAL_OPTIONS = {
  "plain-http": {
    type: "boolean",
    description: "use plain HTTP (loopback registries try https, then http)",
  },
  insecure: {
    type: "boolean",
    description: "not supported: Deno cannot skip TLS verification; use --ca-file",
  },
  "insecure-skip-tls-verify": { type: "boolean", description: "the KCL CLI's spelling of --insecure" },
  "ca-file": { type: "string", value: "FILE", description: "trust the CA certificates in FILE (PEM) too" },
  "cert-file": { type: "string", value: "FILE", description: "client certificate (PEM) for TLS registries" },
  "key-file": { type: "string", value: "FILE", description: "private key (PEM) of --cert-file" },
  timeout: {
    type: "string",
    value: "D",
    description:
      "abort a request, token request or credential helper after D of silence (30s; env KPM_TIMEOUT)",
  },
  "registry-config": {
    type: "string",
    value: "FILE",
    description: "credentials file (docker config.json format)",
  },
  json: { type: "boolean", description: "print one JSON document on stdout" },
  format: { type: "string", value: "json|text", description: "oras's spelling: --format json is --json" },
  quiet: { type: "boolean", short: "q", description: "print no progress or diagnostics" },
  verbose: { type: "boolean", short: "v", description: "print details and stack traces" },
  help: { type: "boolean", short: "h", description: "show help" },
} as const satisfies OptionSpecs;

function stringValue(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/**
 * Reads the global options out of parsed values.
 *
 * @throws {UsageError} for --insecure (Deno's fetch cannot skip certificate checks for one connection), an
 *   unknown --format and an invalid --timeout / KPM_TIMEOUT
 */
export function globalOptions(
  values: Record<string, unknown>,
  env: Record<string, string | undefined>,
): GlobalOptions {
  if (values.insecure === true || values["insecure-skip-tls-verify"] === true) {
    throw new UsageError(
      "--insecure is not supported: Deno cannot skip TLS certificate checks for one connection; " +
        "trust the registry's CA with --ca-file FILE, or use --plain-http for a registry without TLS",
    );
  }
  const json = formatIsJson(values);
  return {
    plainHttp: values["plain-http"] === true,
    tls: {
      caFile: stringValue(values["ca-file"]),
      certFile: stringValue(values["cert-file"]),
      keyFile: stringValue(values["key-file"]),
    },
    registryConfig: stringValue(values["registry-config"]),
    timeoutMs: timeoutOption(timeoutSetting(env, stringValue(values.timeout))),
    quiet: values.quiet === true || json && env.KPM_PROGRESS === undefined,
    verbose: values.verbose === true,
  };
}

/** The idle timeout in ms (lib/config's timeoutSetting, parsed); undefined: the client's 30 s; `0` means none. */
function timeoutOption(setting: Setting<string | undefined>): number | undefined {
  return setting.value === undefined ? undefined : parseDuration(setting.value, setting.origin);
}

/**
 * Whether stdout carries JSON: `--json`, or oras's `--format json`.
 *
 * @throws {UsageError} for a format kpm does not write (oras's go-template among them)
 */
function formatIsJson(values: Record<string, unknown>): boolean {
  const format = values.format;
  if (format !== undefined && format !== "json" && format !== "text") {
    throw new UsageError(`Invalid --format "${format}": kpm writes json or text`);
  }
  return values.json === true || format === "json";
}
