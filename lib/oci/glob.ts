/**
 * Globs over `/`-separated paths (repository names, package files), translated into regular expressions. The
 * callers differ in two rules, chosen by options; anchoring is theirs.
 *
 * @module
 */

/** The two rules on which kpm's globs differ. */
export interface GlobOptions {
  /** The `/` after `**` is optional, so `**`, `/`, `x` also matches a top-level `x` (kcl.mod include/exclude). */
  slashAfterGlobstarOptional?: boolean;
  /** `?` is a literal question mark, not one character but `/` (trust-policy scopes). */
  literalQuestionMark?: boolean;
}

/**
 * Translates a glob into regular-expression source, unanchored: `**` any characters, `*` any characters but
 * `/`, `?` one character but `/`; everything else literal.
 */
export function globSource(glob: string, options: GlobOptions = {}): string {
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === "*" && glob[i + 1] === "*") {
      source += ".*";
      i++;
      if (options.slashAfterGlobstarOptional && glob[i + 1] === "/") i++;
    } else if (char === "*") source += "[^/]*";
    else if (char === "?" && !options.literalQuestionMark) source += "[^/]";
    else source += char.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
  }
  return source;
}
