/**
 * A big file is uploaded while it is hashed (lib/oci/blob_upload.ts uploadWhileHashing): what a push sends to
 * the embedded registry when the blob is new, when it is there already, and when the file changes under it.
 *
 * @module
 */

import { join } from "node:path";
import { serveRegistry } from "../lib/api/registry.ts";
import { pushToStore } from "../lib/artifact/push.ts";
import { HASH_WHILE_UPLOADING_FROM, type UploadOutcome } from "../lib/oci/blob_upload.ts";
import { DigestError, digestOf } from "../lib/oci/digest.ts";
import { Repository } from "../lib/oci/repository.ts";
import { countingClient } from "./counting_client.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { withTempDir } from "./temp_dir.ts";

/** Content just over the threshold, so that the push takes the upload-while-hashing path. */
function bigContent(): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(HASH_WHILE_UPLOADING_FROM + 12_345);
  for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i % 251;
  return bytes;
}

Deno.test("a big file is uploaded while hashed; pushed again, the upload is abandoned once the registry has it", async () => {
  await withTempDir(async (dir) => {
    const registry = await serveRegistry({ root: join(dir, "registry") });
    try {
      const bytes = bigContent();
      const digest = digestOf(bytes);
      await Deno.writeFile(join(dir, "big.bin"), bytes);
      const { client, sent } = countingClient();
      const repo = new Repository(client, { registry: registry.host, repository: "big/file" });
      const outcomes: UploadOutcome[] = [];
      const push = () =>
        pushToStore(repo, [{ path: "big.bin" }], {
          cwd: dir,
          tags: ["v1"],
          onOutcome: (_title, outcome) => outcomes.push(outcome),
        });

      const first = await push();
      assertEquals(first.layers[0]!.digest, digest);
      assertEquals(first.layers[0]!.size, bytes.byteLength);
      const post = sent.findIndex((line) => line.startsWith("POST /v2/big/file/blobs/uploads/"));
      const head = sent.indexOf(`HEAD /v2/big/file/blobs/${digest}`);
      assert(post >= 0 && head > post, `the upload starts before the digest is known:\n${sent.join("\n")}`);
      assert(
        sent.some((line) => line.startsWith("PUT ") && line.includes(`digest=${encodeURIComponent(digest)}`)),
      );
      const stored = new Uint8Array(await new Response(await repo.fetchBlob(first.layers[0]!)).arrayBuffer());
      assertEquals(digestOf(stored), digest, "the registry holds the file, verified on the way back");

      sent.length = 0;
      await push();
      assertEquals(outcomes, ["uploaded", "exists"]);
      assert(sent.some((line) => line.startsWith("DELETE /v2/big/file/blobs/uploads/")), sent.join("\n"));
      assert(
        !sent.some((line) => line.startsWith("PUT ") && line.includes("/blobs/uploads/")),
        sent.join("\n"),
      );
    } finally {
      await registry.close();
    }
  });
});

Deno.test("content that is not the size it was said to be fails the push and the registry keeps nothing", async () => {
  await withTempDir(async (dir) => {
    const registry = await serveRegistry({ root: join(dir, "registry") });
    try {
      const bytes = bigContent();
      const { client, sent } = countingClient();
      const repo = new Repository(client, { registry: registry.host, repository: "big/changed" });
      const content = {
        open: () => Promise.resolve(new Blob([bytes]).stream()),
        size: bytes.byteLength + 1,
        what: `file "grew.bin"`,
      };
      const error = await assertRejects(
        () => repo.pushUnhashedBlob({ mediaType: "application/octet-stream" }, content),
        DigestError,
      );
      assert(error.message.includes(`file "grew.bin" changed while it was read`), error.message);
      assert(sent.some((line) => line.startsWith("DELETE /v2/big/changed/blobs/uploads/")), sent.join("\n"));
      assert(!sent.some((line) => line.startsWith("PUT ")), sent.join("\n"));
      assertEquals(await repo.blobs.exists(digestOf(bytes)), false);
    } finally {
      await registry.close();
    }
  });
});
