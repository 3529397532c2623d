/**
 * Credentials typed on the command line (`-u USER`, `-p PASS` or `--password-stdin`, `--identity-token`), read
 * the same way by `registry login` and by every artifact command.
 *
 * @module
 */

import type { Credential } from "../oci/credentials.ts";
import { type CommandContext, UsageError } from "./command.ts";
import { readStdin } from "./prompt.ts";

/** A command that may take `-p PASS` and `--password-stdin`. */
type PasswordContext = CommandContext & { options: { password?: string; "password-stdin"?: boolean } };

/** A command that may take a credential for this run: `-u USER`, a password, `--identity-token TOKEN`. */
type CredentialContext = PasswordContext & { options: { username?: string; "identity-token"?: string } };

/** What docker and oras say when a password is typed on the command line (shell history, `ps`). */
export const PASSWORD_FLAG_WARNING =
  "WARNING! Using --password via the CLI is insecure (shell history, process list). Use --password-stdin.";

/**
 * The password of `-p PASS` (with a warning on stderr) or of `--password-stdin`, or undefined.
 *
 * @throws {UsageError} when both are given
 */
export async function passwordOption(ctx: PasswordContext): Promise<string | undefined> {
  const password = ctx.options.password;
  if (ctx.options["password-stdin"] === true) {
    if (password !== undefined) {
      throw new UsageError("--password and --password-stdin cannot be used together");
    }
    return await readStdin(ctx);
  }
  if (password !== undefined) ctx.log(PASSWORD_FLAG_WARNING);
  return password;
}

/**
 * The credential an artifact command was given for this run only (not stored), or undefined to use the stored
 * ones.
 *
 * @throws {UsageError} for -p with --password-stdin, or a password without a user
 */
export async function credentialOptions(ctx: CredentialContext): Promise<Credential | undefined> {
  const username = ctx.options.username;
  const password = await passwordOption(ctx);
  const identityToken = ctx.options["identity-token"];
  if (username === undefined && password === undefined && identityToken === undefined) return undefined;
  if (password !== undefined && username === undefined) {
    throw new UsageError("A password needs a user name: add -u USER");
  }
  return { username, password, identityToken };
}
