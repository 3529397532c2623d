/**
 * The command router: finds the command named by the leading words, parses its options with `node:util`
 * parseArgs (its tokens decide the words, `--`, `--help`, `--json` and `-v`), runs it, and writes what it
 * returns: the router is the only writer of stdout. Help and version are generated from the command table.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  type CliIO,
  type Command,
  type CommandContext,
  type OptionSpecs,
  type OptionValues,
  UsageError,
} from "./command.ts";
import { COMMANDS } from "./commands.ts";
import { asksForVersion, VERSION } from "../version.ts";
import { GLOBAL_OPTIONS, globalOptions } from "./global_options.ts";
import { commandHelp, groupHelp } from "./help.ts";
import { type OutputMode, reportFailure, writeResult } from "./render.ts";
import { terminalSafe } from "./terminal_text.ts";
import { closest, didYouMean } from "./suggest.ts";

/** The tokens parseArgs reads from arguments, leniently (unknown options and missing values are no error). */
function scan(args: string[], options: OptionSpecs) {
  return parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true }).tokens;
}

type Token = ReturnType<typeof scan>[number];

/** A command line as read before anything can fail: the command, its arguments, help and the output mode. */
interface Invocation {
  /** The leading command words. */
  words: string[];
  found?: { command: Command; length: number };
  /** The arguments without the command's words. */
  own: string[];
  /** Whether help was asked for (`--help`, `-h` before any `--`, or the word `help`). */
  help: boolean;
  mode: OutputMode;
}

/** Returns the command whose path or alias is the longest prefix of `words`, and that prefix's length. */
function findCommand(words: string[]): { command: Command; length: number } | undefined {
  let best: { command: Command; length: number } | undefined;
  for (const command of COMMANDS) {
    for (const path of [command.path, ...(command.aliases ?? [])]) {
      const matches = path.every((word, i) => words[i] === word);
      if (matches && path.length > (best?.length ?? 0)) best = { command, length: path.length };
    }
  }
  return best;
}

/** The leading command words and their indexes: positionals before any option that follows one, and `--`. */
function leadingWords(tokens: Token[]): { words: string[]; indexes: number[] } {
  const words: string[] = [];
  const indexes: number[] = [];
  for (const token of tokens) {
    if (token.kind === "option-terminator" || (token.kind === "option" && words.length > 0)) break;
    if (token.kind === "positional") {
      words.push(token.value);
      indexes.push(token.index);
    }
  }
  return { words, indexes };
}

/** Reads a command line leniently: which command, its own arguments, help, and how to print (never throws). */
function invocation(argv: string[]): Invocation {
  const globalTokens = scan(argv, GLOBAL_OPTIONS);
  const { words, indexes } = leadingWords(globalTokens);
  const found = findCommand(words);
  const commandWords = new Set(indexes.slice(0, found?.length ?? 0));
  const own = argv.filter((_, i) => !commandWords.has(i));
  const tokens = found ? scan(own, { ...GLOBAL_OPTIONS, ...found.command.options }) : globalTokens;
  const given = (name: string, value?: string) =>
    tokens.some((t) => t.kind === "option" && t.name === name && (value === undefined || t.value === value));
  return {
    words,
    found,
    own,
    help: given("help") || words[0] === "help",
    mode: { json: given("json") || given("format", "json"), verbose: given("verbose") },
  };
}

/** The command the user probably meant by mistyped words (`artfact pul` → `artifact pull`), from the table. */
function suggestCommand(words: string[]): string | undefined {
  if (words.length === 0) return undefined;
  const known = COMMANDS.flatMap((c) => [c.path, ...(c.aliases ?? [])]);
  const pick = (word: string, options: string[]) => options.includes(word) ? word : closest(word, options);
  const first = pick(words[0]!, [...new Set(known.map((path) => path[0]!))]);
  if (first === undefined) return undefined;
  const seconds = known.filter((path) => path.length > 1 && path[0] === first).map((path) => path[1]!);
  const second = words.length > 1 && seconds.length > 0 ? pick(words[1]!, seconds) : undefined;
  if (second !== undefined) return `${first} ${second}`;
  return words.length > 1 && seconds.length > 0 ? undefined : first;
}

/** A short message for parseArgs' errors (its own text is a paragraph), with "did you mean" for options. */
function optionError(error: Error & { code?: string }, options: OptionSpecs): string {
  const option = /'(-[^']*)'/.exec(error.message)?.[1];
  if (error.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && option) {
    const names = Object.keys(options).map((name) => `--${name}`);
    const long = option.startsWith("--") ? option.split("=")[0]! : option;
    return `Unknown option "${long}"${didYouMean(long, names)}`;
  }
  if (error.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && option) {
    return `Option "${/--[\w-]+/.exec(option)?.[0] ?? option}" needs a value`;
  }
  return error.message.split("\n")[0]!;
}

/**
 * Help when no command matched (`kpm`, `kpm --help`, `kpm help mod`, `kpm mod`).
 *
 * @returns the exit status: 0 when help was asked for, 2 for a group without a command
 * @throws {UsageError} for unknown command words, with the command probably meant
 */
function withoutCommand(call: Invocation, argv: string[], io: CliIO): number {
  const { words } = call;
  const groupWords = words[0] === "help" ? words.slice(1) : words;
  const isGroup = groupWords.length > 0 && COMMANDS.some((c) => c.path[0] === groupWords[0]);
  if (call.help || argv.length === 0 || (isGroup && groupWords.length === 1)) {
    io.write(groupHelp(isGroup ? groupWords.slice(0, 1) : []));
    return argv.length === 0 || call.help ? 0 : 2;
  }
  const suggestion = suggestCommand(words);
  throw new UsageError(
    `Unknown command "${words.join(" ") || argv.join(" ")}"; ${
      suggestion ? `did you mean "kpm ${suggestion}"?` : "run `kpm --help`"
    }`,
  );
}

/** The command's option values, typed from its specs: absent booleans false, absent lists empty. */
function optionValues<O extends OptionSpecs>(specs: O, values: Record<string, unknown>): OptionValues<O> {
  const typed: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const value = values[name];
    typed[name] = spec.multiple ? value ?? [] : spec.type === "boolean" ? value === true : value;
  }
  return typed as OptionValues<O>;
}

/**
 * Parses a command's arguments strictly and builds what its `run` receives.
 *
 * @throws {UsageError} for unknown options, missing values, a wrong number of arguments, bad global options
 */
function commandContext(command: Command, own: string[], io: CliIO): CommandContext<OptionSpecs> {
  const options = { ...GLOBAL_OPTIONS, ...command.options };
  let parsed;
  try {
    parsed = parseArgs({ args: own, options, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    throw new UsageError(
      `${optionError(error as Error, options)}; run \`kpm ${command.path.join(" ")} --help\``,
    );
  }
  const dash = parsed.tokens.find((t) => t.kind === "option-terminator")?.index ?? own.length;
  const args = parsed.tokens.flatMap((t) => t.kind === "positional" && t.index < dash ? [t.value] : []);
  if (args.length < command.args.min || args.length > command.args.max) {
    throw new UsageError(`Usage: kpm ${command.usage}`);
  }
  const global = globalOptions(parsed.values, io.env);
  const { write: _stdout, ...commandIO } = io; // stdout is the router's
  return {
    ...commandIO,
    global,
    options: optionValues(command.options ?? {}, parsed.values),
    args,
    passthrough: own.slice(dash + 1),
    log: (line) => {
      if (!global.quiet) io.writeError(`${terminalSafe(line)}\n`);
    },
  };
}

/**
 * Runs the kpm command line: the command's result goes to stdout (one JSON document with --json), a failure is
 * reported as an `error:` line on stderr (and an error document on stdout with --json).
 *
 * @param argv the arguments after the program name
 * @param io the outside world (stdout, stderr, env, fetch…)
 * @returns the exit status: 0 success, 1 failure, 2 usage error, 130 interrupted, or the compiler's (kpm run)
 * @throws {OutputClosed} when the reader closed stdout
 */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  if (asksForVersion(argv)) {
    io.write(`kpm ${VERSION}\n`);
    return 0;
  }
  const call = invocation(argv);
  try {
    if (!call.found) return withoutCommand(call, argv, io);
    const { command } = call.found;
    if (call.help) {
      io.write(commandHelp(command));
      return 0;
    }
    return await writeResult(await command.run(commandContext(command, call.own, io)), call.mode, io);
  } catch (error) {
    return await reportFailure(error, call.mode, io);
  }
}
