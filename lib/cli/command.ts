/**
 * What a command is, what it receives, and the usage error it throws.
 *
 * @module
 */

/** Thrown for wrong command-line usage; main.ts exits with status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** One option of a command, in `node:util` parseArgs form plus a description for the help text. */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  description: string;
  /** Placeholder shown in help, e.g. `USER`. */
  value?: string;
}

/** The options every command accepts. */
export interface GlobalOptions {
  plainHttp: boolean;
  /** `--ca-file`, `--cert-file`, `--key-file`. */
  tls: { caFile?: string; certFile?: string; keyFile?: string };
  registryConfig?: string;
  /** Idle timeout of registry requests and credential helpers, in ms (0: none; undefined: the default). */
  timeoutMs?: number;
  json: boolean;
  quiet: boolean;
  verbose: boolean;
}

/** The outside world as a command sees it; tests pass their own. */
export interface CliIO {
  env: Record<string, string | undefined>;
  cwd: string;
  stdin: ReadableStream<Uint8Array>;
  stdinIsTerminal: boolean;
  stderrIsTerminal: boolean;
  /** Writes to stdout (bytes as they are: `blob fetch -o -`). */
  write(data: string | Uint8Array): void;
  /** Writes to stderr. */
  writeError(text: string): void;
  fetch: typeof fetch;
}

/** What a command's `run` receives. */
export interface CommandContext extends CliIO {
  global: GlobalOptions;
  /** Option values, keyed by long name. */
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  /** Positional arguments (command words removed). */
  args: string[];
  /** Arguments after a standalone `--`. */
  passthrough: string[];
  /** Prints one line of human output on stdout (suppressed by --json). */
  out(line: string): void;
  /** Prints one line of diagnostics on stderr (suppressed by --quiet). */
  log(line: string): void;
  /** Prints the one JSON document of --json on stdout. */
  json(value: unknown): void;
}

/** A command of the CLI. */
export interface Command {
  /** Words that select it, e.g. `["registry", "login"]`. */
  path: string[];
  /** Other spellings, e.g. `[["login"]]`. */
  aliases?: string[][];
  summary: string;
  /** Usage line after `kpm `, e.g. `registry login [-u USER] REGISTRY`. */
  usage: string;
  options?: Record<string, OptionSpec>;
  /** How many positional arguments it takes. */
  args: { min: number; max: number };
  /** Runs the command and returns the exit status (0 when omitted). */
  run(ctx: CommandContext): Promise<number | void>;
}

/** Reads a string option, or undefined. */
export function stringOption(ctx: CommandContext, name: string): string | undefined {
  const value = ctx.values[name];
  return typeof value === "string" ? value : undefined;
}

/** Reads a repeatable string option as a list. */
export function listOption(ctx: CommandContext, name: string): string[] {
  const value = ctx.values[name];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** Reads a boolean option. */
export function flagOption(ctx: CommandContext, name: string): boolean {
  return ctx.values[name] === true;
}

/**
 * Runs `parse`; an error of one of `kinds` (input typed on the command line that cannot be understood) becomes
 * a UsageError, so the exit status is 2.
 */
export function asUsageError<T>(parse: () => T, kinds: (abstract new (...args: never[]) => Error)[]): T {
  try {
    return parse();
  } catch (error) {
    if (kinds.some((kind) => error instanceof kind)) throw new UsageError((error as Error).message);
    throw error;
  }
}
