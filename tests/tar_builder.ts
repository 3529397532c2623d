/**
 * Hand-made tar archives for tests (hostile names included) and a folder listing to check what was written.
 *
 * @module
 */

import { join } from "node:path";
import { createTarPacker, type TarHeader } from "../lib/deps.ts";

/** A tar entry for a hand-made archive: a header and, for files, its text. */
export type Entry = Partial<TarHeader> & { name: string; text?: string };

/** Builds a gzip tar of `entries` exactly as given (hostile names included). */
export async function tarGz(entries: Entry[]): Promise<Uint8Array> {
  const { readable, controller } = createTarPacker();
  const feeding = (async () => {
    for (const { text, ...header } of entries) {
      const bytes = new TextEncoder().encode(text ?? "");
      const body = controller.add({ size: bytes.byteLength, type: "file", ...header });
      const writer = body.getWriter();
      if (bytes.byteLength) await writer.write(bytes);
      await writer.close();
    }
    controller.finalize();
  })();
  const gz = readable.pipeThrough(
    new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
  );
  const bytes = new Uint8Array(await new Response(gz).arrayBuffer());
  await feeding;
  return bytes;
}

/** The bytes as a stream, as a download hands them over. */
export function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new Blob([bytes as Uint8Array<ArrayBuffer>]).stream();
}

/** Every path under `dir`, relative, sorted (symlinks not followed). */
export async function tree(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    out.push(rel);
    if (entry.isDirectory) out.push(...await tree(dir, rel));
  }
  return out.sort();
}
