/**
 * The encrypted container of cosign's private keys (go-securesystemslib `encrypted`): the secret is sealed with
 * nacl secretbox (XSalsa20-Poly1305) under a key derived from the password by scrypt, and stored as JSON
 * `{"kdf":{"name":"scrypt","params":{"N","r","p"},"salt"},"cipher":{"name":"nacl/secretbox","nonce"},"ciphertext"}`
 * with base64 byte fields. Reading accepts only the three scrypt parameter sets that library writes, so a
 * hostile file cannot ask for gigabytes of memory.
 *
 * @module
 */

import { scrypt } from "node:crypto";
import { loadSecretBox } from "../../deps.ts";
import { encodeBase64 } from "../base64.ts";
import { strictBase64 } from "./pem.ts";
import { SignatureError } from "./signature_error.ts";

/** scrypt parameters: N (cost), r (block size), p (parallelism). */
interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** go-securesystemslib's legacy, standard (its default, what cosign writes) and OWASP parameter sets. */
const ALLOWED_PARAMS: ScryptParams[] = [
  { N: 32768, r: 8, p: 1 },
  { N: 65536, r: 8, p: 1 },
  { N: 131072, r: 8, p: 1 },
];
const WRITE_PARAMS = ALLOWED_PARAMS[1]!;
const SALT_SIZE = 32;
const NONCE_SIZE = 24;
/** Far more than any private key (an ECDSA P-256 PKCS #8 key is ~140 bytes). */
const MAX_CIPHERTEXT = 64 * 1024;

function deriveKey(password: string, salt: Uint8Array, params: ScryptParams): Promise<Uint8Array> {
  const maxmem = 256 * params.N * params.r; // 128·N·r for the work buffer, doubled for headroom
  return new Promise((resolve, reject) =>
    scrypt(password, salt, 32, { ...params, maxmem }, (error, key) => {
      if (error) reject(error);
      else resolve(new Uint8Array(key));
    })
  );
}

/**
 * Seals `secret` under `password` in the go-securesystemslib JSON format (standard scrypt parameters).
 *
 * @returns the JSON bytes (what goes inside cosign's PEM block)
 */
export async function encryptSecret(secret: Uint8Array, password: string): Promise<Uint8Array> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_SIZE));
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_SIZE));
  const key = await deriveKey(password, salt, WRITE_PARAMS);
  const ciphertext = (await loadSecretBox())(key, nonce).encrypt(secret);
  const doc = {
    kdf: { name: "scrypt", params: WRITE_PARAMS, salt: encodeBase64(salt) },
    cipher: { name: "nacl/secretbox", nonce: encodeBase64(nonce) },
    ciphertext: encodeBase64(ciphertext),
  };
  return new TextEncoder().encode(JSON.stringify(doc));
}

/**
 * Opens a go-securesystemslib JSON container with `password`.
 *
 * @param where names the key file in errors
 * @throws {SignatureError} for a malformed container, unsupported parameters or a wrong password
 */
export async function decryptSecret(json: Uint8Array, password: string, where: string): Promise<Uint8Array> {
  const bad = (why: string) => new SignatureError(`Cannot read private key "${where}": ${why}`);
  let doc: Record<string, Record<string, unknown> | undefined>;
  try {
    doc = JSON.parse(new TextDecoder().decode(json));
  } catch {
    throw bad("its encrypted content is not JSON");
  }
  const kdf = doc?.kdf;
  const cipher = doc?.cipher;
  if (kdf?.name !== "scrypt") throw bad(`unknown key derivation "${String(kdf?.name)}"`);
  if (cipher?.name !== "nacl/secretbox") throw bad(`unknown cipher "${String(cipher?.name)}"`);
  const params = kdf.params as Partial<ScryptParams> | undefined;
  const allowed = ALLOWED_PARAMS.find((p) => p.N === params?.N && p.r === params?.r && p.p === params?.p);
  if (!allowed) throw bad("unsupported scrypt parameters");
  const field = (value: unknown, name: string) => {
    if (typeof value !== "string") throw bad(`"${name}" is missing`);
    return strictBase64(value, `"${name}" of private key "${where}"`);
  };
  const salt = field(kdf.salt, "salt");
  const nonce = field(cipher.nonce, "nonce");
  const ciphertext = field((doc as Record<string, unknown>).ciphertext, "ciphertext");
  if (nonce.length !== NONCE_SIZE) throw bad("the nonce is not 24 bytes");
  if (ciphertext.length > MAX_CIPHERTEXT) throw bad("the ciphertext is too large");
  const key = await deriveKey(password, salt, allowed);
  try {
    return (await loadSecretBox())(key, nonce).decrypt(ciphertext);
  } catch {
    throw bad("wrong password (or a corrupt file)");
  }
}
