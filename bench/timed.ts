/**
 * Runs a command under `/usr/bin/time` for the benchmarks: wall time and peak RSS of that one process.
 *
 * @module
 */

/**
 * Runs `cmd` under `/usr/bin/time -f "TIME %e %M"`.
 *
 * @returns seconds and peak RSS in MiB
 * @throws {Error} when the command fails, with its output
 */
export async function timed(
  cmd: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ seconds: number; rssMiB: number }> {
  const output = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "TIME %e %M", ...cmd],
    cwd: options.cwd,
    env: options.env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  const match = /TIME ([\d.]+) (\d+)\s*$/.exec(stderr);
  if (!output.success || !match) {
    throw new Error(`${cmd.join(" ")} failed:\n${new TextDecoder().decode(output.stdout)}\n${stderr}`);
  }
  return { seconds: Number(match[1]), rssMiB: Number(match[2]) / 1024 };
}

/** The median of a non-empty list (the upper one of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The options the size benchmarks share: `--size-mib` (default 1024), `--runs` (default 3) and `--only`. */
export const SIZE_OPTIONS = {
  "size-mib": { type: "string", default: "1024" },
  runs: { type: "string", default: "3" },
  only: { type: "string" },
} as const;
