/**
 * Subjects and referrers a registry controls: a registry that makes up a new referrer for every manifest asked
 * about (for ever, as far as kpm can tell), one that lists more referrers than kpm visits, and a long honest
 * chain of subjects. `artifact discover`, `artifact pull --include-subject` and `copy -r` stop at the bounds of
 * lib/oci/referrer_walk.ts with an error naming them.
 */

import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { RegistryClient } from "../../lib/oci/client.ts";
import { copyGraph } from "../../lib/oci/copy.ts";
import { type Digest, digestOf } from "../../lib/oci/digest.ts";
import type { Descriptor } from "../../lib/oci/manifest.ts";
import { Repository } from "../../lib/oci/repository.ts";
import { MAX_REFERRER_DEPTH, MAX_REFERRER_NODES, ReferrerWalkError } from "../../lib/oci/referrer_walk.ts";
import { describe, kpmHome, type KpmResult, runKpmIn } from "../integration/ship_support.ts";
import { type EvilRegistry, startEvilRegistry } from "./support/evil_registry.ts";

const MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const INDEX = "application/vnd.oci.image.index.v1+json";
const EMPTY = new TextEncoder().encode("{}");
const EMPTY_CONFIG = { mediaType: "application/vnd.oci.empty.v1+json", digest: digestOf(EMPTY), size: 2 };
/** How far the inventing registry goes (so that a kpm without bounds ends, and the test fails instead of hanging). */
const INVENTED_LEVELS = 100;

/** An artifact manifest (no layers) with an optional subject. */
function manifestBytes(n: number, subject?: Descriptor): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST,
    artifactType: `application/vnd.example.chain.${n}`,
    config: EMPTY_CONFIG,
    layers: [],
    ...(subject && { subject }),
  }));
}

/** Pushes the empty config and a root manifest tagged v1. */
async function pushRoot(repository: Repository): Promise<Descriptor> {
  await repository.pushBlob(EMPTY_CONFIG, EMPTY);
  return await repository.pushManifest(manifestBytes(0), MANIFEST, { tag: "v1" });
}

/**
 * A referrers listing that makes up a new referrer of whatever manifest it is asked about (stored, so it can
 * be fetched), down to INVENTED_LEVELS.
 */
function inventor(registry: () => EvilRegistry) {
  const level = new Map<string, number>();
  return (_request: Request, url: URL): Response | undefined => {
    const match = /^\/v2\/e\/a\/referrers\/(sha256:[0-9a-f]{64})$/.exec(url.pathname);
    if (!match) return undefined;
    const subject = match[1] as Digest;
    const stored = registry().manifests.get("e/a")!;
    const depth = level.get(subject) ?? 0;
    const found: Descriptor[] = [];
    if (depth < INVENTED_LEVELS) {
      const bytes = manifestBytes(depth + 1, {
        mediaType: MANIFEST,
        digest: subject,
        size: stored.get(subject)!.bytes.byteLength,
      });
      const digest = digestOf(bytes);
      stored.set(digest, { bytes, mediaType: MANIFEST });
      level.set(digest, depth + 1);
      found.push({
        mediaType: MANIFEST,
        digest,
        size: bytes.byteLength,
        artifactType: `application/vnd.example.chain.${depth + 1}`,
      });
    }
    return Response.json({ schemaVersion: 2, mediaType: INDEX, manifests: found }, {
      headers: { "Content-Type": INDEX },
    });
  };
}

/** Starts a registry whose referrers listings invent, with a root manifest tagged `e/a:v1`. */
async function startInventor(): Promise<
  { registry: EvilRegistry; root: Descriptor; repository: Repository }
> {
  const registry: EvilRegistry = startEvilRegistry({ trick: inventor(() => registry) });
  const repository = new Repository(new RegistryClient({ plainHttp: true }), {
    registry: registry.host,
    repository: "e/a",
  });
  return { registry, root: await pushRoot(repository), repository };
}

/** How many referrers listings the registry answered. */
function listings(registry: EvilRegistry): number {
  return registry.seen.filter((s) => s.url.includes("/referrers/")).length;
}

/** The command failed with the one-line depth error, beginning `what`. */
function assertTooDeep(result: KpmResult, what: string): void {
  assertEquals(result.code, 1, describe(result));
  assertStringIncludes(result.stderr, `error: ${what}`);
  assertStringIncludes(
    result.stderr,
    `it goes deeper than ${MAX_REFERRER_DEPTH} levels, the most kpm follows`,
  );
  assertEquals(result.stderr.trim().split("\n").length, 1, result.stderr);
}

Deno.test("discover stops where invented referrers go deeper than kpm follows", async () => {
  await using home = await kpmHome();
  const { registry } = await startInventor();
  try {
    const result = await runKpmIn(home, ["artifact", "discover", `${registry.host}/e/a:v1`]);
    assertTooDeep(result, "Cannot discover the referrers of");
    assertEquals(listings(registry), MAX_REFERRER_DEPTH + 1);
  } finally {
    await registry.close();
  }
});

Deno.test("discover with --depth within the bound lists that far, whatever lies below", async () => {
  await using home = await kpmHome();
  const { registry } = await startInventor();
  try {
    const result = await runKpmIn(home, ["artifact", "discover", `${registry.host}/e/a:v1`, "--depth", "3"]);
    assertEquals(result.code, 0, describe(result));
    assertStringIncludes(result.stdout, "application/vnd.example.chain.3");
    assertEquals(listings(registry), 3);
  } finally {
    await registry.close();
  }
});

Deno.test("discover stops when a registry lists more referrers than kpm visits", async () => {
  await using home = await kpmHome();
  const wide = Array.from({ length: MAX_REFERRER_NODES + 1 }, (_, i) => ({
    mediaType: MANIFEST,
    digest: digestOf(new TextEncoder().encode(String(i))),
    size: i + 1,
  }));
  let asked = 0;
  const registry = startEvilRegistry({
    trick: (_request, url) => {
      if (!url.pathname.includes("/referrers/")) return undefined;
      // the first listing is wide; any deeper one is refused, so that a kpm without the bound fails at once
      if (asked++ > 0) return new Response(null, { status: 400 });
      return Response.json({ schemaVersion: 2, mediaType: INDEX, manifests: wide }, {
        headers: { "Content-Type": INDEX },
      });
    },
  });
  try {
    await pushRoot(
      new Repository(new RegistryClient({ plainHttp: true }), {
        registry: registry.host,
        repository: "e/a",
      }),
    );
    const result = await runKpmIn(home, ["artifact", "discover", `${registry.host}/e/a:v1`]);
    assertEquals(result.code, 1, describe(result));
    assertStringIncludes(
      result.stderr,
      `it has more than ${MAX_REFERRER_NODES} manifests, the most kpm visits`,
    );
    assertEquals(listings(registry), 1);
  } finally {
    await registry.close();
  }
});

Deno.test("pull --include-subject stops at a chain of subjects deeper than kpm follows", async (t) => {
  const registry = startEvilRegistry();
  try {
    const repository = new Repository(new RegistryClient({ plainHttp: true }), {
      registry: registry.host,
      repository: "e/a",
    });
    let subject = await pushRoot(repository);
    const chain = [subject];
    for (let n = 1; n <= MAX_REFERRER_DEPTH + 1; n++) {
      subject = await repository.pushManifest(manifestBytes(n, subject), MANIFEST);
      chain.push(subject);
    }
    const pull = async (manifest: Descriptor) => {
      await using home = await kpmHome();
      return await runKpmIn(home, [
        "artifact",
        "pull",
        `${registry.host}/e/a@${manifest.digest}`,
        "--include-subject",
        "-o",
        "out",
      ]);
    };
    await t.step("one level too deep: a one-line error", async () => {
      const result = await pull(chain[MAX_REFERRER_DEPTH + 1]!);
      assertTooDeep(result, "Cannot pull the subjects of");
    });
    await t.step("as deep as the bound: every subject", async () => {
      const result = await pull(chain[MAX_REFERRER_DEPTH]!);
      assertEquals(result.code, 0, describe(result));
    });
  } finally {
    await registry.close();
  }
});

Deno.test("copy -r stops where invented referrers go deeper than kpm follows", async () => {
  const { registry, root, repository } = await startInventor();
  const target = startEvilRegistry();
  try {
    const to = new Repository(new RegistryClient({ plainHttp: true }), {
      registry: target.host,
      repository: "e/a",
    });
    const error = await assertRejects(
      () => copyGraph(repository, to, root, { tags: ["v1"], referrers: true }),
      ReferrerWalkError,
      `it goes deeper than ${MAX_REFERRER_DEPTH} levels, the most kpm follows`,
    );
    assertStringIncludes(error.message, `Cannot copy the referrers of "${registry.host}/e/a@${root.digest}"`);
    assert(listings(registry) <= MAX_REFERRER_DEPTH + 1, String(listings(registry)));
  } finally {
    await registry.close();
    await target.close();
  }
});
