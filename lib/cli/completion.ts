/**
 * `kpm completion bash|zsh|fish`: a shell completion script generated from the command table (command words,
 * then each command's options and the global ones).
 *
 * @module
 */

import { type Command, type CommandContext, type OptionSpecs, type Streamed, UsageError } from "./command.ts";
import { COMMANDS } from "./commands.ts";
import { GLOBAL_OPTIONS } from "./global_options.ts";

/** Every spelling of every command: its words, and the flags it takes. */
function spellings(): { words: string[]; flags: string[] }[] {
  const flagsOf = (options: OptionSpecs) =>
    Object.entries(options).flatMap((
      [name, spec],
    ) => [`--${name}`, ...(spec.short ? [`-${spec.short}`] : [])]);
  const global = flagsOf(GLOBAL_OPTIONS);
  return COMMANDS.flatMap((command: Command) =>
    [command.path, ...(command.aliases ?? [])].map((words) => ({
      words,
      flags: [...flagsOf(command.options ?? {}), ...global],
    }))
  );
}

/** The words that may follow `prefix` (`[]`: the first words; `["mod"]`: init, add, …). */
function nextWords(prefix: string[]): string[] {
  const next = spellings()
    .filter(({ words }) => words.length > prefix.length && prefix.every((w, i) => words[i] === w))
    .map(({ words }) => words[prefix.length]!);
  return [...new Set(next)];
}

/** Every command-word prefix (groups and commands), longest first, with what completes after it. */
function cases(): { prefix: string[]; complete: string[] }[] {
  const prefixes = new Map<string, string[]>();
  for (const { words } of spellings()) {
    for (let n = 0; n <= words.length; n++) prefixes.set(words.slice(0, n).join(" "), words.slice(0, n));
  }
  return [...prefixes.values()]
    .sort((a, b) => b.length - a.length)
    .map((prefix) => {
      const command = spellings().find(({ words }) => words.join(" ") === prefix.join(" "));
      return { prefix, complete: [...nextWords(prefix), ...(command?.flags ?? [])] };
    });
}

function bash(): string {
  const arms = cases().map(({ prefix, complete }) => {
    const key = prefix.join(" ");
    const pattern = key === "" ? '""' : `"${key}"|"${key} "*`;
    return `    ${pattern}) words="${complete.join(" ")}" ;;`;
  });
  return [
    '# kpm completion for bash: eval "$(kpm completion bash)"',
    "_kpm() {",
    '  local cur="${COMP_WORDS[COMP_CWORD]}" words=""',
    '  local typed="${COMP_WORDS[*]:1:COMP_CWORD-1}"',
    '  case "$typed" in',
    ...arms,
    "  esac",
    '  COMPREPLY=($(compgen -W "$words" -- "$cur"))',
    "}",
    "complete -o default -F _kpm kpm",
    "",
  ].join("\n");
}

function fish(): string {
  const lines = ["# kpm completion for fish: kpm completion fish | source", "complete -c kpm -f"];
  for (const { prefix, complete } of cases()) {
    const condition = prefix.length === 0
      ? "__fish_use_subcommand"
      : `__fish_seen_subcommand_from ${prefix[prefix.length - 1]}`;
    const words = complete.filter((w) => !w.startsWith("-"));
    if (words.length) lines.push(`complete -c kpm -n '${condition}' -a '${words.join(" ")}'`);
    for (const flag of complete.filter((w) => w.startsWith("--"))) {
      lines.push(`complete -c kpm -n '${condition}' -l ${flag.slice(2)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** Runs `kpm completion SHELL`: the script, as it is on stdout (a script, not a document, even with --json). */
export function completion(ctx: CommandContext): Promise<Streamed> {
  const shell = ctx.args[0];
  if (shell === "bash") return Promise.resolve({ stream: [bash()] });
  if (shell === "zsh") {
    const zsh =
      '# kpm completion for zsh: eval "$(kpm completion zsh)"\nautoload -U +X bashcompinit && bashcompinit\n';
    return Promise.resolve({ stream: [zsh, bash()] });
  }
  if (shell === "fish") return Promise.resolve({ stream: [fish()] });
  throw new UsageError(`Unknown shell "${shell}": expected bash, zsh or fish`);
}
