/**
 * lib/oci/sign and the trust policy's scope globs: DER signatures, the encrypted key container, key files,
 * the simple-signing payload, and signing/verifying on an OCI layout (the registry and cosign interop cases
 * are in tests/integration/sign_test.ts and cosign_interop_test.ts).
 */

import { join } from "node:path";
import { encodeBase64 } from "../lib/oci/base64.ts";
import { digestOf } from "../lib/oci/digest.ts";
import { openLayout } from "../lib/oci/layout.ts";
import { EMPTY_CONFIG, encodeManifest } from "../lib/oci/manifest.ts";
import { OCI_MANIFEST } from "../lib/oci/media_types.ts";
import { signatureTag, signManifest, verifyManifest } from "../lib/oci/sign/cosign.ts";
import { derToRaw, rawToDer } from "../lib/oci/sign/ecdsa.ts";
import { decryptSecret, encryptSecret } from "../lib/oci/sign/encrypted_key.ts";
import { generateKeyPair, readPrivateKey, readPublicKey } from "../lib/oci/sign/keys.ts";
import { encodePem } from "../lib/oci/sign/pem.ts";
import { SignatureError } from "../lib/oci/sign/signature_error.ts";
import { signedDigest, simpleSigningPayload } from "../lib/oci/sign/simple_signing.ts";
import { scopeMatches } from "../lib/kpm/trust_policy.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes, assertThrows } from "./assert.ts";

Deno.test("ECDSA signatures convert between r‖s and DER both ways", async (t) => {
  const cases: [string, Uint8Array][] = [
    ["plain scalars", new Uint8Array(64).fill(0x11)],
    ["high bit set (a 0x00 is prefixed)", new Uint8Array(64).fill(0x91)],
    ["leading zeros (stripped)", Uint8Array.from({ length: 64 }, (_, i) => (i % 32 < 3 ? 0 : 7))],
  ];
  for (const [name, raw] of cases) {
    await t.step(name, () => {
      const der = rawToDer(raw);
      assertEquals(der[0], 0x30);
      assertEquals(derToRaw(der), raw);
    });
  }
  await t.step("malformed DER is refused", () => {
    const der = rawToDer(new Uint8Array(64).fill(1));
    assertEquals(derToRaw(der.subarray(0, der.length - 1)), undefined);
    assertEquals(derToRaw(new Uint8Array([...der, 0])), undefined);
    assertEquals(derToRaw(new Uint8Array([0x31, ...der.subarray(1)])), undefined);
    const long = new Uint8Array([0x30, 0x26, 0x02, 0x22, ...new Uint8Array(34).fill(1), 0x02, 0x01, 0x01]);
    assertEquals(derToRaw(long), undefined);
  });
});

Deno.test("the encrypted key container opens with its password only, and refuses hostile parameters", async () => {
  const secret = new TextEncoder().encode("a PKCS #8 key");
  const sealed = await encryptSecret(secret, "pw");
  const doc = JSON.parse(new TextDecoder().decode(sealed));
  assertEquals(Object.keys(doc), ["kdf", "cipher", "ciphertext"]);
  assertEquals(doc.kdf.params, { N: 65536, r: 8, p: 1 });
  assertEquals(await decryptSecret(sealed, "pw", "k"), secret);
  await assertRejects(() => decryptSecret(sealed, "wrong", "k"), SignatureError, "wrong password");
  const hostile = { ...doc, kdf: { ...doc.kdf, params: { N: 1 << 30, r: 8, p: 1 } } };
  await assertRejects(
    () => decryptSecret(new TextEncoder().encode(JSON.stringify(hostile)), "pw", "k"),
    SignatureError,
    "unsupported scrypt parameters",
  );
  await assertRejects(
    () => decryptSecret(new TextEncoder().encode("{"), "pw", "k"),
    SignatureError,
    "not JSON",
  );
  const badCipher = { ...doc, cipher: { name: "aes", nonce: doc.cipher.nonce } };
  await assertRejects(
    () => decryptSecret(new TextEncoder().encode(JSON.stringify(badCipher)), "pw", "k"),
    SignatureError,
    'unknown cipher "aes"',
  );
});

Deno.test("key files: a generated pair reads back; other PEM types and curves are refused", async () => {
  const files = await generateKeyPair("pw");
  assertStringIncludes(files.privatePem, "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n");
  const publicKey = await readPublicKey(files.publicPem, "cosign.pub");
  assertEquals(publicKey.fingerprint, files.fingerprint);
  const privateKey = await readPrivateKey(files.privatePem, "pw", "cosign.key");
  assertEquals(privateKey.type, "private");
  await assertRejects(
    () => readPrivateKey(files.publicPem, "pw", "x.key"),
    SignatureError,
    'PEM type "PUBLIC KEY"',
  );
  await assertRejects(() => readPublicKey(files.privatePem, "x.pub"), SignatureError, "is not");
  await assertRejects(() => readPublicKey("hello", "x.pub"), SignatureError, "no PEM block");
  const p384 = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, ["sign"]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", p384.publicKey));
  await assertRejects(
    () => readPublicKey(encodePem("PUBLIC KEY", spki), "p384.pub"),
    SignatureError,
    "ECDSA P-256 keys only",
  );
});

Deno.test("the simple-signing payload is cosign's, and only cosign's is read", () => {
  const digest = digestOf("m");
  assertEquals(
    new TextDecoder().decode(simpleSigningPayload("127.0.0.1:5000/demo", digest)),
    `{"critical":{"identity":{"docker-reference":"127.0.0.1:5000/demo"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":null}`,
  );
  assertEquals(signedDigest(simpleSigningPayload("x", digest), "p"), digest);
  const other = new TextEncoder().encode(
    JSON.stringify({ critical: { type: "atomic container signature" } }),
  );
  assertThrows(() => signedDigest(other, "p"), SignatureError, "type is not");
  assertThrows(() => signedDigest(new Uint8Array([0xff]), "p"), SignatureError, "not JSON");
});

Deno.test("trust policy scopes: * stays within a path segment, ** crosses them", () => {
  const cases: [string, string, boolean][] = [
    ["ghcr.io/kcl-lang/*", "ghcr.io/kcl-lang/k8s", true],
    ["ghcr.io/kcl-lang/*", "ghcr.io/kcl-lang/a/b", false],
    ["ghcr.io/**", "ghcr.io/kcl-lang/a/b", true],
    ["127.0.0.1:*/kcl/*", "127.0.0.1:5000/kcl/base", true],
    ["ghcr.io/kcl-lang/k8s", "ghcr.io/kcl-lang/k8s", true],
    ["ghcr.io/kcl-lang/k8s", "ghcr.io/kcl-lang/k8sx", false],
    ["ghcr.io/a.b", "ghcr.io/axb", false],
    ["GHCR.io/X", "ghcr.io/x", true],
    // ? is literal; ** keeps the slash after it
    ["h/a?c", "h/abc", false],
    ["h/a?c", "h/a?c", true],
    ["h/**/b", "h/b", false],
    ["h/**/b", "h/x/y/b", true],
    ["h/***", "h/a/b", true],
    ["H/A*", "h/ab", true],
    ["h/a", "h/a/b", false],
    ["h/a+b", "h/a+b", true],
  ];
  for (const [scope, repository, expected] of cases) {
    assertEquals(scopeMatches(scope, repository), expected, `${scope} vs ${repository}`);
  }
});

Deno.test("sign and verify on an OCI layout: the .sig tag, the referrer, and every refusal", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "kpm-sign-" });
  try {
    const store = await openLayout(join(dir, "layout"), { create: true });
    await store.pushBlob(EMPTY_CONFIG, new TextEncoder().encode("{}"));
    const push = (tag: string, annotation: string) =>
      store.pushManifest(
        encodeManifest({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: EMPTY_CONFIG,
          layers: [],
          annotations: { a: annotation },
        }),
        OCI_MANIFEST,
        { tag },
      );
    const v1 = await push("v1", "1");
    const v2 = await push("v2", "2");
    const files = await generateKeyPair("pw");
    const key = await readPrivateKey(files.privatePem, "pw", "k");
    const publicKey = await readPublicKey(files.publicPem, "p");
    const other = await readPublicKey((await generateKeyPair("pw")).publicPem, "o");

    await t.step("unsigned is refused", async () => {
      await assertRejects(() => verifyManifest(store, v1, [publicKey]), SignatureError, "is not signed");
    });
    await t.step("signed verifies; the same key again adds nothing, another key appends", async () => {
      const first = await signManifest(store, v1, key);
      assertEquals([first.tag, first.added, first.fingerprint], [
        signatureTag(v1.digest),
        true,
        publicKey.fingerprint,
      ]);
      const again = await signManifest(store, v1, key);
      assertEquals([again.added, again.signatures.digest, again.referrer], [
        false,
        first.signatures.digest,
        undefined,
      ]);
      const secondFiles = await generateKeyPair("pw");
      const second = await signManifest(store, v1, await readPrivateKey(secondFiles.privatePem, "pw", "k2"));
      const { manifest } = await store.fetchManifest(second.tag);
      assert(!("manifests" in manifest));
      assertEquals(manifest.layers.length, 2);
      assertEquals((await verifyManifest(store, v1, [other, publicKey])).fingerprint, publicKey.fingerprint);
      const referrers = await store.referrers(v1);
      assertEquals(referrers.map((r) => r.artifactType), [
        "application/vnd.dev.cosign.artifact.sig.v1+json",
        "application/vnd.dev.cosign.artifact.sig.v1+json",
      ]);
    });
    await t.step("another key is refused", async () => {
      await assertRejects(() => verifyManifest(store, v1, [other]), SignatureError, "is by key");
    });
    await t.step("a signature moved to another digest is refused", async () => {
      await store.tag(await store.resolve(signatureTag(v1.digest)), signatureTag(v2.digest));
      await assertRejects(() => verifyManifest(store, v2, [publicKey]), SignatureError, "it was moved");
    });
    await t.step("a signature annotation that is not base64 DER does not verify", async () => {
      const { manifest } = await store.fetchManifest(signatureTag(v1.digest));
      assert(!("manifests" in manifest));
      const layers = manifest.layers.map((l) => ({
        ...l,
        annotations: { "dev.cosignproject.cosign/signature": encodeBase64(new Uint8Array([1, 2, 3])) },
      }));
      const v3 = await push("v3", "3");
      await store.pushManifest(encodeManifest({ ...manifest, layers }), OCI_MANIFEST, {
        tag: signatureTag(v3.digest),
      });
      await assertRejects(() => verifyManifest(store, v3, [publicKey]), SignatureError, "is by key");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
