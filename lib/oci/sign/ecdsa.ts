/**
 * ECDSA P-256 with SHA-256 through WebCrypto, with signatures in the ASN.1 DER form cosign and Go's
 * `ecdsa.VerifyASN1` use (WebCrypto speaks the fixed 64-byte r‖s form).
 *
 * @module
 */

const ALGORITHM = { name: "ECDSA", hash: "SHA-256" } as const;
const SCALAR = 32;

/** DER INTEGER of an unsigned big-endian scalar: leading zeros stripped, one 0x00 added when the top bit is set. */
function derInteger(scalar: Uint8Array): number[] {
  let start = 0;
  while (start < scalar.length - 1 && scalar[start] === 0) start++;
  const bytes = [...scalar.subarray(start)];
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return [0x02, bytes.length, ...bytes];
}

/** Converts WebCrypto's r‖s signature into ASN.1 DER `SEQUENCE { INTEGER r, INTEGER s }`. */
export function rawToDer(raw: Uint8Array): Uint8Array {
  const body = [...derInteger(raw.subarray(0, SCALAR)), ...derInteger(raw.subarray(SCALAR))];
  return new Uint8Array([0x30, body.length, ...body]);
}

/**
 * Converts an ASN.1 DER ECDSA P-256 signature into r‖s; undefined when it is not one (strict: no trailing
 * bytes, short-form lengths, scalars of at most 32 significant bytes).
 */
export function derToRaw(der: Uint8Array): Uint8Array | undefined {
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) return undefined;
  const raw = new Uint8Array(SCALAR * 2);
  let at = 2;
  for (const offset of [0, SCALAR]) {
    if (der[at] !== 0x02) return undefined;
    const length = der[at + 1]!;
    let value = der.subarray(at + 2, at + 2 + length);
    if (length === 0 || value.length !== length) return undefined;
    while (value.length > 1 && value[0] === 0) value = value.subarray(1);
    if (value.length > SCALAR) return undefined;
    raw.set(value, offset + SCALAR - value.length);
    at += 2 + length;
  }
  return at === der.length ? raw : undefined;
}

/** Signs `data` (SHA-256 inside) and returns the DER signature. */
export async function signDer(key: CryptoKey, data: Uint8Array): Promise<Uint8Array> {
  const raw = await crypto.subtle.sign(ALGORITHM, key, data as Uint8Array<ArrayBuffer>);
  return rawToDer(new Uint8Array(raw));
}

/** Whether `der` is a valid signature of `data` by `key`; false for a malformed signature. */
export async function verifyDer(key: CryptoKey, data: Uint8Array, der: Uint8Array): Promise<boolean> {
  const raw = derToRaw(der);
  if (!raw) return false;
  return await crypto.subtle.verify(
    ALGORITHM,
    key,
    raw as Uint8Array<ArrayBuffer>,
    data as Uint8Array<ArrayBuffer>,
  );
}
