/**
 * The package manager's error: a failed package operation, with a one-line message and an optional hint (as
 * data: the CLI words it), and the hints package operations give.
 *
 * @module
 */

import { HintedError } from "../oci/hint.ts";

/** The hints of package operations. */
export type PackageHint =
  /** The tag exists: overwrite it on purpose (`--force`). */
  | { kind: "force" }
  /** No tag is a semantic version: name the version. */
  | { kind: "version" }
  /** The KCL compiler is missing: install it, or name it (KPM_KCL_BIN). */
  | { kind: "compiler" }
  /** A trust policy wants a signature: have the publisher sign, or skip the check on purpose (`--no-verify`). */
  | { kind: "signature" };

/** A failed package operation (push, pull, add, resolve). */
export class PackageError extends HintedError<PackageHint> {
  /** The error's class name. */
  override name = "PackageError";
}
