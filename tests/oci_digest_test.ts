/**
 * Digests: parsing, the streaming hasher, and the verifying stream (size too short or too long, wrong digest),
 * all in one pass.
 */

import { createHash } from "node:crypto";
import {
  type Digest,
  digestAlgorithm,
  DigestError,
  digestHex,
  digestOf,
  digestStream,
  Hasher,
  isDigest,
  parseDigest,
  VerifyingStream,
} from "../lib/oci/digest.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { concat } from "./oci_fake.ts";

const EMPTY_SHA256: Digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** A stream of `bytes` cut into chunks of `size` (the last may be shorter). */
function chunked(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
  });
}

function sample(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + 7) & 0xff;
  return bytes;
}

function sha256(bytes: Uint8Array): Digest {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return concat(await Array.fromAsync(stream));
}

Deno.test("parseDigest accepts sha256 and sha512 and refuses everything else", async (t) => {
  const good = [EMPTY_SHA256, `sha512:${"0".repeat(128)}`];
  for (const value of good) {
    await t.step(`accepts ${value.slice(0, 20)}…`, () => {
      assertEquals(parseDigest(value), value);
      assertEquals(isDigest(value), true);
    });
  }
  const bad: [string, string][] = [
    ["", "expected"],
    ["sha256", "expected"],
    [":abc", "expected"],
    [`md5:${"a".repeat(32)}`, "expected"],
    [`SHA256:${"a".repeat(64)}`, "expected"],
    [`sha256:${"a".repeat(63)}`, "64 lowercase hex digits"],
    [`sha256:${"a".repeat(65)}`, "64 lowercase hex digits"],
    [`sha256:${"A".repeat(64)}`, "64 lowercase hex digits"],
    [`sha256:${"g".repeat(64)}`, "64 lowercase hex digits"],
    [`sha512:${"a".repeat(64)}`, "128 lowercase hex digits"],
  ];
  for (const [value, part] of bad) {
    await t.step(`refuses ${JSON.stringify(value.slice(0, 20))}`, () => {
      const error = assertThrows(() => parseDigest(value), DigestError, part);
      assert(error.message.startsWith(`Invalid digest "${value}"`), error.message);
      assertEquals(isDigest(value), false);
    });
  }
  await t.step("digestHex and digestAlgorithm split a digest", () => {
    assertEquals(digestAlgorithm(EMPTY_SHA256), "sha256");
    assertEquals(digestHex(EMPTY_SHA256), EMPTY_SHA256.slice(7));
  });
});

Deno.test("the streaming hasher gives the same digest for any chunking", async (t) => {
  const bytes = sample(1_000_003);
  const expected = sha256(bytes);
  for (const size of [1_000_003, 65536, 4096, 1000, 7]) {
    await t.step(`chunks of ${size}`, async () => {
      assertEquals(await digestStream(chunked(bytes, size)), { digest: expected, size: bytes.length });
    });
  }
  await t.step("a byte stream (read with a BYOB reader into a reused buffer)", async () => {
    let offset = 0;
    const bytesStream = new ReadableStream({
      type: "bytes",
      pull(controller) {
        if (offset >= bytes.length) {
          controller.close();
          return controller.byobRequest?.respond(0); // a pending BYOB read ends with the close
        }
        controller.enqueue(bytes.slice(offset, offset + 50_000));
        offset += 50_000;
      },
    });
    assertEquals(await digestStream(bytesStream), { digest: expected, size: bytes.length });
  });
  await t.step("a file's readable", async () => {
    const path = await Deno.makeTempFile({ prefix: "kpm_digest_" });
    try {
      await Deno.writeFile(path, bytes);
      assertEquals(await digestStream((await Deno.open(path)).readable), {
        digest: expected,
        size: bytes.length,
      });
    } finally {
      await Deno.remove(path);
    }
  });
  await t.step("digestOf of bytes and of a string", () => {
    assertEquals(digestOf(bytes), expected);
    assertEquals(digestOf(""), EMPTY_SHA256);
    assertEquals(digestOf("{}"), "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  });
  await t.step("Hasher counts bytes and can start over", () => {
    const hasher = new Hasher();
    hasher.update(new Uint8Array([1, 2, 3]));
    assertEquals(hasher.size, 3);
    hasher.reset();
    assertEquals(hasher.size, 0);
    hasher.update(bytes.subarray(0, 10));
    hasher.update(bytes.subarray(10));
    assertEquals(hasher.digest(), expected);
  });
  await t.step("sha512", () => {
    assertEquals(
      digestOf(bytes, "sha512"),
      `sha512:${createHash("sha512").update(bytes).digest("hex")}`,
    );
  });
  await t.step("an unknown algorithm is a DigestError", () => {
    assertThrows(() => new Hasher("md5"), DigestError, '"md5"');
  });
});

Deno.test("VerifyingStream passes matching content through unchanged and refuses the rest", async (t) => {
  const bytes = sample(200_000);
  const digest = sha256(bytes);
  const what = `blob "${digest}" from "127.0.0.1:5000/a/b"`;

  await t.step("matching digest and size: the bytes pass through", async () => {
    assertEquals(
      await drain(
        chunked(bytes, 4096).pipeThrough(new VerifyingStream({ digest, size: bytes.length }, what)),
      ),
      bytes,
    );
  });
  await t.step("matching digest, no size given", async () => {
    assertEquals(await drain(chunked(bytes, 4096).pipeThrough(new VerifyingStream({ digest }, what))), bytes);
  });
  await t.step("an empty blob", async () => {
    assertEquals(
      await drain(
        chunked(new Uint8Array(0), 1).pipeThrough(
          new VerifyingStream({ digest: EMPTY_SHA256, size: 0 }, "empty"),
        ),
      ).then((b) => b.length),
      0,
    );
  });

  const failures: [string, Uint8Array, { digest: Digest; size?: number }, string][] = [
    [
      "too short",
      bytes.subarray(0, bytes.length - 1),
      { digest, size: bytes.length },
      `got ${bytes.length - 1} bytes, expected ${bytes.length}`,
    ],
    [
      "too long",
      sample(200_001),
      { digest, size: bytes.length },
      `more than the expected ${bytes.length} bytes`,
    ],
    [
      "wrong digest, right size",
      sample(200_000).reverse(),
      { digest, size: bytes.length },
      "Digest mismatch",
    ],
    ["wrong digest, no size", bytes.subarray(1), { digest }, "Digest mismatch"],
  ];
  for (const [name, content, expected, part] of failures) {
    await t.step(name, async () => {
      const error = await assertRejects(
        () => drain(chunked(content, 4096).pipeThrough(new VerifyingStream(expected, what))),
        DigestError,
        part,
      );
      assert(error.message.includes(what), error.message);
    });
  }

  await t.step("too long fails as soon as the limit is passed, before reading the rest", async () => {
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(1024));
      },
    });
    await assertRejects(
      () => drain(endless.pipeThrough(new VerifyingStream({ digest, size: 10_000 }, what))),
      DigestError,
      "more than the expected 10000 bytes",
    );
    assert(pulled < 50, `pulled ${pulled} chunks`);
  });
});
