/**
 * The package manager's error: a failed package operation, with a one-line message and an optional hint.
 *
 * @module
 */

/** A failed package operation (push, pull, add, resolve). */
export class PackageError extends Error {
  /** The error's class name. */
  override name = "PackageError";
}
