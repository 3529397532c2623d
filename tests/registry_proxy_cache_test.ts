/**
 * The pull-through cache (`lib/server/proxy_cache.ts`) against a fake upstream: what a failed fetch leaves
 * behind in the storage.
 */

import { RegistryClient } from "../lib/oci/client.ts";
import { digestOf } from "../lib/oci/digest.ts";
import { ProxyCache } from "../lib/server/proxy_cache.ts";
import { DistributionError } from "../lib/server/registry_errors.ts";
import { ServerStorage } from "../lib/server/storage.ts";
import { assertEquals, assertRejects } from "./assert.ts";

Deno.test("proxy cache: a blob download the upstream breaks off leaves no partial file in the uploads folder", async () => {
  const digest = digestOf(new TextEncoder().encode("never served"));
  // HEAD finds the blob; every GET sends 5 of its 12 bytes and closes the connection.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const connection of listener) {
      const request = new Uint8Array(4096);
      const read = await connection.read(request) ?? 0;
      const head = new TextDecoder().decode(request.subarray(0, read)).startsWith("HEAD");
      const headers = `HTTP/1.1 200 OK\r\nContent-Length: 12\r\nDocker-Content-Digest: ${digest}\r\n` +
        "Connection: close\r\n\r\n";
      await connection.write(new TextEncoder().encode(head ? headers : `${headers}never`));
      connection.close();
    }
  })();
  const root = await Deno.makeTempDir();
  const storage = new ServerStorage(root);
  const lock = await storage.init();
  try {
    const cache = new ProxyCache(storage, {
      registry: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
      client: new RegistryClient({ plainHttp: true }),
    });
    for (let i = 0; i < 3; i++) {
      await assertRejects(() => cache.cacheBlob("team/app", digest), DistributionError);
    }
    assertEquals(await Array.fromAsync(Deno.readDir(storage.uploadsDir)), []);
  } finally {
    lock.close();
    listener.close();
    await serving.catch(() => {});
    await Deno.remove(root, { recursive: true });
  }
});
