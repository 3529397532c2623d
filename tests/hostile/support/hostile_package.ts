/**
 * Hostile KCL packages for the attacker tests: a package manifest pushed through lib/oci to a real registry
 * with whatever annotations and layer the test chooses.
 *
 * @module
 */

import { join } from "node:path";
import { RegistryClient } from "../../../lib/oci/client.ts";
import { type Digest, digestOf } from "../../../lib/oci/digest.ts";
import { EMPTY_CONFIG, encodeManifest, type ImageManifest } from "../../../lib/oci/manifest.ts";
import { OCI_LAYER_TAR_GZIP, OCI_MANIFEST } from "../../../lib/oci/media_types.ts";
import { packageSum } from "../../../lib/kpm/package.ts";
import { type Entry, tarGz } from "../../tar_builder.ts";
import { Repository } from "../../../lib/oci/repository.ts";

/** What a hostile package push produced. */
export interface HostilePackage {
  /** The layer's digest and size. */
  layer: { digest: Digest; size: number };
  /** The checksum annotation pushed (the sum of the files the checksum covers). */
  sum: string;
}

/**
 * Pushes `entries` as a KCL package to `host/repository:tag` with the annotations given (name, version…) and,
 * unless `sum` is given, the true checksum of the entries' files as `org.kcllang.package.sum`.
 */
export async function pushHostilePackage(
  host: string,
  repository: string,
  tag: string,
  options: { entries: Entry[]; annotations: Record<string, string>; sum?: string },
): Promise<HostilePackage> {
  const client = new RegistryClient({ plainHttp: true });
  const repo = { registry: host, repository };
  const bytes = await tarGz(options.entries);
  const layer = { mediaType: OCI_LAYER_TAR_GZIP, digest: digestOf(bytes), size: bytes.byteLength };
  await new Repository(client, repo).blobs.push(layer, bytes);
  await new Repository(client, repo).blobs.push(EMPTY_CONFIG, new TextEncoder().encode("{}"));
  const sum = options.sum ?? await sumOf(options.entries);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: EMPTY_CONFIG,
    layers: [layer],
    annotations: { "org.kcllang.package.sum": sum, ...options.annotations },
  };
  await new Repository(client, repo).manifests.push(encodeManifest(manifest), OCI_MANIFEST, {
    tag,
  });
  return { layer, sum };
}

/** The package checksum of plain file entries, as kpm computes it on a folder holding them. */
async function sumOf(entries: Entry[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "kpm-hostile-sum-" });
  try {
    for (const entry of entries) {
      if ((entry.type ?? "file") !== "file") continue;
      const path = join(dir, entry.name);
      await Deno.mkdir(join(path, ".."), { recursive: true });
      await Deno.writeTextFile(path, entry.text ?? "");
    }
    return await packageSum(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
