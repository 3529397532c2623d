/**
 * Upload sessions of the embedded registry (lib/server/uploads.ts) on an injected clock: a session untouched for
 * the TTL expires with its file, one with a request still streaming does not, however long it streams.
 */

import { join } from "node:path";
import { digestOf } from "../lib/oci/digest.ts";
import { DistributionError } from "../lib/server/registry_errors.ts";
import { ServerStorage } from "../lib/server/storage.ts";
import { UploadSessions } from "../lib/server/uploads.ts";
import { assertEquals, assertThrows } from "./assert.ts";

Deno.test("upload TTL: idle sessions expire with their file, a session with a PATCH streaming does not", async () => {
  const root = await Deno.makeTempDir({ prefix: "kpm_registry_uploads_" });
  const storage = new ServerStorage(root);
  const lock = await storage.init();
  let clock = 0;
  const sessions = new UploadSessions(storage, { ttlMs: 1000, now: () => clock });
  try {
    const idle = await sessions.start("team/idle");
    const busy = await sessions.start("team/busy");
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
    const patch = sessions.append(busy, { body });
    controller.enqueue(new Uint8Array([1, 2, 3]));
    clock = 5000;
    await sessions.start("team/trigger"); // runs the expiry, as the timer does
    assertThrows(() => sessions.get("team/idle", idle.id), DistributionError);
    assertEquals(await Deno.stat(join(storage.uploadsDir, idle.id)).then(() => true, () => false), false);
    controller.enqueue(new Uint8Array([4]));
    controller.close();
    await patch;
    const content = new Uint8Array([1, 2, 3, 4]);
    await sessions.finish(sessions.get("team/busy", busy.id), { digest: digestOf(content), body: null });
    assertEquals(await storage.blobSize("team/busy", digestOf(content)), 4);
  } finally {
    await sessions.cancelAll();
    lock.close();
    await Deno.remove(root, { recursive: true });
  }
});
