/**
 * Text from registries, packages and charts made safe for a terminal: escape sequences (ANSI CSI, OSC such as
 * window titles and hyperlinks) and other control characters are removed, so a tag or annotation cannot
 * recolour, retitle, rewrite or hide what kpm prints. All human output and the final error go through here.
 *
 * @module
 */

/** ESC-introduced sequences: CSI (`ESC [ … final`), OSC/DCS/PM/APC strings (to BEL or ST), and two-byte ones. */
// deno-lint-ignore no-control-regex
const ESCAPES = /\x1b(?:\[[0-?]*[ -/]*[@-~]|[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_]?)/g;
/** Control characters other than newline and tab (C0, DEL, C1, including the 8-bit CSI \x9b). */
// deno-lint-ignore no-control-regex
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/**
 * Removes escape sequences and control characters (keeps newlines and tabs).
 *
 * @example terminalSafe("v1\x1b]0;owned\x07\x1b[31m!") // "v1!"
 */
export function terminalSafe(text: string): string {
  return text.replace(ESCAPES, "").replace(CONTROLS, "");
}
