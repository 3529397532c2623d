/**
 * Cosign key files: the encrypted private key (`ENCRYPTED SIGSTORE PRIVATE KEY`, or the older `ENCRYPTED
 * COSIGN PRIVATE KEY`: PKCS #8 sealed by lib/oci/sign/encrypted_key.ts) and the public key (`PUBLIC KEY`,
 * PKIX/SPKI). kpm handles ECDSA P-256 keys, cosign's default; others are refused with a clear message.
 *
 * @module
 */

import { digestOf } from "../digest.ts";
import { decryptSecret, encryptSecret } from "./encrypted_key.ts";
import { decodePem, encodePem } from "./pem.ts";
import { SignatureError } from "./signature_error.ts";

const CURVE = { name: "ECDSA", namedCurve: "P-256" } as const;
/** The PEM type cosign writes (v2+). */
export const SIGSTORE_PRIVATE_KEY = "ENCRYPTED SIGSTORE PRIVATE KEY";
/** The PEM type older cosign wrote; still read. */
export const COSIGN_PRIVATE_KEY = "ENCRYPTED COSIGN PRIVATE KEY";
const PUBLIC_KEY = "PUBLIC KEY";

/** A verification key and its fingerprint. */
export interface PublicKey {
  key: CryptoKey;
  /** `sha256:` of the SPKI DER bytes: names the key in messages and in kcl.mod.lock. */
  fingerprint: string;
}

/** A freshly made key pair, as the two files cosign writes. */
export interface KeyPairFiles {
  privatePem: string;
  publicPem: string;
  fingerprint: string;
}

/**
 * Reads a cosign private key file and opens it with `password`.
 *
 * @param where names the file in errors
 * @throws {SignatureError} for another PEM type, a wrong password or a key that is not ECDSA P-256
 */
export async function readPrivateKey(pem: string, password: string, where: string): Promise<CryptoKey> {
  const block = decodePem(pem, where);
  if (block.type !== SIGSTORE_PRIVATE_KEY && block.type !== COSIGN_PRIVATE_KEY) {
    throw new SignatureError(
      `Cannot read private key "${where}": PEM type "${block.type}" is not "${SIGSTORE_PRIVATE_KEY}"`,
    );
  }
  const pkcs8 = await decryptSecret(block.bytes, password, where);
  try {
    return await crypto.subtle.importKey("pkcs8", pkcs8 as Uint8Array<ArrayBuffer>, CURVE, true, ["sign"]);
  } catch {
    throw new SignatureError(`Cannot read private key "${where}": kpm signs with ECDSA P-256 keys only`);
  }
}

/**
 * Reads a PEM public key (PKIX), as `cosign generate-key-pair` writes it.
 *
 * @throws {SignatureError} for another PEM type or a key that is not ECDSA P-256
 */
export async function readPublicKey(pem: string, where: string): Promise<PublicKey> {
  const block = decodePem(pem, where);
  if (block.type !== PUBLIC_KEY) {
    throw new SignatureError(
      `Cannot read public key "${where}": PEM type "${block.type}" is not "PUBLIC KEY"`,
    );
  }
  try {
    const key = await crypto.subtle.importKey(
      "spki",
      block.bytes as Uint8Array<ArrayBuffer>,
      CURVE,
      true,
      ["verify"],
    );
    return { key, fingerprint: digestOf(block.bytes) };
  } catch {
    throw new SignatureError(`Cannot read public key "${where}": kpm verifies ECDSA P-256 keys only`);
  }
}

/** The public half of a private key, as SPKI DER bytes. */
async function publicSpki(privateKey: CryptoKey): Promise<Uint8Array> {
  const { d: _, key_ops: __, ...jwk } = await crypto.subtle.exportKey("jwk", privateKey);
  const publicKey = await crypto.subtle.importKey("jwk", jwk, CURVE, true, ["verify"]);
  return new Uint8Array(await crypto.subtle.exportKey("spki", publicKey));
}

/** Makes an ECDSA P-256 key pair and encodes it as cosign's two files, the private one sealed with `password`. */
export async function generateKeyPair(password: string): Promise<KeyPairFiles> {
  const pair = await crypto.subtle.generateKey(CURVE, true, ["sign", "verify"]);
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const spki = await publicSpki(pair.privateKey);
  return {
    privatePem: encodePem(SIGSTORE_PRIVATE_KEY, await encryptSecret(pkcs8, password)),
    publicPem: encodePem(PUBLIC_KEY, spki),
    fingerprint: digestOf(spki),
  };
}

/** The public half of a private key, with its fingerprint (what verifiers will see). */
export async function publicKeyOf(privateKey: CryptoKey): Promise<PublicKey> {
  const spki = await publicSpki(privateKey);
  const key = await crypto.subtle.importKey("spki", spki as Uint8Array<ArrayBuffer>, CURVE, true, ["verify"]);
  return { key, fingerprint: digestOf(spki) };
}
