/**
 * Access rules of the embedded registry (`--access FILE`): per user, and for anonymous callers, a list of
 * `{repos: GLOB, actions: [pull, push, delete]}`. In a glob, `**` matches any part of a repository path
 * (slashes included) and `*` any part of one path segment.
 *
 * ```yaml
 * anonymous:
 *   - repos: "public/**"
 *     actions: [pull]
 * users:
 *   admin:
 *     - repos: "**"
 *       actions: [pull, push, delete]
 * ```
 *
 * A user without rules, and anonymous without an `anonymous` list, may do nothing.
 *
 * @module
 */

import { loadYaml } from "../deps.ts";
import { globSource } from "../oci/glob.ts";
import { readCappedFile } from "../oci/read_capped.ts";

/** The actions a rule can grant, as token scopes name them. */
export const RULE_ACTIONS = ["pull", "push", "delete"] as const;

/** One rule: the repositories a glob matches, and what may be done there. */
export interface AccessRule {
  /** The glob as written. */
  repos: string;
  /** The glob as a regular expression over the whole repository name. */
  pattern: RegExp;
  actions: ReadonlySet<string>;
}

/** The rules of one access file. */
export interface AccessRules {
  anonymous: AccessRule[];
  users: Map<string, AccessRule[]>;
}

/** Largest access file read, in bytes: a rules file of thousands of entries is far smaller. */
const MAX_ACCESS_FILE_BYTES = 1024 * 1024;

/**
 * Turns a glob over repository paths into a regular expression: `**` any characters, `*` any characters but
 * `/`, `?` one character but `/`; everything else literal.
 */
export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${globSource(glob)}$`);
}

function parseRuleList(value: unknown, where: string): AccessRule[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) throw new Error(`${where}: expected a list of {repos, actions}`);
  return value.map((entry: unknown, index) => {
    const at = `${where}[${index}]`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw new Error(`${at}: expected {repos, actions}`);
    }
    const { repos, actions, ...rest } = entry as Record<string, unknown>;
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined) throw new Error(`${at}: unknown key "${unknown}"`);
    if (typeof repos !== "string" || repos === "") throw new Error(`${at}.repos: expected a glob string`);
    if (!Array.isArray(actions) || actions.length === 0) {
      throw new Error(`${at}.actions: expected a list of ${RULE_ACTIONS.join(", ")}`);
    }
    for (const action of actions) {
      if (!(RULE_ACTIONS as readonly unknown[]).includes(action)) {
        throw new Error(
          `${at}.actions: unknown action "${String(action)}" (expected ${RULE_ACTIONS.join(", ")})`,
        );
      }
    }
    return { repos, pattern: globToRegExp(repos), actions: new Set(actions as string[]) };
  });
}

/**
 * Parses the text of an access file.
 *
 * @param text the YAML
 * @param file the file's name, for errors
 * @throws {Error} naming the file and the entry that is wrong
 */
export async function parseAccessRules(text: string, file: string): Promise<AccessRules> {
  const { parseYaml } = await loadYaml();
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new Error(`Invalid access file "${file}": ${(error as Error).message.split("\n")[0]}`);
  }
  try {
    if (typeof document !== "object" || document === null || Array.isArray(document)) {
      throw new Error("expected a map with anonymous and users");
    }
    const { anonymous, users, ...rest } = document as Record<string, unknown>;
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined) throw new Error(`unknown key "${unknown}" (expected anonymous, users)`);
    const byUser = new Map<string, AccessRule[]>();
    if (users !== null && users !== undefined) {
      if (typeof users !== "object" || Array.isArray(users)) {
        throw new Error("users: expected a map of user names");
      }
      for (const [name, list] of Object.entries(users)) {
        byUser.set(name, parseRuleList(list, `users.${name}`));
      }
    }
    return { anonymous: parseRuleList(anonymous, "anonymous"), users: byUser };
  } catch (error) {
    throw new Error(`Invalid access file "${file}": ${(error as Error).message}`);
  }
}

/**
 * Reads and parses an access file: a regular file (a link is followed) of at most MAX_ACCESS_FILE_BYTES, read
 * once (readCappedFile).
 *
 * @throws {Error} `Cannot read access file "PATH": …` when it is missing, not a regular file or too large;
 *   `Invalid access file …` when it is not valid
 */
export async function readAccessRules(path: string): Promise<AccessRules> {
  const bytes = await readCappedFile(path, { limit: MAX_ACCESS_FILE_BYTES, what: `access file "${path}"` });
  return await parseAccessRules(new TextDecoder().decode(bytes), path);
}

/**
 * The actions the rules grant `username` (undefined: anonymous) on repository `name`.
 *
 * @returns the union of the actions of every rule whose glob matches
 */
export function grantedActions(rules: AccessRules, username: string | undefined, name: string): Set<string> {
  const list = username === undefined ? rules.anonymous : rules.users.get(username) ?? [];
  const granted = new Set<string>();
  for (const rule of list) {
    if (rule.pattern.test(name)) rule.actions.forEach((action) => granted.add(action));
  }
  return granted;
}
