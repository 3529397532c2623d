/**
 * A free loopback port for tests: for a server the test starts on a fixed port, or for an address nothing
 * listens on.
 *
 * @module
 */

/** A port on 127.0.0.1 that nothing listens on (the OS picks it; it is closed again before returning). */
export function freePort(): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  return port;
}
