/**
 * Base64 of UTF-8 text, as docker config.json `auth` fields and Basic authorization use it.
 *
 * @module
 */

/** Encodes text as UTF-8 then standard base64. */
export function encodeBase64Utf8(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * Decodes standard base64 into UTF-8 text.
 *
 * @throws {Error} when the input is not valid base64
 */
export function decodeBase64Utf8(encoded: string): string {
  return new TextDecoder().decode(Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0)));
}
