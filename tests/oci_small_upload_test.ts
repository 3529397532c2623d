/**
 * A small blob (one PUT) whose content, when opened, is not what its descriptor says (a file changed since it
 * was hashed): longer, shorter or other bytes are refused before anything is sent, as a size or digest
 * mismatch worded as every other one.
 */

import { assertEquals, assertRejects } from "./assert.ts";
import { RegistryClient } from "../lib/oci/client.ts";
import { DigestError, digestOf } from "../lib/oci/digest.ts";
import { Repository } from "../lib/oci/repository.ts";
import { startEvilRegistry } from "./hostile/support/evil_registry.ts";

const DECLARED = new TextEncoder().encode("the content as it was hashed");
const DIGEST = digestOf(DECLARED);
const WHAT = `the content of blob "${DIGEST}"`;

Deno.test("small content that is not what its descriptor says is refused before the PUT", async (t) => {
  const cases = [
    {
      name: "longer",
      bytes: "the content as it was hashed, and more",
      says: `Size mismatch for ${WHAT}: more than`,
    },
    { name: "shorter", bytes: "the content", says: `Size mismatch for ${WHAT}: got 11 bytes` },
    { name: "other bytes", bytes: "THE CONTENT AS IT WAS HASHED", says: `Digest mismatch for ${WHAT}` },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const registry = startEvilRegistry();
      try {
        const repository = new Repository(new RegistryClient({ plainHttp: true }), {
          registry: registry.host,
          repository: "e/a",
        });
        const open = () => new Blob([new TextEncoder().encode(c.bytes)]).stream();
        await assertRejects(
          () => repository.blobs.push({ digest: DIGEST, size: DECLARED.length }, open),
          DigestError,
          c.says,
        );
        assertEquals(registry.seen.filter((s) => s.method === "PUT"), []);
      } finally {
        await registry.close();
      }
    });
  }
});
