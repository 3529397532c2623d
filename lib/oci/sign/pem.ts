/**
 * PEM (RFC 7468) blocks as cosign writes and reads them: `-----BEGIN TYPE-----`, base64 in 64-column lines,
 * `-----END TYPE-----`.
 *
 * @module
 */

import { decodeBase64, encodeBase64 } from "../base64.ts";
import { SignatureError } from "./signature_error.ts";

/** One decoded PEM block. */
export interface PemBlock {
  type: string;
  bytes: Uint8Array;
}

/**
 * Decodes strict standard base64 (padded, as Go's encoding/json and encoding/pem write it).
 *
 * @param what names the value in the error
 * @throws {SignatureError} when the text is not base64
 */
export function strictBase64(text: string, what: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new SignatureError(`Invalid ${what}: not base64`);
  }
  return decodeBase64(text);
}

/** Formats one PEM block. */
export function encodePem(type: string, bytes: Uint8Array): string {
  const lines = encodeBase64(bytes).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join("\n")}\n-----END ${type}-----\n`;
}

/**
 * Reads the first PEM block of a text.
 *
 * @param where names the file in errors
 * @throws {SignatureError} when there is no well-formed block
 */
export function decodePem(text: string, where: string): PemBlock {
  const match = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text);
  if (!match) throw new SignatureError(`Cannot read "${where}": no PEM block found`);
  const body = match[2]!.replace(/\s+/g, "");
  return { type: match[1]!, bytes: strictBase64(body, `PEM block in "${where}"`) };
}
