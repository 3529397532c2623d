/**
 * The options the artifact commands share: those of every command that reaches a registry or a layout
 * (credentials for this command only, `--oci-layout`), `--concurrency`, `--platform`, `--annotation`.
 *
 * @module
 */

import type { OptionSpecs } from "./command.ts";

/**
 * What every command that reaches a registry or a layout takes, as oras has it: credentials for this command
 * only (not stored), and `--oci-layout` / `--oci-layout-path` instead of the `oci-layout:` prefix.
 */
export const TARGET_OPTIONS = {
  username: { type: "string", short: "u", value: "USER", description: "registry user (this command only)" },
  password: {
    type: "string",
    short: "p",
    value: "PASS",
    description: "registry password (warns: see --password-stdin)",
  },
  "password-stdin": { type: "boolean", description: "read the registry password from stdin" },
  "identity-token": {
    type: "string",
    value: "TOKEN",
    description: "an OAuth2 refresh token instead of a password",
  },
  "oci-layout": {
    type: "boolean",
    description: "REF is an OCI layout folder (or a .tar of one): DIR[:TAG|@DIGEST]",
  },
  "oci-layout-path": {
    type: "string",
    value: "DIR",
    description: "REF is a tag or digest in the OCI layout DIR",
  },
} as const satisfies OptionSpecs;

/** A command's own options followed by TARGET_OPTIONS (help lists them in this order). */
export function withTargetOptions<const O extends OptionSpecs>(own: O): O & typeof TARGET_OPTIONS {
  return { ...own, ...TARGET_OPTIONS };
}

/** The `--concurrency` option spec. */
export const CONCURRENCY_OPTION = {
  type: "string",
  value: "N",
  description: "parallel transfers (default 3)",
} as const;

/** The `--platform OS/ARCH[/VARIANT]` option spec. */
export const PLATFORM_OPTION = {
  type: "string",
  value: "OS/ARCH",
  description: "the manifest of an image index for this platform",
} as const;

/** The repeatable `--annotation K=V` option spec. */
export const ANNOTATION_OPTION = {
  type: "string",
  short: "a",
  multiple: true,
  value: "K=V",
  description: "manifest annotation",
} as const;
