/**
 * URLs a registry hands kpm (an upload Location, a redirect, a Link to the next page) that are malformed or not
 * http(s): each is a one-line protocol error naming the registry and the value, at once (no retries, no
 * "cannot reach"), before any content is sent to it.
 */

import { join } from "node:path";
import { assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { RegistryClient } from "../../lib/oci/client.ts";
import { digestOf } from "../../lib/oci/digest.ts";
import { RegistryError } from "../../lib/oci/registry_error.ts";
import { Repository } from "../../lib/oci/repository.ts";
import { describe, kpmHome, runKpmIn } from "../integration/ship_support.ts";
import { type EvilRegistry, startEvilRegistry } from "./support/evil_registry.ts";

const BAD = ["http://[bad", "http://bad host/x", "ftp://x/y", "javascript:alert(1)"];
const SMALL = new TextEncoder().encode("hello");
/** Over the monolithic limit, so the upload is a POST, then a streamed PATCH. */
const BIG = new Uint8Array(1024 * 1024 + 1);

/** The descriptor of `bytes`. */
function blob(bytes: Uint8Array) {
  return { mediaType: "application/octet-stream", digest: digestOf(bytes), size: bytes.length };
}

/** Where the registry gives the bad URL, and what kpm does there. */
const PLACES: {
  name: string;
  trick: (bad: string) => (request: Request, url: URL) => Response | undefined;
  run: (repository: Repository) => Promise<unknown>;
  source: string;
}[] = [
  {
    name: "the upload Location of the POST",
    trick: (bad) => (request) =>
      request.method === "POST" ? new Response(null, { status: 202, headers: { Location: bad } }) : undefined,
    run: (repository) => repository.pushBlob(blob(SMALL), SMALL),
    source: "the registry gave the upload Location",
  },
  {
    name: "the upload Location of a PATCH",
    trick: (bad) => (request) =>
      request.method === "PATCH"
        ? new Response(null, { status: 202, headers: { Location: bad } })
        : undefined,
    run: (repository) => repository.pushBlob(blob(BIG), BIG),
    source: "the registry gave the upload Location",
  },
  {
    name: "a redirect",
    trick: (bad) => (request) =>
      request.method === "HEAD" ? new Response(null, { status: 307, headers: { Location: bad } }) : undefined,
    run: (repository) => repository.pushBlob(blob(SMALL), SMALL),
    source: "the registry redirected to",
  },
  {
    name: "a Link to the next page",
    trick: (bad) => (_request, url) =>
      url.pathname.endsWith("/tags/list")
        ? Response.json({ tags: ["a"] }, { headers: { Link: `<${bad}>; rel="next"` } })
        : undefined,
    run: (repository) => repository.tags(),
    source: "refusing",
  },
];

/** The requests of each method the registry saw. */
function methods(registry: EvilRegistry): string[] {
  return registry.seen.map((s) => s.method);
}

Deno.test("a malformed or non-http URL from the registry is refused at once, naming it", async (t) => {
  for (const place of PLACES) {
    for (const bad of BAD) {
      await t.step(`${place.name}: ${bad}`, async () => {
        const registry = startEvilRegistry({ trick: place.trick(bad) });
        try {
          const repository = new Repository(new RegistryClient({ plainHttp: true }), {
            registry: registry.host,
            repository: "e/a",
          });
          const error = await assertRejects(() => place.run(repository), RegistryError);
          assertStringIncludes(error.message, `"${registry.host}/e/a"`);
          assertStringIncludes(
            error.message,
            `: ${place.source} "${bad}", which is not an http or https URL`,
          );
          assertEquals(error.status, 0);
          assertEquals(methods(registry).filter((m) => m === "PUT"), [], "nothing is sent to the bad URL");
          assertEquals(new Set(methods(registry)).size, methods(registry).length, "no request is retried");
        } finally {
          await registry.close();
        }
      });
    }
  }
});

Deno.test("artifact push with a malformed upload Location: one line, exit 1, no retries", async () => {
  await using home = await kpmHome();
  const registry = startEvilRegistry({ trick: PLACES[0]!.trick("http://[bad") });
  try {
    await Deno.writeTextFile(join(home.dir, "a.txt"), "hello\n");
    const result = await runKpmIn(home, ["artifact", "push", `${registry.host}/e/a:v1`, "a.txt"]);
    assertEquals(result.code, 1, describe(result));
    assertStringIncludes(result.stderr, `the registry gave the upload Location "http://[bad"`);
    assertEquals(result.stderr.trim().split("\n").length, 1, result.stderr);
    assertEquals(registry.seen.filter((s) => s.method === "POST").length, 1);
  } finally {
    await registry.close();
  }
});
