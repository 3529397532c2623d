/**
 * An anonymous client of `kpm registry serve` opens upload sessions and never finishes them, to hold a file and
 * memory per session without end. Real embedded registry over HTTP.
 */

import { assertEquals, assertStringIncludes } from "../assert.ts";
import { startEmbeddedRegistry } from "../integration/support/embedded.ts";
import { MAX_UPLOADS_PER_CLIENT } from "../../lib/server/uploads.ts";

Deno.test("one client cannot hold upload sessions without end: over the cap a POST answers 429 TOOMANYREQUESTS", async () => {
  const registry = await startEmbeddedRegistry();
  const post = () => fetch(`http://${registry.host}/v2/attacker/app/blobs/uploads/`, { method: "POST" });
  try {
    const answers = await Promise.all(Array.from({ length: MAX_UPLOADS_PER_CLIENT + 30 }, post));
    const statuses = answers.map((a) => a.status);
    await Promise.all(answers.map((a) => a.body?.cancel()));
    assertEquals(statuses.filter((s) => s === 202).length, MAX_UPLOADS_PER_CLIENT);
    assertEquals(statuses.filter((s) => s === 429).length, 30);
    const refused = await post();
    assertEquals(refused.status, 429);
    const { errors } = await refused.json();
    assertEquals(errors[0].code, "TOOMANYREQUESTS");
    assertStringIncludes(errors[0].message, `address 127.0.0.1 has ${MAX_UPLOADS_PER_CLIENT} uploads open`);
    const location = answers.find((a) => a.status === 202)!.headers.get("Location")!;
    const cancelled = await fetch(`http://${registry.host}${location}`, { method: "DELETE" });
    assertEquals(cancelled.status, 204);
    const again = await post();
    assertEquals(again.status, 202, "a cancelled upload frees its place");
    await again.body?.cancel();
  } finally {
    await registry.close();
  }
});
