/**
 * OCI layouts given as a tar archive (`--oci-layout layout.tar`, as oras reads them): unpacked, with the safe
 * extractor, into a temporary folder that is removed when kpm exits. Archives are read, never written.
 *
 * @module
 */

import { extractTar } from "../oci/untar.ts";
import { ArtifactError } from "../artifact/files.ts";

/** Whether `path` is a file (a layout archive) rather than a layout folder. */
export async function isLayoutArchive(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/**
 * Unpacks a layout archive into a temporary folder (removed at exit) and returns that folder.
 *
 * @throws {ArtifactError} for an archive entry that is unsafe (absolute, climbing out, a link out, a device)
 */
export async function unpackLayoutArchive(path: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "kpm-layout-" });
  globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  const file = await Deno.open(path);
  const gzip = /\.(tgz|gz)$/i.test(path);
  await extractTar(gzip ? file.readable.pipeThrough(new DecompressionStream("gzip")) : file.readable, dir, {
    holder: `OCI layout archive "${path}"`,
    refuse: (name, why) => {
      throw new ArtifactError(`Refusing entry "${name}" of OCI layout archive "${path}": ${why}`);
    },
  });
  return dir;
}
