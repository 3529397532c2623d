/**
 * The command router: finds the command named by the leading words, parses its options with
 * `node:util` parseArgs, and runs it. Help and version are generated from the command table.
 *
 * @module
 */

import { type CliIO, type Command, type GlobalOptions, type OptionSpec, UsageError } from "./command.ts";
import { COMMANDS } from "./commands.ts";
import { asksForVersion, VERSION } from "../version.ts";
import { parseDuration } from "./duration.ts";
import { terminalSafe } from "./terminal_text.ts";
import { closest, didYouMean } from "./suggest.ts";

/** The options every command takes. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  "plain-http": {
    type: "boolean",
    description: "use plain HTTP (loopback registries try https, then http)",
  },
  insecure: {
    type: "boolean",
    description: "not supported: Deno cannot skip TLS verification; use --ca-file",
  },
  "insecure-skip-tls-verify": { type: "boolean", description: "the KCL CLI's spelling of --insecure" },
  "ca-file": { type: "string", value: "FILE", description: "trust the CA certificates in FILE (PEM) too" },
  "cert-file": { type: "string", value: "FILE", description: "client certificate (PEM) for TLS registries" },
  "key-file": { type: "string", value: "FILE", description: "private key (PEM) of --cert-file" },
  timeout: {
    type: "string",
    value: "D",
    description:
      "abort a request, token request or credential helper after D of silence (30s; env KPM_TIMEOUT)",
  },
  "registry-config": {
    type: "string",
    value: "FILE",
    description: "credentials file (docker config.json format)",
  },
  json: { type: "boolean", description: "print one JSON document on stdout" },
  format: { type: "string", value: "json|text", description: "oras's spelling: --format json is --json" },
  quiet: { type: "boolean", short: "q", description: "print no progress or diagnostics" },
  verbose: { type: "boolean", short: "v", description: "print details and stack traces" },
  help: { type: "boolean", short: "h", description: "show help" },
};

/** Global options that take a value (the word after them is not a command word). */
const VALUED_GLOBALS = new Set(
  Object.entries(GLOBAL_OPTIONS).filter(([, spec]) => spec.type === "string").map(([name]) => `--${name}`),
);

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

/** The leading command words of `argv`, skipping global options before them. */
function leadingWords(argv: string[]): { words: string[]; indexes: number[] } {
  const words: string[] = [];
  const indexes: number[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") break;
    if (arg.startsWith("-")) {
      if (VALUED_GLOBALS.has(arg)) i++;
      if (words.length > 0) break;
      continue;
    }
    words.push(arg);
    indexes.push(i);
  }
  return { words, indexes };
}

function optionHelp(options: Record<string, OptionSpec>): string[] {
  return Object.entries(options).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : "    "}--${name}${spec.value ? ` ${spec.value}` : ""}`;
    return `  ${flag.padEnd(34)} ${spec.description}${spec.multiple ? " (repeatable)" : ""}`;
  });
}

function commandHelp(command: Command): string {
  const aliases = (command.aliases ?? []).map((a) => `kpm ${a.join(" ")}`);
  return [
    `${command.summary}`,
    "",
    `Usage: kpm ${command.usage}`,
    ...(aliases.length ? ["", `Also: ${aliases.join(", ")}`] : []),
    ...(command.options && Object.keys(command.options).length
      ? ["", "Options:", ...optionHelp(command.options)]
      : []),
    "",
    "Global options:",
    ...optionHelp(GLOBAL_OPTIONS),
    "",
  ].join("\n");
}

function groupHelp(prefix: string[]): string {
  const listed = COMMANDS.filter((c) => prefix.every((w, i) => c.path[i] === w));
  return [
    `kpm ${VERSION}: KCL package manager and OCI artifact client`,
    "",
    `Usage: kpm ${prefix.length ? `${prefix.join(" ")} ` : ""}COMMAND [OPTIONS]`,
    "",
    "Commands:",
    ...listed.map((c) => `  ${c.path.join(" ").padEnd(24)} ${c.summary}`),
    "",
    "Exit status: 0 success, 1 failure, 2 usage error, 130 Ctrl-C. `kpm COMMAND --help`: a command's options.",
    "",
  ].join("\n");
}

function stringValue(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/**
 * Reads the global options out of parsed values.
 *
 * @throws {UsageError} for --insecure (Deno's fetch cannot skip certificate checks for one connection) and
 *   for an invalid --timeout / KPM_TIMEOUT
 */
function globalOptions(
  values: Record<string, unknown>,
  env: Record<string, string | undefined>,
): GlobalOptions {
  if (values.insecure === true || values["insecure-skip-tls-verify"] === true) {
    throw new UsageError(
      "--insecure is not supported: Deno cannot skip TLS certificate checks for one connection; " +
        "trust the registry's CA with --ca-file FILE, or use --plain-http for a registry without TLS",
    );
  }
  return {
    plainHttp: values["plain-http"] === true,
    tls: {
      caFile: stringValue(values["ca-file"]),
      certFile: stringValue(values["cert-file"]),
      keyFile: stringValue(values["key-file"]),
    },
    registryConfig: stringValue(values["registry-config"]),
    timeoutMs: timeoutOption(values.timeout, env.KPM_TIMEOUT),
    json: formatIsJson(values),
    quiet: values.quiet === true || formatIsJson(values) && env.KPM_PROGRESS === undefined,
    verbose: values.verbose === true,
  };
}

/** The idle timeout: `--timeout`, else `KPM_TIMEOUT`, else undefined (the client's 30 s); `0` means none. */
function timeoutOption(flag: unknown, env: string | undefined): number | undefined {
  if (typeof flag === "string") return parseDuration(flag, "--timeout");
  if (env !== undefined && env !== "") return parseDuration(env, "KPM_TIMEOUT");
  return undefined;
}

/**
 * Whether stdout carries JSON: `--json`, or oras's `--format json`.
 *
 * @throws {UsageError} for a format kpm does not write (oras's go-template among them)
 */
function formatIsJson(values: Record<string, unknown>): boolean {
  const format = values.format;
  if (format !== undefined && format !== "json" && format !== "text") {
    throw new UsageError(`Invalid --format "${format}": kpm writes json or text`);
  }
  return values.json === true || format === "json";
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
function optionError(error: Error & { code?: string }, options: Record<string, OptionSpec>): string {
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

/** The arguments kpm reads itself: those before a `--` (what follows it is handed on, e.g. to the compiler). */
function ownArguments(argv: string[]): string[] {
  const dash = argv.indexOf("--");
  return dash < 0 ? argv : argv.slice(0, dash);
}

/**
 * Whether the command line asks for JSON on stdout (`--json`, `--format json`, `--format=json`, before any
 * `--`), so that a failure, too, is reported as one JSON document there.
 *
 * @param argv the arguments after the program name
 */
export function asksForJson(argv: string[]): boolean {
  const own = ownArguments(argv);
  return own.some((arg, i) =>
    arg === "--json" || arg === "--format=json" || (arg === "--format" && own[i + 1] === "json")
  );
}

/**
 * Runs the kpm command line.
 *
 * @param argv the arguments after the program name
 * @param io the outside world (stdout, stderr, env, fetch…)
 * @returns the exit status
 * @throws {UsageError} for unknown commands, options or wrong argument counts; any other error from commands
 */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  if (asksForVersion(argv)) {
    io.write(`kpm ${VERSION}\n`);
    return 0;
  }
  const { words, indexes } = leadingWords(argv);
  const found = findCommand(words);
  const kpmArgs = ownArguments(argv);
  const wantsHelp = kpmArgs.includes("--help") || kpmArgs.includes("-h") || words[0] === "help";
  if (!found) {
    const groupWords = words[0] === "help" ? words.slice(1) : words;
    const isGroup = groupWords.length > 0 && COMMANDS.some((c) => c.path[0] === groupWords[0]);
    if (wantsHelp || argv.length === 0 || (isGroup && groupWords.length === 1)) {
      io.write(groupHelp(isGroup ? groupWords.slice(0, 1) : []));
      return argv.length === 0 || wantsHelp ? 0 : 2;
    }
    const suggestion = suggestCommand(words);
    throw new UsageError(
      `Unknown command "${words.join(" ") || argv.join(" ")}"; ${
        suggestion ? `did you mean "kpm ${suggestion}"?` : "run `kpm --help`"
      }`,
    );
  }
  const { command, length } = found;
  if (wantsHelp) {
    io.write(commandHelp(command));
    return 0;
  }
  const dash = argv.indexOf("--");
  const own = argv.filter((_, i) => !indexes.slice(0, length).includes(i) && (dash < 0 || i < dash));
  const passthrough = dash < 0 ? [] : argv.slice(dash + 1);
  const { parseArgs } = await import("node:util"); // ~3 ms that --help and --version do not need
  let parsed;
  try {
    parsed = parseArgs({
      args: own,
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(
      `${optionError(error as Error, { ...GLOBAL_OPTIONS, ...command.options })}; run \`kpm ${
        command.path.join(" ")
      } --help\``,
    );
  }
  const args = parsed.positionals;
  if (args.length < command.args.min || args.length > command.args.max) {
    throw new UsageError(`Usage: kpm ${command.usage}`);
  }
  const global = globalOptions(parsed.values, io.env);
  const status = await command.run({
    ...io,
    global,
    values: parsed.values,
    args,
    passthrough,
    out: (line) => {
      if (!global.json) io.write(`${terminalSafe(line)}\n`);
    },
    log: (line) => {
      if (!global.quiet) io.writeError(`${terminalSafe(line)}\n`);
    },
    json: (value) => io.write(`${JSON.stringify(value, null, 2)}\n`),
  });
  return status ?? 0;
}
