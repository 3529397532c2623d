/**
 * Signature discovery a registry controls: `verify` reads the `sha256-<hex>.sig` tag first (one request, no tag
 * listing), lists cosign's signature referrers only when the tag holds no valid signature, looks at no more than
 * MAX_SIGNATURE_REFERRERS of them, and checks no more than 1000 signatures in all, with an error naming the
 * bound instead of fetching what a registry lists.
 */

import { assertEquals, assertRejects } from "../assert.ts";
import { encodeBase64 } from "../../lib/oci/base64.ts";
import { RegistryClient } from "../../lib/oci/client.ts";
import { digestOf } from "../../lib/oci/digest.ts";
import { type Descriptor, EMPTY_CONFIG, encodeManifest } from "../../lib/oci/manifest.ts";
import { OCI_MANIFEST } from "../../lib/oci/media_types.ts";
import { Repository } from "../../lib/oci/repository.ts";
import {
  COSIGN_SIGNATURE_ARTIFACT,
  MAX_SIGNATURE_REFERRERS,
  SIGNATURE_ANNOTATION,
  signatureTag,
  signManifest,
  verifyManifest,
} from "../../lib/oci/sign/cosign.ts";
import { generateKeyPair, readPrivateKey, readPublicKey } from "../../lib/oci/sign/keys.ts";
import { SignatureError } from "../../lib/oci/sign/signature_error.ts";
import { SIMPLE_SIGNING_MEDIA_TYPE } from "../../lib/oci/sign/simple_signing.ts";
import { type EvilRegistry, startEvilRegistry } from "./support/evil_registry.ts";

const INDEX = "application/vnd.oci.image.index.v1+json";
const EMPTY = new TextEncoder().encode("{}");

/** A listing of `count` cosign signature referrers that the registry does not have. */
function manyReferrers(count: number) {
  const manifests = Array.from({ length: count }, (_, i) => ({
    mediaType: OCI_MANIFEST,
    digest: digestOf(new TextEncoder().encode(`sig ${i}`)),
    size: 100 + i,
    artifactType: COSIGN_SIGNATURE_ARTIFACT,
  }));
  return (_request: Request, url: URL): Response | undefined =>
    url.pathname.includes("/referrers/")
      ? Response.json({ schemaVersion: 2, mediaType: INDEX, manifests }, {
        headers: { "Content-Type": INDEX },
      })
      : undefined;
}

/** A registry (with `trick`) holding the empty config and a manifest tagged v1 in `e/a`. */
async function start(
  trick?: (request: Request, url: URL) => Response | undefined,
): Promise<{ registry: EvilRegistry; repository: Repository; subject: Descriptor }> {
  const registry = startEvilRegistry({ trick });
  const repository = new Repository(new RegistryClient({ plainHttp: true }), {
    registry: registry.host,
    repository: "e/a",
  });
  await repository.pushBlob(EMPTY_CONFIG, EMPTY);
  const subject = await repository.pushManifest(
    encodeManifest({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: EMPTY_CONFIG, layers: [] }),
    OCI_MANIFEST,
    { tag: "v1" },
  );
  registry.seen.length = 0;
  return { registry, repository, subject };
}

/** The requests whose path has `part`. */
function requests(registry: EvilRegistry, part: string): number {
  return registry.seen.filter((s) => s.url.includes(part)).length;
}

Deno.test("verify refuses more signature referrers than it looks at, before fetching any", async () => {
  const { registry, repository, subject } = await start(manyReferrers(1000));
  try {
    const key = await readPublicKey((await generateKeyPair("pw")).publicPem, "p");
    await assertRejects(
      () => verifyManifest(repository, subject, [key]),
      SignatureError,
      `Cannot verify "${registry.host}/e/a@${subject.digest}": it has more than ${MAX_SIGNATURE_REFERRERS} signature referrers, the most kpm checks`,
    );
    assertEquals(requests(registry, "/manifests/sha256:"), 0);
  } finally {
    await registry.close();
  }
});

Deno.test("verify reads the .sig tag first and lists no referrers when it holds a valid signature", async () => {
  const { registry, repository, subject } = await start(manyReferrers(1000));
  try {
    const files = await generateKeyPair("pw");
    await signManifest(repository, subject, await readPrivateKey(files.privatePem, "pw", "k"));
    registry.seen.length = 0;
    const verified = await verifyManifest(repository, subject, [await readPublicKey(files.publicPem, "p")]);
    assertEquals(verified.source.digest, (await repository.resolve(signatureTag(subject.digest))).digest);
    assertEquals([requests(registry, "/referrers/"), requests(registry, "/tags/list")], [0, 0]);
  } finally {
    await registry.close();
  }
});

Deno.test("verify checks at most 1000 signatures across the tag and the referrers", async () => {
  const blobs = new Map<string, Uint8Array<ArrayBuffer>>();
  const layers = (from: number) =>
    Array.from({ length: 600 }, (_, i) => {
      const payload = new TextEncoder().encode(`payload ${from + i}`);
      blobs.set(digestOf(payload), payload);
      return {
        mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
        digest: digestOf(payload),
        size: payload.length,
        annotations: { [SIGNATURE_ANNOTATION]: encodeBase64(new Uint8Array([1, 2, 3])) },
      };
    });
  const { registry, repository, subject } = await start((_request, url) => {
    const bytes = blobs.get(url.pathname.split("/blobs/")[1] ?? "");
    return bytes && new Response(bytes);
  });
  try {
    const signatures = { schemaVersion: 2 as const, mediaType: OCI_MANIFEST, config: EMPTY_CONFIG };
    await repository.pushManifest(encodeManifest({ ...signatures, layers: layers(0) }), OCI_MANIFEST, {
      tag: signatureTag(subject.digest),
    });
    await repository.pushManifest(
      encodeManifest({
        ...signatures,
        artifactType: COSIGN_SIGNATURE_ARTIFACT,
        layers: layers(600),
        subject,
      }),
      OCI_MANIFEST,
    );
    const key = await readPublicKey((await generateKeyPair("pw")).publicPem, "p");
    registry.seen.length = 0;
    await assertRejects(
      () => verifyManifest(repository, subject, [key]),
      SignatureError,
      "it has more than 1000 signatures, the most kpm checks",
    );
    assertEquals(requests(registry, "/blobs/sha256:"), 1000);
  } finally {
    await registry.close();
  }
});
