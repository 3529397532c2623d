/**
 * kpm's embedded registry for tests and benchmarks: `startRegistry` on a free loopback port over a temporary
 * folder that `close()` removes.
 *
 * @module
 */

import { startRegistry } from "../../../lib/server/registry.ts";

/** A running embedded registry. */
export interface EmbeddedRegistry {
  /** `127.0.0.1:PORT`. */
  host: string;
  close(): Promise<void>;
}

/** Starts the embedded registry, with Basic/token auth for `users` when given, and deletes when `delete`. */
export async function startEmbeddedRegistry(
  options: { users?: { username: string; password: string }[]; delete?: boolean } = {},
): Promise<EmbeddedRegistry> {
  const root = await Deno.makeTempDir({ prefix: "kpm-test-registry-" });
  const server = await startRegistry({
    root,
    port: 0,
    hostname: "127.0.0.1",
    users: options.users,
    delete: options.delete,
  });
  return {
    host: server.host,
    close: async () => {
      await server.close();
      await Deno.remove(root, { recursive: true });
    },
  };
}
