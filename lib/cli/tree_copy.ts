/**
 * Copying package folders: into a fresh place (vendoring) or over an existing copy (pulling again), never
 * leaving a half-copied folder where a package is expected.
 *
 * @module
 */

import { join, resolve } from "node:path";
import { exists } from "../oci/if_found.ts";

/**
 * Copies a folder through a temporary sibling renamed into place; what was there is replaced (as the
 * reference's pull overwrites it), only once the new copy is complete.
 *
 * @returns whether something was replaced
 */
export async function replaceTree(from: string, to: string): Promise<boolean> {
  const temp = `${to}.${crypto.randomUUID().slice(0, 8)}.partial`;
  await copyTree(from, temp);
  if (!(await exists(to))) {
    await Deno.rename(temp, to);
    return false;
  }
  const old = `${to}.${crypto.randomUUID().slice(0, 8)}.old`;
  await Deno.rename(to, old);
  await Deno.rename(temp, to);
  await Deno.remove(old, { recursive: true });
  return true;
}

/** Copies a folder to `to` (which must not exist); on failure nothing is left there. */
export async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(resolve(to, ".."), { recursive: true });
  const copy = async (src: string, dst: string) => {
    await Deno.mkdir(dst, { recursive: true });
    for await (const entry of Deno.readDir(src)) {
      if (entry.isDirectory) await copy(join(src, entry.name), join(dst, entry.name));
      else if (entry.isFile) await Deno.copyFile(join(src, entry.name), join(dst, entry.name));
    }
  };
  try {
    await copy(from, to);
  } catch (error) {
    await Deno.remove(to, { recursive: true }).catch(() => {});
    throw error;
  }
}
