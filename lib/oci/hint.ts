/**
 * Hints: what the user can do about a failure, carried on the error as data. lib/ never words them: the CLI
 * does (lib/cli/hints.ts, `hint: …` under the error line, `"hint"` in the `--json` error document), and a
 * library caller reads `error.hint`.
 *
 * @module
 */

/** The hints of registry operations. */
export type RegistryHint =
  /** Log in to `registry` (or to the registry, when unknown) first. */
  | { kind: "login"; registry?: string }
  /** The credentials have no access to this repository. */
  | { kind: "access" }
  /** Check the repository name and the tag. */
  | { kind: "reference" }
  /** Nothing arrived within the idle timeout: raise it. */
  | { kind: "timeout" };

/** An error that may carry a hint of type `H`. */
export class HintedError<H extends { kind: string }> extends Error {
  /** What the user can do about it, if anything. */
  readonly hint?: H;

  /**
   * Makes the error.
   *
   * @param message the one-line message (no hint in it)
   * @param options the hint and the cause
   */
  constructor(message: string, options: { hint?: H; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.hint = options.hint;
  }
}
