/**
 * The one verified, resumable write (lib/oci/partial_file.ts) and its batched writer (lib/oci/batch_writer.ts):
 * content longer or shorter than expected, a wrong digest, a resume from an earlier run's partial file, the
 * partial file removed on a mismatch, and nothing ever left at the destination when the content is wrong.
 */

import { join } from "node:path";
import { BatchWriter, BlobWriteError } from "../lib/oci/batch_writer.ts";
import { DigestError, digestOf } from "../lib/oci/digest.ts";
import { PartialFile, writeVerifiedFile } from "../lib/oci/partial_file.ts";
import { forEachChunk } from "../lib/oci/read_chunks.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { concat, randomBytes } from "./oci_fake.ts";
import { withTempDir } from "./temp_dir.ts";

/** `bytes` as a stream of `size`-byte chunks: a byte stream (as fetch's bodies) or a default one (as Deno.serve's). */
function chunked(bytes: Uint8Array, size: number, byteStream: boolean): ReadableStream<Uint8Array> {
  let offset = 0;
  if (!byteStream) {
    return new ReadableStream({
      pull(controller) {
        if (offset >= bytes.length) return controller.close();
        controller.enqueue(bytes.slice(offset, offset + size));
        offset += size;
      },
    });
  }
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (offset >= bytes.length) {
        controller.close();
        controller.byobRequest?.respond(0); // a pending BYOB read ends only when answered
        return;
      }
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
  });
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function names(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((entry) => entry.name).sort();
}

const content = randomBytes(300_000);
const expected = { digest: digestOf(content), size: content.length };

Deno.test("a partial file commits content that matches, from byte streams and other streams alike", async (t) => {
  for (const byteStream of [true, false]) {
    for (const size of [1, 4096, 65_536, 300_000, 5 * 1024 * 1024]) {
      await t.step(`${byteStream ? "byte stream" : "default stream"}, ${size}-byte chunks`, async () => {
        await withTempDir(async (dir) => {
          const destination = join(dir, "blob");
          const file = await PartialFile.create(join(dir, "blob.partial"), { what: "the blob", expected });
          const progress: number[] = [];
          await file.append(chunked(content, size, byteStream), { onProgress: (n) => progress.push(n) });
          await file.commit(destination);
          assertEquals(await Deno.readFile(destination), content);
          assertEquals(await names(dir), ["blob"]);
          assertEquals(progress.at(-1), content.length);
        });
      });
    }
  }
});

Deno.test("a mismatch removes the partial file and leaves nothing at the destination", async (t) => {
  const cases = [
    {
      name: "more bytes than expected",
      served: concat([content, new Uint8Array(1)]),
      error: "more than the expected",
    },
    {
      name: "fewer bytes than expected",
      served: content.subarray(1),
      error: "Size mismatch for the blob: got",
    },
    {
      name: "same size, other content",
      served: randomBytes(content.length),
      error: "Digest mismatch for the blob",
    },
  ];
  for (const { name, served, error } of cases) {
    for (const byteStream of [true, false]) {
      await t.step(`${name} (${byteStream ? "byte stream" : "default stream"})`, async () => {
        await withTempDir(async (dir) => {
          const destination = join(dir, "blob");
          const partial = join(dir, "blob.partial");
          const file = await PartialFile.create(partial, { what: "the blob", expected });
          await assertRejects(
            async () => {
              try {
                await file.append(chunked(served, 65_536, byteStream));
                await file.commit(destination);
              } catch (error) {
                if (error instanceof DigestError) await file.remove();
                throw error;
              }
            },
            DigestError,
            error,
          );
          assertEquals(await exists(destination), false);
          assertEquals(await exists(partial), false);
        });
      });
    }
  }
});

Deno.test("commit removes the partial file itself when the content does not match", async () => {
  await withTempDir(async (dir) => {
    const file = await PartialFile.create(join(dir, "blob.partial"), { what: "the blob", expected });
    await file.append(chunked(randomBytes(content.length), 65_536, true));
    await assertRejects(() => file.commit(join(dir, "blob")), DigestError, "Digest mismatch");
    assertEquals(await names(dir), []);
  });
});

Deno.test("too many bytes fail at once: the rest of the stream is not read, nothing past the size is written", async () => {
  await withTempDir(async (dir) => {
    let pulls = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++;
        controller.enqueue(new Uint8Array(10_000));
      },
    });
    const small = { digest: digestOf(new Uint8Array(25_000)), size: 25_000 };
    const partial = join(dir, "blob.partial");
    const file = await PartialFile.create(partial, { what: "the blob", expected: small });
    await assertRejects(() => file.append(endless), DigestError, "more than the expected 25000 bytes");
    assert(pulls < 10, `read ${pulls} chunks`);
    assertEquals(file.size, 20_000);
    file.close();
    assertEquals((await Deno.stat(partial)).size, 20_000);
  });
});

Deno.test("a partial file resumes from what an earlier run left", async (t) => {
  await t.step("the bytes on disk are hashed and the rest is appended", async () => {
    await withTempDir(async (dir) => {
      const partial = join(dir, "blob.partial");
      await Deno.writeFile(partial, content.subarray(0, 123_456));
      const file = await PartialFile.create(partial, { what: "the blob", expected, resume: true });
      assertEquals(file.size, 123_456);
      await file.append(chunked(content.subarray(123_456), 65_536, true));
      await file.commit(join(dir, "blob"));
      assertEquals(await Deno.readFile(join(dir, "blob")), content);
    });
  });
  await t.step("a partial file longer than the content is emptied and written again", async () => {
    await withTempDir(async (dir) => {
      const partial = join(dir, "blob.partial");
      await Deno.writeFile(partial, concat([content, randomBytes(10)]));
      const file = await PartialFile.create(partial, { what: "the blob", expected, resume: true });
      assertEquals(file.size, 0);
      await file.append(chunked(content, 65_536, false));
      await file.commit(join(dir, "blob"));
      assertEquals(await Deno.readFile(join(dir, "blob")), content);
    });
  });
  await t.step("a wrong partial file is found out at the end and removed", async () => {
    await withTempDir(async (dir) => {
      const partial = join(dir, "blob.partial");
      await Deno.writeFile(partial, randomBytes(1000));
      const file = await PartialFile.create(partial, { what: "the blob", expected, resume: true });
      await file.append(chunked(content.subarray(1000), 65_536, true));
      await assertRejects(() => file.commit(join(dir, "blob")), DigestError, "Digest mismatch");
      assertEquals(await names(dir), []);
    });
  });
  await t.step("without resume, an existing file is refused and left as it is", async () => {
    await withTempDir(async (dir) => {
      const partial = join(dir, "blob.partial");
      await Deno.writeFile(partial, content.subarray(0, 10));
      await assertRejects(
        () => PartialFile.create(partial, { what: "the blob", expected }),
        Deno.errors.AlreadyExists,
      );
      assertEquals(await Deno.readFile(partial), content.subarray(0, 10));
    });
  });
  await t.step("restart empties the file and the hash", async () => {
    await withTempDir(async (dir) => {
      const partial = join(dir, "blob.partial");
      await Deno.writeFile(partial, randomBytes(5000));
      const file = await PartialFile.create(partial, { what: "the blob", expected, resume: true });
      await file.restart();
      await file.append(chunked(content, 65_536, true));
      await file.commit(join(dir, "blob"));
      assertEquals(await Deno.readFile(join(dir, "blob")), content);
    });
  });
});

Deno.test("suspend keeps a partial file only while it holds part of the content", async (t) => {
  for (const [held, kept] of [[0, false], [1000, true], [content.length, false]] as const) {
    await t.step(`${held} bytes: ${kept ? "kept" : "removed"}`, async () => {
      await withTempDir(async (dir) => {
        const partial = join(dir, "blob.partial");
        const file = await PartialFile.create(partial, { what: "the blob", expected });
        await file.append(chunked(content.subarray(0, held), 65_536, true));
        await file.suspend();
        assertEquals(await exists(partial), kept);
      });
    });
  }
});

Deno.test("an upload learns its digest at the end; another algorithm is checked by hashing the file again", async (t) => {
  for (const digest of [digestOf(content), digestOf(content, "sha512")]) {
    await t.step(digest.slice(0, 6), async () => {
      await withTempDir(async (dir) => {
        const file = await PartialFile.create(join(dir, "upload"), {
          what: "the upload",
          algorithm: "sha256",
        });
        await file.append(chunked(content.subarray(0, 1000), 100, false));
        file.close();
        await file.append(chunked(content.subarray(1000), 65_536, false));
        await file.verify({ digest });
        assertEquals(await Deno.readFile(join(dir, "upload")), content);
      });
    });
  }
  await t.step("a wrong digest removes the file", async () => {
    await withTempDir(async (dir) => {
      const file = await PartialFile.create(join(dir, "upload"), { what: "the upload", algorithm: "sha256" });
      await file.append(chunked(content, 65_536, false));
      await assertRejects(
        () => file.verify({ digest: digestOf(content.subarray(1), "sha512") }),
        DigestError,
        'Digest mismatch for the upload: got "sha512:',
      );
      assertEquals(await names(dir), []);
    });
  });
});

Deno.test("writeVerifiedFile leaves nothing behind on a mismatch and replaces nothing", async (t) => {
  await t.step("matching content is renamed into place", async () => {
    await withTempDir(async (dir) => {
      await writeVerifiedFile(join(dir, "blob"), chunked(content, 65_536, true), expected);
      assertEquals(await Deno.readFile(join(dir, "blob")), content);
      assertEquals(await names(dir), ["blob"]);
    });
  });
  for (
    const [name, served] of [["short", content.subarray(5)], ["long", concat([content, content])]] as const
  ) {
    await t.step(`${name} content`, async () => {
      await withTempDir(async (dir) => {
        await Deno.writeFile(join(dir, "blob"), new TextEncoder().encode("old"));
        await assertRejects(
          () => writeVerifiedFile(join(dir, "blob"), chunked(served, 65_536, true), expected),
          DigestError,
          `blob "${expected.digest}"`,
        );
        assertEquals(await names(dir), ["blob"]);
        assertEquals(await Deno.readTextFile(join(dir, "blob")), "old");
      });
    });
  }
});

Deno.test("BatchWriter writes pieces in order, held, copied or whole, and reports a failed write", async (t) => {
  const pieces = [
    randomBytes(10),
    randomBytes(5 * 1024 * 1024),
    randomBytes(3),
    randomBytes(70_000),
    randomBytes(1),
  ];
  for (const borrowed of [false, true]) {
    await t.step(borrowed ? "borrowed pieces" : "pieces of its own", async () => {
      await withTempDir(async (dir) => {
        const path = join(dir, "out");
        {
          using file = await Deno.open(path, { write: true, createNew: true });
          const writer = new BatchWriter(file, { what: "the blob", batchSize: 65_536, ahead: 3 * 65_536 });
          for (const piece of pieces) {
            const scratch = piece.slice();
            await writer.add(scratch, borrowed);
            if (borrowed) scratch.fill(0xee); // the caller reuses its buffer
          }
          await writer.close();
        }
        assertEquals(await Deno.readFile(path), concat(pieces));
      });
    });
  }
  await t.step("a failed write fails the next add or the close, naming the content", async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "out");
      await Deno.writeFile(path, new Uint8Array());
      using readOnly = await Deno.open(path, { read: true });
      const writer = new BatchWriter(readOnly, { what: "the blob", batchSize: 1024 });
      await assertRejects(
        async () => {
          for (let i = 0; i < 10; i++) await writer.add(new Uint8Array(4096), false);
          await writer.close();
        },
        BlobWriteError,
        "Cannot write the blob to disk",
      );
      assert(writer.failed);
    });
  });
});

Deno.test("forEachChunk reads a byte stream into one reused buffer, or chunk by chunk when asked", async (t) => {
  for (const [bufferSize, borrowed] of [[4096, true], [undefined, false]] as const) {
    await t.step(bufferSize ? "BYOB into a reused buffer" : "chunk by chunk", async () => {
      const seen: boolean[] = [];
      const parts: Uint8Array[] = [];
      await forEachChunk(chunked(content, 1000, true), bufferSize, (chunk, isBorrowed) => {
        seen.push(isBorrowed);
        parts.push(chunk.slice());
      });
      assertEquals(concat(parts), content);
      assert(seen.every((value) => value === borrowed), `borrowed: ${seen}`);
    });
  }
  await t.step("a stream that is not a byte stream is read chunk by chunk", async () => {
    const seen: boolean[] = [];
    await forEachChunk(chunked(content, 1000, false), 4096, (_, isBorrowed) => void seen.push(isBorrowed));
    assert(seen.length > 0 && seen.every((value) => !value));
  });
});
