/**
 * The one limiter (lib/oci/concurrency.ts) and graph copy under it: `concurrency N` bounds the blob transfers
 * of the whole graph (not N per level), a deep graph copies at any concurrency without deadlock, and aborting
 * the operation's signal stops the transfers still queued.
 */

import { join } from "node:path";
import { pushToStore } from "../lib/artifact/push.ts";
import { Limiter } from "../lib/oci/concurrency.ts";
import { copyGraph } from "../lib/oci/copy.ts";
import { openLayout } from "../lib/oci/layout.ts";
import { type Descriptor, encodeManifest } from "../lib/oci/manifest.ts";
import { OCI_INDEX } from "../lib/oci/media_types.ts";
import type { Store } from "../lib/oci/store.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { withTempDir } from "./temp_dir.ts";

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

/** Blob pushes into `store` counted: how many started, how many ran at once at most. */
interface Counted {
  store: Store;
  started: number;
  active: number;
  peak: number;
  /** Every push, to wait for those still running. */
  pushes: Promise<unknown>[];
  /** Called as each push starts (after counting it); what it throws fails that push. */
  onStart?: () => void;
}

function counting(store: Store): Counted {
  const counted: Counted = { store, started: 0, active: 0, peak: 0, pushes: [] };
  counted.store = new Proxy(store, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property !== "pushBlob") return typeof value === "function" ? value.bind(target) : value;
      return (...args: Parameters<Store["pushBlob"]>) => {
        counted.started++;
        counted.peak = Math.max(counted.peak, ++counted.active);
        const push = tick().then(() => (counted.onStart?.(), target.pushBlob(...args))).finally(() =>
          counted.active--
        );
        counted.pushes.push(push);
        return push;
      };
    },
  });
  return counted;
}

/**
 * A source layout holding index → index → 3 manifests → (one shared config + 5 layers each): 15 layers, 1
 * config, 3 manifests and 2 indexes (21 nodes).
 */
async function deepGraph(dir: string): Promise<{ source: Store; root: Descriptor }> {
  const source = await openLayout(join(dir, "source"), { create: true });
  const manifests: Descriptor[] = [];
  for (const artifact of ["a", "b", "c"]) {
    const files = join(dir, `files-${artifact}`);
    await Deno.mkdir(files);
    for (let i = 0; i < 5; i++) await Deno.writeTextFile(join(files, `${i}.txt`), `${artifact}${i}`);
    const paths = [0, 1, 2, 3, 4].map((i) => ({ path: `${i}.txt` }));
    const pushed = await pushToStore(source, paths, { cwd: files, created: new Date(0) });
    manifests.push(pushed.manifest);
  }
  const index = (entries: Descriptor[]) =>
    source.pushManifest(
      encodeManifest({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries }),
      OCI_INDEX,
    );
  const inner = await index(manifests);
  return { source, root: await index([inner]) };
}

Deno.test("copy --concurrency 3 runs at most 3 blob transfers at once over the whole graph", async () => {
  await withTempDir(async (dir) => {
    const { source, root } = await deepGraph(dir);
    const target = counting(await openLayout(join(dir, "target"), { create: true }));
    const result = await copyGraph(source, target.store, root, { tags: ["v1"], concurrency: 3 });
    assertEquals(result.copied, 21);
    assertEquals(target.started, 16, "every blob pushed once");
    assert(target.peak <= 3, `at most 3 transfers at once, saw ${target.peak}`);
    assert(target.peak > 1, "transfers do run in parallel");
  });
});

Deno.test("a deep graph (index → index → manifests → blobs) copies with concurrency 1 and 3", async (t) => {
  for (const concurrency of [1, 3]) {
    await t.step(`concurrency ${concurrency}`, async () => {
      await withTempDir(async (dir) => {
        const { source, root } = await deepGraph(dir);
        const target = counting(await openLayout(join(dir, "target"), { create: true }));
        const result = await copyGraph(source, target.store, root, { tags: ["v1"], concurrency });
        assertEquals([result.copied, result.skipped], [21, 0]);
        assert(target.peak <= concurrency);
        assertEquals(await target.store.tags(), ["v1"]);
        const again = await copyGraph(source, target.store, root, { concurrency });
        assertEquals([again.copied, again.skipped], [0, 1], "the root is there: nothing below it is asked");
      });
    });
  }
});

Deno.test("aborting a copy's signal stops its queued transfers and rejects with the reason", async () => {
  await withTempDir(async (dir) => {
    const { source, root } = await deepGraph(dir);
    const target = counting(await openLayout(join(dir, "target"), { create: true }));
    const controller = new AbortController();
    const reason = new Error("stop now");
    target.onStart = () => controller.abort(reason);
    const copying = copyGraph(source, target.store, root, { concurrency: 1, signal: controller.signal });
    assertEquals(await copying.then(() => undefined, (error) => error), reason);
    await Promise.allSettled(target.pushes);
    assertEquals(target.started, 1, "no queued transfer started after the abort");
    assertEquals(await target.store.tags(), []);
  });
});

Deno.test("a failed transfer ends the copy: its queued transfers never start", async () => {
  await withTempDir(async (dir) => {
    const { source, root } = await deepGraph(dir);
    const target = counting(await openLayout(join(dir, "target"), { create: true }));
    target.onStart = () => {
      throw new Error("push refused");
    };
    await assertRejects(
      () => copyGraph(source, target.store, root, { concurrency: 1 }),
      Error,
      "push refused",
    );
    await Promise.allSettled(target.pushes);
    assertEquals(target.started, 1);
  });
});

Deno.test("Limiter: results keep their order, at most `limit` run at once, a slot is handed over in order", async () => {
  const limiter = new Limiter(2);
  let active = 0;
  let peak = 0;
  const order: number[] = [];
  const results = await limiter.map([30, 10, 20, 0, 5], async (wait, index) => {
    peak = Math.max(peak, ++active);
    order.push(index);
    await new Promise((resolve) => setTimeout(resolve, wait));
    active--;
    return index * 10;
  });
  assertEquals(results, [0, 10, 20, 30, 40]);
  assertEquals(peak, 2);
  assertEquals(order, [0, 1, 2, 3, 4], "queued tasks start first come, first served");
});

Deno.test("Limiter: after a failure map starts nothing more and rejects with that failure", async () => {
  const limiter = new Limiter(1);
  const ran: number[] = [];
  await assertRejects(
    () =>
      limiter.map([0, 1, 2, 3], async (item) => {
        ran.push(item);
        await tick();
        if (item === 1) throw new Error("item 1 failed");
      }),
    Error,
    "item 1 failed",
  );
  await tick();
  assertEquals(ran, [0, 1]);
});

Deno.test("Limiter: an aborted signal rejects queued and later tasks with its reason; running ones finish", async () => {
  const controller = new AbortController();
  const limiter = new Limiter(1, { signal: controller.signal });
  let release!: () => void;
  const running = limiter.run(() => new Promise<string>((resolve) => release = () => resolve("done")));
  const queued = limiter.run(() => Promise.resolve("never"));
  const reason = new Error("cancelled");
  controller.abort(reason);
  assertEquals(await queued.then(() => undefined, (error) => error), reason);
  await assertRejects(() => limiter.run(() => Promise.resolve("late")), Error, "cancelled");
  release();
  assertEquals(await running, "done");
});

Deno.test("Limiter: it listens to its signal only while tasks wait (a long-lived signal keeps none alive)", async () => {
  const { signal } = new AbortController();
  let listening = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (
    ...args: Parameters<AbortSignal["addEventListener"]>
  ) => (listening++, add(...args));
  signal.removeEventListener = (...args: Parameters<AbortSignal["removeEventListener"]>) => (
    listening--, remove(...args)
  );
  for (let round = 0; round < 3; round++) {
    await new Limiter(1, { signal }).map([1, 2, 3], () => tick());
  }
  assertEquals(listening, 0);
});

Deno.test("Limiter: a limit below 1 (or not a number) counts as 1", () => {
  assertEquals([new Limiter(0).limit, new Limiter(Number.NaN).limit, new Limiter(2.5).limit], [1, 1, 2]);
});
