/**
 * Atomic file writes: a temporary file in the same folder, then rename, so readers never see half a file.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { writeAll } from "./batch_writer.ts";

/** A unique temporary path next to `path` (same folder, so rename is atomic). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.tmp`);
}

/**
 * Writes `data` to `path` atomically.
 *
 * @param path the final path
 * @param data the content
 * @param options `mode` of the new file (e.g. 0o600 for credentials); `durable`: flush the content to disk
 *   before the rename and the folder after it, so that a power cut leaves the old file or the whole new one
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  options: { mode?: number; durable?: boolean } = {},
) {
  const temp = tempPathFor(path);
  try {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    {
      using file = await Deno.open(temp, { write: true, createNew: true, mode: options.mode });
      await writeAll(file, bytes);
      if (options.durable) await file.syncData();
    }
    if (options.mode !== undefined && Deno.build.os !== "windows") await Deno.chmod(temp, options.mode);
    await Deno.rename(temp, path);
    if (options.durable && Deno.build.os !== "windows") {
      using folder = await Deno.open(dirname(path), { read: true });
      await folder.sync();
    }
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}
