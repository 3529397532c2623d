/**
 * The plain-HTTP rule, decided here only: `--plain-http` or `OCI_REG_PLAIN_HTTP=on` make every registry plain
 * HTTP; kpm.json's `DefaultOciPlainHttp` only the default registry; otherwise https, where the client tries a
 * loopback registry over https and falls back to http (as docker does).
 *
 * @module
 */

import { isLoopback } from "../oci/reference.ts";
import type { Setting } from "./setting.ts";

/** The settings the rule reads: plain HTTP and, for package commands, the default registry. */
export interface PlainHttpSettings {
  plainHttp: Setting<boolean>;
  /** The default registry kpm.json's DefaultOciPlainHttp applies to. */
  registry?: Setting<string>;
}

/**
 * Whether kpm speaks plain HTTP to `registry` from the first request.
 *
 * @param settings the resolved settings
 * @param registry `host[:port]`
 */
export function usesPlainHttp(settings: PlainHttpSettings, registry: string): boolean {
  const { plainHttp } = settings;
  return plainHttp.value && (plainHttp.source !== "kpm.json" || registry === settings.registry?.value);
}

/**
 * Whether kpm may reach `host` over http at all: plain HTTP was asked for, or it is a loopback host.
 *
 * @param settings the resolved settings
 * @param host `host[:port]`
 */
export function allowsHttp(settings: PlainHttpSettings, host: string): boolean {
  return usesPlainHttp(settings, host) || isLoopback(host);
}
