/**
 * Durations as users type them: `30s`, `2m`, `500ms`, `1h`, or a plain number of seconds.
 *
 * @module
 */

import { UsageError } from "./command.ts";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration into milliseconds.
 *
 * @param text the duration, e.g. `30s`, `1.5m`, `250ms`, `45` (seconds)
 * @param where what the value is, for the error, e.g. `--timeout`
 * @throws {UsageError} naming `where` when the text is not a duration
 * @example parseDuration("2m", "--timeout") // 120000
 */
export function parseDuration(text: string, where: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!match) {
    throw new UsageError(`Invalid duration "${text}" for ${where}: expected e.g. 30s, 2m, 500ms or seconds`);
  }
  return Math.round(Number(match[1]) * UNITS[match[2] ?? "s"]!);
}
