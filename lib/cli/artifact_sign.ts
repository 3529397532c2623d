/**
 * `kpm artifact sign|verify|keygen`: cosign v2 compatible key-based signatures (lib/oci/sign), and reading a
 * signing key (its password from KPM_SIGN_PASSWORD, COSIGN_PASSWORD or a prompt), which `mod push --sign`
 * shares. Keyless signing (Fulcio certificates, Rekor transparency log) needs those online services and is not
 * done: `verify` is cosign's `verify --key … --insecure-ignore-tlog`.
 *
 * @module
 */

import { resolve } from "node:path";
import { formatTarget, targetReference } from "../artifact/target.ts";
import { writeFileAtomic } from "../oci/atomic_file.ts";
import { signManifest, verifyManifest } from "../oci/sign/cosign.ts";
import { generateKeyPair, readPrivateKey, readPublicKey } from "../oci/sign/keys.ts";
import { SignatureError } from "../oci/sign/signature_error.ts";
import { type CommandContext, type Output, output, UsageError } from "./command.ts";
import type {
  ARTIFACT_KEYGEN_OPTIONS,
  ARTIFACT_SIGN_OPTIONS,
  ARTIFACT_VERIFY_OPTIONS,
} from "./artifact_commands.ts";
import { parseTargetArg, targetStore } from "./artifact.ts";
import { prompt } from "./prompt.ts";

/** The signing password: $KPM_SIGN_PASSWORD, else $COSIGN_PASSWORD (either may be empty), else a prompt. */
async function signingPassword(ctx: CommandContext, confirm: boolean): Promise<string> {
  const fromEnv = ctx.env.KPM_SIGN_PASSWORD ?? ctx.env.COSIGN_PASSWORD;
  if (fromEnv !== undefined) return fromEnv;
  if (!ctx.stdinIsTerminal) {
    throw new UsageError(
      "Cannot ask for the private key's password: stdin is not a terminal\nhint: set KPM_SIGN_PASSWORD (or COSIGN_PASSWORD)",
    );
  }
  const password = await prompt(ctx, "Enter password for private key: ", { hidden: true });
  if (confirm && await prompt(ctx, "Enter password for private key again: ", { hidden: true }) !== password) {
    throw new UsageError("The passwords do not match");
  }
  return password;
}

async function readKeyFile(ctx: CommandContext, path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(resolve(ctx.cwd, path));
  } catch (error) {
    throw new SignatureError(`Cannot read ${what} "${path}": ${(error as Error).message}`);
  }
}

/**
 * Reads and opens a cosign private key file (`--key` of sign, `--sign` of mod push).
 *
 * @throws {SignatureError} for an unreadable file, another key type or a wrong password
 */
export async function signingKey(ctx: CommandContext, path: string): Promise<CryptoKey> {
  const pem = await readKeyFile(ctx, path, "private key");
  return await readPrivateKey(pem, await signingPassword(ctx, false), path);
}

/** The `--key` values, one or more. @throws {UsageError} when there is none */
function requiredKeys(key: string | string[] | undefined, usage: string): string[] {
  const keys = [key ?? []].flat().filter((k) => k);
  if (keys.length === 0) throw new UsageError(`Usage: kpm ${usage} (--key is required)`);
  return keys;
}

/** Runs `kpm artifact sign`. */
export async function sign(ctx: CommandContext<typeof ARTIFACT_SIGN_OPTIONS>): Promise<Output> {
  const [keyPath] = requiredKeys(ctx.options.key, "artifact sign REF --key cosign.key");
  const target = parseTargetArg(ctx, ctx.args[0]!);
  const key = await signingKey(ctx, keyPath!);
  const store = await targetStore(ctx, target);
  const subject = await store.resolve(targetReference(target, "latest")!);
  if (!target.digest) ctx.log(`note: signing "${formatTarget(target)}" as its digest "${subject.digest}"`);
  const result = await signManifest(store, subject, key);
  return output({ subject, ...result }, (v) => [
    `${v.added ? "Signed" : "Already signed by this key"}: ${store.name}@${v.subject.digest}`,
    `Signature: ${store.name}:${v.tag}${v.referrer ? ` (and referrer ${v.referrer.digest})` : ""}`,
    `Key: ${v.fingerprint}`,
  ]);
}

/** Runs `kpm artifact verify`. */
export async function verify(ctx: CommandContext<typeof ARTIFACT_VERIFY_OPTIONS>): Promise<Output> {
  const keys = await Promise.all(
    requiredKeys(ctx.options.key, "artifact verify REF --key cosign.pub").map(async (path) =>
      readPublicKey(await readKeyFile(ctx, path, "public key"), path)
    ),
  );
  const target = parseTargetArg(ctx, ctx.args[0]!);
  const store = await targetStore(ctx, target);
  const subject = await store.resolve(targetReference(target, "latest")!);
  const verified = await verifyManifest(store, subject, keys);
  return output(
    { subject, verified: true, key: verified.fingerprint, signature: verified.source },
    (v) => [`Verified ${store.name}@${v.subject.digest}`, `Key: ${v.key} (signature ${v.signature.digest})`],
  );
}

/** Runs `kpm artifact keygen`. */
export async function keygen(ctx: CommandContext<typeof ARTIFACT_KEYGEN_OPTIONS>): Promise<Output> {
  const prefix = resolve(ctx.cwd, ctx.options["output-key-prefix"] ?? "cosign");
  const [privatePath, publicPath] = [`${prefix}.key`, `${prefix}.pub`];
  for (const path of [privatePath, publicPath]) {
    const exists = await Deno.lstat(path).then(() => true, () => false);
    if (exists) {
      throw new SignatureError(`Cannot write key pair: "${path}" exists (kpm does not overwrite keys)`);
    }
  }
  const files = await generateKeyPair(await signingPassword(ctx, true));
  await writeFileAtomic(privatePath, files.privatePem, { mode: 0o600 });
  await writeFileAtomic(publicPath, files.publicPem, { mode: 0o644 });
  return output({ privateKey: privatePath, publicKey: publicPath, key: files.fingerprint }, (v) => [
    `Private key written to ${v.privateKey}`,
    `Public key written to ${v.publicKey}`,
    `Key: ${v.key}`,
  ]);
}
