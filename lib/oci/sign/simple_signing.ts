/**
 * The "simple signing" payload cosign signs (containers/image's format, cosign flavour): it binds a signature
 * to one manifest digest. kpm writes it byte for byte as cosign v2 does and reads it strictly, since it comes
 * from a registry.
 *
 * @module
 */

import { type Digest, isDigest } from "../digest.ts";
import { SignatureError } from "./signature_error.ts";

/** Media type of the payload layer in a cosign signature manifest. */
export const SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";
/** The `critical.type` cosign writes and checks. */
export const COSIGN_SIGNATURE_TYPE = "cosign container image signature";
/** Payloads larger than this are refused unread (cosign's are ~250 bytes). */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

/**
 * The payload for `digest` of repository `dockerReference` (`host/repo`, no tag), as cosign v2 encodes it.
 */
export function simpleSigningPayload(dockerReference: string, digest: Digest): Uint8Array {
  const payload = {
    critical: {
      identity: { "docker-reference": dockerReference },
      image: { "docker-manifest-digest": digest },
      type: COSIGN_SIGNATURE_TYPE,
    },
    optional: null,
  };
  return new TextEncoder().encode(JSON.stringify(payload));
}

/**
 * The manifest digest a payload vouches for.
 *
 * @param where names the signature in errors
 * @throws {SignatureError} when the payload is not a cosign simple-signing document
 */
export function signedDigest(payload: Uint8Array, where: string): Digest {
  let doc: { critical?: { type?: unknown; image?: { "docker-manifest-digest"?: unknown } } };
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
  } catch {
    throw new SignatureError(`Invalid signature payload ${where}: not JSON`);
  }
  const critical = doc?.critical;
  if (critical?.type !== COSIGN_SIGNATURE_TYPE) {
    throw new SignatureError(`Invalid signature payload ${where}: type is not "${COSIGN_SIGNATURE_TYPE}"`);
  }
  const digest = critical.image?.["docker-manifest-digest"];
  if (typeof digest !== "string" || !isDigest(digest)) {
    throw new SignatureError(`Invalid signature payload ${where}: no docker-manifest-digest`);
  }
  return digest;
}
