/**
 * Standard base64 of bytes (signatures, encrypted keys) and of UTF-8 text (docker config.json `auth` fields,
 * Basic authorization).
 *
 * @module
 */

/** Encodes bytes as standard base64. */
export function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/**
 * Decodes standard base64 into bytes.
 *
 * @throws {Error} when the input is not valid base64
 */
export function decodeBase64(encoded: string): Uint8Array {
  return Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
}

/** Encodes text as UTF-8 then standard base64. */
export function encodeBase64Utf8(text: string): string {
  return encodeBase64(new TextEncoder().encode(text));
}

/**
 * Decodes standard base64 into UTF-8 text.
 *
 * @throws {Error} when the input is not valid base64
 */
export function decodeBase64Utf8(encoded: string): string {
  return new TextDecoder().decode(decodeBase64(encoded));
}
