/**
 * Cosign v2 key-based signatures on any Store (registry repository or OCI layout). A signature is a
 * simple-signing payload layer whose `dev.cosignproject.cosign/signature` annotation holds the base64 DER
 * ECDSA signature; the layers live in an image manifest tagged `sha256-<hex>.sig` next to the signed manifest
 * (cosign's default) and, as cosign's OCI 1.1 mode writes it, in a referrer of artifact type
 * `application/vnd.dev.cosign.artifact.sig.v1+json` whose `subject` is the signed manifest.
 *
 * @module
 */

import { type Digest, digestHex, digestOf } from "../digest.ts";
import { type Descriptor, encodeManifest, type ImageManifest, isIndex } from "../manifest.ts";
import { OCI_CONFIG, OCI_MANIFEST } from "../media_types.ts";
import { type FetchedManifest, isNotFound, type Store } from "../store.ts";
import { encodeBase64 } from "../base64.ts";
import { signDer, verifyDer } from "./ecdsa.ts";
import { type PublicKey, publicKeyOf } from "./keys.ts";
import { strictBase64 } from "./pem.ts";
import {
  MAX_PAYLOAD_BYTES,
  signedDigest,
  SIMPLE_SIGNING_MEDIA_TYPE,
  simpleSigningPayload,
} from "./simple_signing.ts";
import { SignatureError } from "./signature_error.ts";

/** The layer annotation holding the base64 DER signature. */
export const SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";
/** The artifact type (and config media type) of cosign's OCI 1.1 signature referrers. */
export const COSIGN_SIGNATURE_ARTIFACT = "application/vnd.dev.cosign.artifact.sig.v1+json";
/** Cosign refuses signature manifests with more layers than this; so does kpm, and checks no more in all. */
const MAX_SIGNATURES = 1000;
/**
 * The most cosign signature referrers of one manifest kpm looks at (each is a manifest to fetch). kpm's sign
 * writes one per key that signs; cosign itself reads only the last referrer listed, and refuses more than 100
 * signatures of an image.
 */
export const MAX_SIGNATURE_REFERRERS = 100;

/** The tag cosign stores the signatures of `digest` under: `sha256-<hex>.sig`. */
export function signatureTag(digest: Digest): string {
  return `${digest.slice(0, digest.indexOf(":"))}-${digestHex(digest)}.sig`;
}

/**
 * The tags cosign attaches to `digest` (signatures, attestations, SBOMs): what `artifact copy -r` carries along
 * with the referrers.
 */
export function attachedTags(digest: Digest): string[] {
  const base = signatureTag(digest).slice(0, -".sig".length);
  return [`${base}.sig`, `${base}.att`, `${base}.sbom`];
}

/** What signManifest did. */
export interface SignResult {
  /** The fingerprint of the signing key. */
  fingerprint: string;
  /** False when the subject already carried this key's signature of the same payload (nothing was written). */
  added: boolean;
  /** The `sha256-<hex>.sig` manifest (all signatures of the subject, the new one last). */
  signatures: Descriptor;
  tag: string;
  /** The OCI 1.1 referrer holding the same signatures (undefined when nothing was added). */
  referrer?: Descriptor;
}

/** The manifest tagged `sha256-<hex>.sig` next to `subject`, if there is one (one request, as cosign asks). */
async function taggedSignatures(store: Store, subject: Descriptor): Promise<FetchedManifest | undefined> {
  try {
    return await store.fetchManifest(signatureTag(subject.digest));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** The DER bytes of a signature annotation; undefined when it is not base64. */
function signatureBytes(annotation: string): Uint8Array | undefined {
  try {
    return strictBase64(annotation, "signature");
  } catch {
    return undefined;
  }
}

/** Whether `layers` hold a signature of `payload` by `signer` (cosign then adds none: signing is idempotent). */
async function alreadySigned(layers: Descriptor[], payload: Uint8Array, signer: PublicKey): Promise<boolean> {
  const digest = digestOf(payload);
  for (const layer of layers) {
    const signature = layer.annotations?.[SIGNATURE_ANNOTATION];
    if (layer.digest !== digest || !signature) continue;
    const der = signatureBytes(signature);
    if (der && await verifyDer(signer.key, payload, der)) return true;
  }
  return false;
}

/** The image config go-containerregistry writes for cosign's signature image (one history entry per layer). */
function signatureConfig(layers: Descriptor[]): Uint8Array {
  const created = "0001-01-01T00:00:00Z";
  return new TextEncoder().encode(JSON.stringify({
    architecture: "",
    created,
    history: layers.map(() => ({ created })),
    os: "",
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) },
    config: {},
  }));
}

/** Writes `layers` as the `.sig` manifest (tagged) and as the cosign referrer of `subject`. */
async function writeSignatures(store: Store, subject: Descriptor, layers: Descriptor[], tag: string) {
  const configBytes = signatureConfig(layers);
  const config: Descriptor = {
    mediaType: OCI_CONFIG,
    size: configBytes.length,
    digest: digestOf(configBytes),
  };
  await store.pushBlob(config, configBytes);
  const tagged: ImageManifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers };
  const signatures = await store.pushManifest(encodeManifest(tagged), OCI_MANIFEST, { tag });
  const referrer = await store.pushManifest(
    encodeManifest({
      ...tagged,
      artifactType: COSIGN_SIGNATURE_ARTIFACT,
      config: { ...config, mediaType: COSIGN_SIGNATURE_ARTIFACT },
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    }),
    OCI_MANIFEST,
  );
  return { signatures, referrer };
}

/**
 * Signs the manifest `subject` of `store` with `key` and stores the signature as cosign v2 does: appended to
 * the `sha256-<hex>.sig` manifest, and as an OCI 1.1 referrer. Like cosign, it adds nothing when the same key
 * already signed the same payload.
 *
 * @param options `dockerReference` is the payload's identity (`host/repo`; default the store's name)
 * @throws {SignatureError} when the existing signature manifest is unusable; whatever the store throws
 */
export async function signManifest(
  store: Store,
  subject: Descriptor,
  key: CryptoKey,
  options: { dockerReference?: string } = {},
): Promise<SignResult> {
  const payload = simpleSigningPayload(options.dockerReference ?? store.name, subject.digest);
  const signer = await publicKeyOf(key);
  const tag = signatureTag(subject.digest);
  const tagged = (await taggedSignatures(store, subject))?.manifest;
  if (tagged && isIndex(tagged)) {
    throw new SignatureError(`Invalid signatures "${store.name}:${tag}": an index`);
  }
  const existing = tagged?.layers ?? [];
  if (await alreadySigned(existing, payload, signer)) {
    return { fingerprint: signer.fingerprint, added: false, signatures: await store.resolve(tag), tag };
  }
  if (existing.length >= MAX_SIGNATURES) {
    throw new SignatureError(
      `Cannot sign "${store.name}@${subject.digest}": it has ${MAX_SIGNATURES} signatures`,
    );
  }
  const layer: Descriptor = {
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    size: payload.length,
    digest: digestOf(payload),
    annotations: { [SIGNATURE_ANNOTATION]: encodeBase64(await signDer(key, payload)) },
  };
  await store.pushBlob(layer, payload);
  const written = await writeSignatures(store, subject, [...existing, layer], tag);
  return { fingerprint: signer.fingerprint, added: true, tag, ...written };
}

/** A signature that verified. */
export interface VerifiedSignature {
  /** The fingerprint of the key that made it. */
  fingerprint: string;
  /** The manifest holding it (the `.sig` tag or a referrer). */
  source: Descriptor;
}

/**
 * The manifests that may hold signatures of `subject`, one at a time: the `.sig` tag, then the cosign referrers
 * (listed only when asked for more, and at most MAX_SIGNATURE_REFERRERS of them).
 *
 * @throws {SignatureError} when there are more referrers than that
 */
async function* signatureManifests(
  store: Store,
  subject: Descriptor,
): AsyncGenerator<[Descriptor, ImageManifest]> {
  const tagged = await taggedSignatures(store, subject);
  if (tagged && !isIndex(tagged.manifest)) yield [tagged.descriptor, tagged.manifest];
  const referrers = await store.referrers(subject, { artifactType: COSIGN_SIGNATURE_ARTIFACT });
  if (referrers.length > MAX_SIGNATURE_REFERRERS) {
    throw new SignatureError(
      `Cannot verify "${store.name}@${subject.digest}": it has more than ${MAX_SIGNATURE_REFERRERS} signature referrers, the most kpm checks`,
    );
  }
  for (const descriptor of referrers) {
    const { manifest } = await store.fetchManifest(descriptor);
    if (!isIndex(manifest)) yield [descriptor, manifest];
  }
}

/** The key that made a signature layer and the digest its payload vouches for; undefined when no key did. */
async function checkLayer(
  store: Store,
  layer: Descriptor,
  signature: string,
  keys: PublicKey[],
): Promise<{ fingerprint: string; digest: Digest } | undefined> {
  const der = signatureBytes(signature);
  if (layer.size > MAX_PAYLOAD_BYTES || !der) return undefined;
  const payload = new Uint8Array(await new Response(await store.fetchBlob(layer)).arrayBuffer());
  for (const key of keys) {
    if (await verifyDer(key.key, payload, der)) {
      return { fingerprint: key.fingerprint, digest: signedDigest(payload, `"${layer.digest}"`) };
    }
  }
  return undefined;
}

/**
 * Checks that one of `keys` signed the manifest `subject` of `store` (cosign's `verify --key` without the
 * transparency log): a simple-signing layer under the `.sig` tag or in a cosign referrer whose signature
 * verifies and whose payload names exactly `subject.digest`.
 *
 * @returns the first signature that verifies
 * @throws {SignatureError} when there is no signature, none by these keys, or a valid one for another digest
 */
export async function verifyManifest(
  store: Store,
  subject: Descriptor,
  keys: PublicKey[],
): Promise<VerifiedSignature> {
  const seen = new Set<string>(); // the same signature is under the tag and in the referrer
  let moved: Digest | undefined;
  const what = `"${store.name}@${subject.digest}"`;
  for await (const [source, manifest] of signatureManifests(store, subject)) {
    for (const layer of manifest.layers) {
      const signature = layer.annotations?.[SIGNATURE_ANNOTATION];
      if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE || !signature) continue;
      if (seen.has(`${layer.digest} ${signature}`)) continue;
      if (seen.size === MAX_SIGNATURES) {
        throw new SignatureError(
          `Cannot verify ${what}: it has more than ${MAX_SIGNATURES} signatures, the most kpm checks`,
        );
      }
      seen.add(`${layer.digest} ${signature}`);
      const checked = await checkLayer(store, layer, signature, keys);
      if (checked?.digest === subject.digest) return { fingerprint: checked.fingerprint, source };
      if (checked) moved = checked.digest;
    }
  }
  if (moved) {
    throw new SignatureError(`The signature of ${what} is for another manifest ("${moved}"): it was moved`);
  }
  if (seen.size === 0) {
    throw new SignatureError(
      `${what} is not signed: no "${signatureTag(subject.digest)}" tag and no signature referrer`,
    );
  }
  const by = keys.length === 1 ? `key "${keys[0]!.fingerprint}"` : `any of ${keys.length} keys`;
  throw new SignatureError(`None of the ${seen.size} signature(s) of ${what} is by ${by}`);
}
