/**
 * Upload sessions of the embedded registry (lib/server/uploads.ts) on an injected clock: a session untouched for
 * the TTL expires with its file, one with a request still streaming does not, however long it streams.
 */

import { join } from "node:path";
import { digestOf } from "../lib/oci/digest.ts";
import { DistributionError } from "../lib/server/registry_errors.ts";
import { ServerStorage } from "../lib/server/storage.ts";
import { MAX_UPLOADS, MAX_UPLOADS_PER_CLIENT, UploadSessions } from "../lib/server/uploads.ts";
import { assertEquals, assertRejects, assertStringIncludes, assertThrows } from "./assert.ts";

/** Upload sessions over a fresh storage folder with a 1 s TTL on a clock the test sets; removed afterwards. */
async function withSessions(
  fn: (sessions: UploadSessions, storage: ServerStorage, clock: { now: number }) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "kpm_registry_uploads_" });
  const storage = new ServerStorage(root);
  const lock = await storage.init();
  const clock = { now: 0 };
  const sessions = new UploadSessions(storage, { ttlMs: 1000, now: () => clock.now });
  try {
    await fn(sessions, storage, clock);
  } finally {
    await sessions.cancelAll();
    lock.close();
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("upload TTL: idle sessions expire with their file, a session with a PATCH streaming does not", async () => {
  await withSessions(async (sessions, storage, clock) => {
    const idle = await sessions.start("team/idle", "address 10.0.0.1");
    const busy = await sessions.start("team/busy", "address 10.0.0.1");
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
    const patch = sessions.append(busy, { body });
    controller.enqueue(new Uint8Array([1, 2, 3]));
    clock.now = 5000;
    await sessions.start("team/trigger", "address 10.0.0.1"); // runs the expiry, as the timer does
    assertThrows(() => sessions.get("team/idle", idle.id), DistributionError);
    assertEquals(await Deno.stat(join(storage.uploadsDir, idle.id)).then(() => true, () => false), false);
    controller.enqueue(new Uint8Array([4]));
    controller.close();
    await patch;
    const content = new Uint8Array([1, 2, 3, 4]);
    await sessions.finish(sessions.get("team/busy", busy.id), { digest: digestOf(content), body: null });
    assertEquals(await storage.blobSize("team/busy", digestOf(content)), 4);
  });
});

Deno.test("open uploads are capped per client and overall; an upload that ends or expires frees its place", async () => {
  await withSessions(async (sessions, _storage, clock) => {
    const refused = async (client: string, message: string) => {
      const error = await assertRejects(() => sessions.start("team/app", client), DistributionError);
      assertEquals([error.code, error.status], ["TOOMANYREQUESTS", 429]);
      assertStringIncludes(error.message, message);
    };
    const attacker = "address 10.0.0.9";
    const held = await Promise.all(
      Array.from({ length: MAX_UPLOADS_PER_CLIENT + 20 }, () => sessions.start("team/app", attacker)).map((
        p,
      ) => p.catch(() => undefined)),
    );
    const opened = held.filter((s) => s !== undefined);
    assertEquals(opened.length, MAX_UPLOADS_PER_CLIENT, "concurrent starts do not overshoot the cap");
    await refused(attacker, `address 10.0.0.9 has ${MAX_UPLOADS_PER_CLIENT} uploads open`);
    await sessions.start("team/app", 'account "alice"');
    await sessions.cancel(opened[0]!);
    const content = new Uint8Array([7]);
    await sessions.finish(opened[1]!, { digest: digestOf(content), body: new Blob([content]).stream() });
    await sessions.start("team/app", attacker);
    await sessions.start("team/app", attacker);
    await refused(attacker, "uploads open");
    for (let i = 0; sessions.size < MAX_UPLOADS; i++) {
      for (let j = 0; j < MAX_UPLOADS_PER_CLIENT && sessions.size < MAX_UPLOADS; j++) {
        await sessions.start("team/app", `address 10.1.0.${i}`);
      }
    }
    await refused('account "bob"', `the registry has ${MAX_UPLOADS} uploads open`);
    clock.now = 5000;
    await sessions.start("team/app", 'account "bob"');
    assertEquals(sessions.size, 1, "idle sessions expired and freed their places");
    await sessions.start("team/app", attacker);
  });
});
