/**
 * A registry client for tests whose requests are logged, to assert what an operation sent.
 *
 * @module
 */

import { RegistryClient } from "../lib/oci/client.ts";

/** A plain-HTTP client whose requests are logged as `METHOD /path?query` in `sent`, in order. */
export function countingClient(): { client: RegistryClient; sent: string[] } {
  const sent: string[] = [];
  const client = new RegistryClient({
    plainHttp: true,
    fetch: (input, init) => {
      const request = new Request(input, init);
      const url = new URL(request.url);
      sent.push(`${request.method} ${url.pathname}${url.search}`);
      return fetch(request);
    },
  });
  return { client, sent };
}
