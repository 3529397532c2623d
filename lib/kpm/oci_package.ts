/**
 * KCL packages as OCI artifacts: push a package folder (one gzip tar layer, empty config, the reference's
 * annotations), and fetch one into the cache, verified against its checksum.
 *
 * @module
 */

import { join } from "node:path";
import type { RegistryClient } from "../oci/client.ts";
import { containedPath } from "../oci/contained_path.ts";
import { Hasher } from "../oci/digest.ts";
import {
  type Descriptor,
  EMPTY_CONFIG,
  encodeManifest,
  type ImageManifest,
  isIndex,
} from "../oci/manifest.ts";
import {
  ANNOTATION_CREATED,
  ANNOTATION_TITLE,
  OCI_LAYER_TAR,
  OCI_LAYER_TAR_GZIP,
  OCI_MANIFEST,
} from "../oci/media_types.ts";
import { formatReference, type Reference } from "../oci/reference.ts";
import { Repository } from "../oci/repository.ts";
import { PackageError } from "./errors.ts";
import { readModFile } from "./modfile.ts";
import { highestSemverTag } from "./mvs.ts";
import { entryDir, replaceEntry, sweepStale, withEntryLock } from "./cache.ts";
import { fullName } from "./names.ts";
import { extractPackage, packageFiles, packageSum, packPackage } from "./package.ts";
import type { PackageVerifier } from "./trust_policy.ts";

/** kcl.mod's package name, as an annotation. */
export const ANNOTATION_NAME = "org.kcllang.package.name";
/** kcl.mod's package version. */
export const ANNOTATION_VERSION = "org.kcllang.package.version";
/** kcl.mod's package description. */
export const ANNOTATION_DESCRIPTION = "org.kcllang.package.description";
/** The package checksum (see packageSum). */
export const ANNOTATION_SUM = "org.kcllang.package.sum";

/** Where a package lives in a registry. */
export type PackageLocation = Pick<Reference, "registry" | "repository"> & { tag?: string };

/** Transfer progress of a package archive: its name, the bytes moved so far and its size. */
export type PackageProgress = (name: string, bytes: number, total: number) => void;

/** What a push produced. */
export interface PushedPackage {
  /** The package name (kcl.mod's, else the repository's last segment). */
  name: string;
  /** The package version. */
  version: string;
  /** The tag it was pushed or pulled as. */
  tag: string;
  /** The package checksum (the org.kcllang.package.sum annotation). */
  sum: string;
  /** The pushed manifest. */
  manifest: Descriptor;
  /** The package's tar+gzip layer. */
  layer: Descriptor;
}

/**
 * Pushes the package in `dir` to `location` (tag: `location.tag`, else kcl.mod's version verbatim).
 *
 * @param options `force` overwrites an existing tag; `now` stamps org.opencontainers.image.created
 * @throws {PackageError} when kcl.mod lacks name or version, or the tag exists without force
 */
export async function pushPackage(
  client: RegistryClient,
  dir: string,
  location: PackageLocation,
  options: { force?: boolean; now?: Date; tempDir: string; onProgress?: PackageProgress },
): Promise<PushedPackage> {
  const mod = await readModFile(dir);
  const { name, version, description } = mod.package;
  if (!version) throw new PackageError(`Cannot push "${mod.path}": package.version is missing`);
  for (const [dep, spec] of mod.dependencies) {
    if (spec.kind === "path") {
      // as the reference refuses it: whoever pulls the package cannot resolve a folder on this machine
      throw new PackageError(
        `Cannot push "${name}": dependency "${dep}" is a local path ("${spec.path}"); push it and depend on its OCI source`,
      );
    }
  }
  const full = fullName(name, version, mod.path);
  const tag = location.tag ?? version;
  const ref: Reference = { registry: location.registry, repository: location.repository, tag };
  const repo = new Repository(client, ref);
  if (!options.force && await repo.manifests.head(tag)) {
    throw new PackageError(
      `Cannot push "${name}" to "${location.registry}/${location.repository}": tag "${tag}" already exists`,
      { hint: { kind: "force" } },
    );
  }
  const files = await packageFiles(dir, { include: mod.package.include, exclude: mod.package.exclude });
  const sum = await packageSum(dir, { files });
  await Deno.mkdir(options.tempDir, { recursive: true });
  const archive = containedPath(options.tempDir, [`${full}.${crypto.randomUUID().slice(0, 8)}.tgz`]);
  try {
    const hasher = new Hasher();
    const file = await Deno.open(archive, { write: true, createNew: true });
    await packPackage(dir, { include: mod.package.include, exclude: mod.package.exclude })
      .pipeThrough(new TransformStream({ transform: (chunk, c) => (hasher.update(chunk), c.enqueue(chunk)) }))
      .pipeTo(file.writable);
    const layer: Descriptor = {
      mediaType: OCI_LAYER_TAR_GZIP,
      digest: hasher.digest(),
      size: hasher.size,
      annotations: { [ANNOTATION_TITLE]: `${full}.tgz` },
    };
    await repo.blobs.push(layer, async () => (await Deno.open(archive)).readable, {
      onProgress: options.onProgress &&
        ((bytes) => options.onProgress!(layer.annotations![ANNOTATION_TITLE]!, bytes, layer.size)),
    });
    await repo.blobs.push(EMPTY_CONFIG, new TextEncoder().encode("{}"));
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: OCI_LAYER_TAR_GZIP,
      config: EMPTY_CONFIG,
      layers: [layer],
      annotations: {
        [ANNOTATION_NAME]: name,
        [ANNOTATION_VERSION]: version,
        [ANNOTATION_DESCRIPTION]: description ?? "",
        [ANNOTATION_SUM]: sum,
        [ANNOTATION_CREATED]: (options.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, "Z"),
      },
    };
    const pushed = await repo.manifests.push(encodeManifest(manifest), OCI_MANIFEST, { tag });
    return { name, version, tag, sum, manifest: pushed, layer };
  } finally {
    await Deno.remove(archive).catch(() => {});
  }
}

/** A package in the cache. */
export interface CachedPackage {
  /** The package name (kcl.mod's, else the repository's last segment). */
  name: string;
  /** The package version. */
  version: string;
  /** The tag it was pushed or pulled as. */
  tag: string;
  /** The package checksum (the org.kcllang.package.sum annotation). */
  sum: string;
  /** Its folder in the cache. */
  dir: string;
  /** Where it was pulled from. */
  location: Required<PackageLocation>;
  /** The key a trust policy verified the manifest with. */
  signedBy?: string;
}

/** Picks the tag to fetch: the given one, else the highest semver tag over all pages of the tag list. */
export async function resolveTag(client: RegistryClient, location: PackageLocation): Promise<string> {
  if (location.tag) return location.tag;
  const tags = await new Repository(client, location).tags();
  const best = await highestSemverTag(tags);
  if (!best) {
    throw new PackageError(
      `Cannot pick a version of "${location.registry}/${location.repository}": none of its ${tags.length} tags is a semantic version`,
      { hint: { kind: "version" } },
    );
  }
  return best;
}

/**
 * Fetches a package into the cache (`HOME/NAME_VERSION`, NAME and VERSION from its annotations, checked by
 * fullName) and verifies its checksum against the manifest's annotation and `expectedSum` (from a lock file)
 * before it is renamed into place. A cached copy whose checksum does not match is fetched again. Writers of
 * one entry take turns (withEntryLock); an interrupted download is resumed by the next run. With `verify`,
 * the manifest's signature is checked against the trust policy before any of its content is used.
 *
 * @throws {PackageError} when the artifact is not a KCL package, names a bad cache folder or its content does
 *   not match its checksum
 * @throws {TrustError} when the trust policy covers the package and its signature does not verify
 */
export async function fetchPackage(
  client: RegistryClient,
  location: PackageLocation,
  options: {
    home: string;
    expectedSum?: string;
    log?: (line: string) => void;
    verify?: PackageVerifier;
    onProgress?: PackageProgress;
  },
): Promise<CachedPackage> {
  const tag = await resolveTag(client, location);
  const ref: Reference = { registry: location.registry, repository: location.repository, tag };
  const { manifest, descriptor } = await new Repository(client, ref).manifests.fetch(tag);
  if (isIndex(manifest)) {
    throw new PackageError(
      `Cannot pull package "${formatReference(ref)}": it is an index, not a KCL package`,
    );
  }
  const layer =
    manifest.layers.find((l) => l.mediaType === OCI_LAYER_TAR_GZIP || l.mediaType === OCI_LAYER_TAR) ??
      (manifest.layers.length === 1 ? manifest.layers[0] : undefined);
  if (!layer) {
    throw new PackageError(`Cannot pull package "${formatReference(ref)}": it holds no package layer`);
  }
  const annotations = manifest.annotations ?? {};
  const name = annotations[ANNOTATION_NAME] || location.repository.split("/").pop()!;
  const version = annotations[ANNOTATION_VERSION] || tag;
  const full = fullName(name, version, formatReference(ref));
  const dir = entryDir(options.home, full);
  const annotated = annotations[ANNOTATION_SUM];
  const wanted = options.expectedSum ?? annotated;
  const signedBy = await options.verify?.verify({ name, ref, manifest: descriptor });
  const result = { name, version, tag, dir, location: { ...location, tag }, ...(signedBy && { signedBy }) };
  const cached = await cachedSum(dir, wanted);
  if (cached !== undefined) return { ...result, sum: cached };
  await sweepStale(options.home);
  return await withEntryLock(options.home, full, async (work) => {
    const again = await cachedSum(dir, wanted);
    if (again !== undefined) return { ...result, sum: again };
    if (await isDir(dir)) {
      options.log?.(`Cached package "${dir}" does not match its checksum; fetching it again`);
    }
    const fresh = await downloadVerified(client, ref, layer, work, [
      [annotated, "its annotation"],
      [options.expectedSum, "kcl.mod.lock"],
    ], { onProgress: options.onProgress && ((bytes) => options.onProgress!(full, bytes, layer.size)) });
    await replaceEntry(dir, fresh.dir, work);
    return { ...result, sum: fresh.sum };
  });
}

/**
 * Downloads the package layer into `work` (resuming an earlier partial download), extracts it and checks its
 * checksum against every `[expected, where it comes from]` given, all before anything enters the cache.
 *
 * @returns the extracted folder (inside `work`) and its checksum
 * @throws {PackageError} when a checksum does not match
 */
async function downloadVerified(
  client: RegistryClient,
  ref: Reference,
  layer: Descriptor,
  work: string,
  expectations: [string | undefined, string][],
  options: { onProgress?: (bytes: number) => void } = {},
): Promise<{ dir: string; sum: string }> {
  const archive = join(work, "layer");
  await new Repository(client, ref).downloadBlob(layer, archive, { onProgress: options.onProgress });
  const dir = join(work, "extract");
  await Deno.mkdir(dir);
  await extractPackage((await Deno.open(archive)).readable, dir, { name: formatReference(ref) });
  const sum = await packageSum(dir);
  for (const [expected, from] of expectations) {
    if (expected && sum !== expected) {
      throw new PackageError(
        `Cannot use package "${
          formatReference(ref)
        }": its checksum is "${sum}" but ${from} says "${expected}", so kpm is refusing it`,
      );
    }
  }
  return { dir, sum };
}

/** The checksum of cache folder `dir` when it is there and matches `wanted` (any, when undefined). */
async function cachedSum(dir: string, wanted: string | undefined): Promise<string | undefined> {
  if (!(await isDir(dir))) return undefined;
  // a folder another process is replacing reads as missing or different: the caller then takes the lock
  const sum = await packageSum(dir).catch(() => undefined);
  return sum !== undefined && (!wanted || sum === wanted) ? sum : undefined;
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}
