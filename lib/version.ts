/**
 * The kpm version, kept equal to deno.json's "version" (a test checks it).
 *
 * @module
 */

/** The kpm version. */
export const VERSION = "0.1.0";

/**
 * Whether the arguments ask for nothing but the version (`kpm --version`, `kpm version`). main.ts answers these
 * before it loads the command line, so that they cost no more than Deno's start-up.
 *
 * @param argv the arguments after the program name
 */
export function asksForVersion(argv: readonly string[]): boolean {
  return argv.length === 1 && (argv[0] === "--version" || argv[0] === "version");
}
