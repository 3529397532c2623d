/**
 * The help texts, generated from the command table: a group's command list and a command's usage and options.
 *
 * @module
 */

import type { Command, OptionSpecs } from "./command.ts";
import { COMMANDS } from "./commands.ts";
import { GLOBAL_OPTIONS } from "./global_options.ts";
import { VERSION } from "../version.ts";

function optionHelp(options: OptionSpecs): string[] {
  return Object.entries(options).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : "    "}--${name}${spec.value ? ` ${spec.value}` : ""}`;
    return `  ${flag.padEnd(34)} ${spec.description}${spec.multiple ? " (repeatable)" : ""}`;
  });
}

/** The help of one command: summary, usage, other spellings, its options and the global ones. */
export function commandHelp(command: Command): string {
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

/** The help of a group (`kpm mod`), or of kpm itself for an empty prefix: the commands under it. */
export function groupHelp(prefix: string[]): string {
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
