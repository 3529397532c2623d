/**
 * What a command is: its options (from which the values it receives are typed), what it receives, what it
 * returns for the router to print, and the usage error it throws.
 *
 * @module
 */

/** Thrown for wrong command-line usage; the exit status is 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** One option of a command, in `node:util` parseArgs form plus a description for the help text. */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  /** Repeatable (string options): the values come as a list. */
  multiple?: boolean;
  description: string;
  /** Placeholder shown in help, e.g. `USER`. */
  value?: string;
}

/** A command's options by long name. */
export type OptionSpecs = Record<string, OptionSpec>;

/** No options. */
export type NoOptions = Record<never, OptionSpec>;

/** The value an option's spec gives: a list when repeatable, a boolean (false when absent), else a string. */
export type OptionValue<S extends OptionSpec> = S extends { multiple: true } ? string[]
  : S extends { type: "boolean" } ? boolean
  : string | undefined;

/** The values of a command's options, typed from their specs. */
export type OptionValues<O extends OptionSpecs> = { -readonly [K in keyof O]: OptionValue<O[K]> };

/** The options every command accepts. */
export interface GlobalOptions {
  plainHttp: boolean;
  /** `--ca-file`, `--cert-file`, `--key-file`. */
  tls: { caFile?: string; certFile?: string; keyFile?: string };
  registryConfig?: string;
  /** Idle timeout of registry requests and credential helpers, in ms (0: none; undefined: the default). */
  timeoutMs?: number;
  /** No progress or diagnostics on stderr: `--quiet`, or `--json` unless $KPM_PROGRESS is set. */
  quiet: boolean;
  verbose: boolean;
}

/** The outside world of the CLI; tests pass their own. */
export interface CliIO {
  env: Record<string, string | undefined>;
  cwd: string;
  stdin: ReadableStream<Uint8Array>;
  stdinIsTerminal: boolean;
  stderrIsTerminal: boolean;
  /** Writes to stdout (bytes as they are: `blob fetch -o -`). Only the router calls it. */
  write(data: string | Uint8Array): void;
  /** Writes to stderr. */
  writeError(text: string): void;
  fetch: typeof fetch;
}

/** The outside world as a command sees it: all of CliIO but stdout, which the router alone writes. */
export type CommandIO = Omit<CliIO, "write">;

/** What a command's `run` receives. */
export interface CommandContext<O extends OptionSpecs = NoOptions> extends CommandIO {
  global: GlobalOptions;
  /** The command's option values, keyed by long name (booleans false, lists empty when not given). */
  options: OptionValues<O>;
  /** Positional arguments (command words removed). */
  args: string[];
  /** Arguments after a standalone `--`. */
  passthrough: string[];
  /** Prints one line of diagnostics on stderr (suppressed by --quiet). */
  log(line: string): void;
}

/**
 * What a command prints, as data: `value` is the one document of `--json`; `text` renders it for a person, as
 * lines (made terminal-safe) or as exact bytes (a manifest as the registry sent it).
 */
export interface Output<T = unknown> {
  value: T;
  text(value: T): string[] | Uint8Array;
  /** Settles when the command is done, after its output is printed (a server, when it stops). */
  until?: Promise<unknown>;
}

/** A payload written to stdout as it comes and as it is (a blob, a completion script); never JSON. */
export interface Streamed {
  stream: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>;
}

/** The exit status of a command whose output went straight to the terminal (the compiler of `kpm run`). */
export interface Exited {
  status: number;
}

/** What a command returns; the router alone writes it to stdout. */
export type CommandResult = Output | Streamed | Exited;

/** A command of the CLI; `O` are its options, from which the values its `run` receives are typed. */
export interface Command<O extends OptionSpecs = OptionSpecs> {
  /** Words that select it, e.g. `["registry", "login"]`. */
  path: string[];
  /** Other spellings, e.g. `[["login"]]`. */
  aliases?: string[][];
  summary: string;
  /** Usage line after `kpm `, e.g. `registry login [-u USER] REGISTRY`. */
  usage: string;
  options?: O;
  /** How many positional arguments it takes. */
  args: { min: number; max: number };
  /** Runs the command and returns what to print. */
  run(ctx: CommandContext<O>): Promise<CommandResult>;
}

/** Declares a command, so that the options its `run` receives are typed from the literal specs. */
export function command<const O extends OptionSpecs = NoOptions>(spec: Command<O>): Command<O> {
  return spec;
}

/**
 * A command's output: `value` (the `--json` document) and how it reads for a person.
 *
 * @example output({ name }, (v) => [`removed dependency '${v.name}'`])
 */
export function output<T>(
  value: T,
  text: (value: T) => string[] | Uint8Array,
  until?: Promise<unknown>,
): Output<T> {
  return until === undefined ? { value, text } : { value, text, until };
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
