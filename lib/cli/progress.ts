/**
 * Transfer progress on stderr (bytes and rate), only when stderr is a terminal and --quiet is off.
 *
 * @module
 */

import type { CommandContext } from "./command.ts";

/** Formats a byte count with a binary unit: `1.5 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** Reports per-file progress as one aggregated, rewritten line. */
export interface Progress {
  update(name: string, bytes: number, total: number): void;
  /** Clears the line. */
  done(): void;
}

/**
 * A progress line for `verb` ("Pushing", "Pulling"); a no-op when stderr is not a terminal or with --quiet.
 *
 * @param now clock in ms (injectable)
 */
export function progress(ctx: CommandContext, verb: string, now: () => number = Date.now): Progress {
  if (!ctx.stderrIsTerminal || ctx.global.quiet) return { update() {}, done() {} };
  const files = new Map<string, { bytes: number; total: number }>();
  const start = now();
  let last = 0;
  let shown = false;
  return {
    update(name, bytes, total) {
      files.set(name, { bytes, total });
      const t = now();
      if (t - last < 100) return;
      last = t;
      let done = 0;
      let all = 0;
      for (const file of files.values()) {
        done += file.bytes;
        all += file.total;
      }
      const rate = done / Math.max((t - start) / 1000, 0.001);
      ctx.writeError(
        `\r${verb} ${files.size} file(s): ${formatBytes(done)} / ${formatBytes(all)}  ${
          formatBytes(rate)
        }/s\x1b[K`,
      );
      shown = true;
    },
    done() {
      if (shown) ctx.writeError("\r\x1b[K");
    },
  };
}
