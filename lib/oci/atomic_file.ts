/**
 * Atomic file writes: a temporary file in the same folder, then rename, so readers never see half a file.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";

/** A unique temporary path next to `path` (same folder, so rename is atomic). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.tmp`);
}

/**
 * Writes `data` to `path` atomically.
 *
 * @param path the final path
 * @param data the content
 * @param options `mode` of the new file (e.g. 0o600 for credentials)
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  options: { mode?: number } = {},
) {
  const temp = tempPathFor(path);
  try {
    if (typeof data === "string") await Deno.writeTextFile(temp, data, { mode: options.mode });
    else await Deno.writeFile(temp, data, { mode: options.mode });
    if (options.mode !== undefined && Deno.build.os !== "windows") await Deno.chmod(temp, options.mode);
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}
