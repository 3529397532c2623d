/**
 * KCL packages as OCI artifacts: push a package folder (one gzip tar layer, empty config, the reference's
 * annotations), and fetch one into the cache, verified against its checksum.
 *
 * @module
 */

import { join } from "node:path";
import { pushArtifactManifest } from "../oci/artifact_manifest.ts";
import type { RegistryClient } from "../oci/client.ts";
import { containedPath } from "../oci/contained_path.ts";
import { type Descriptor, isIndex, type Manifest } from "../oci/manifest.ts";
import { ANNOTATION_TITLE, OCI_LAYER_TAR, OCI_LAYER_TAR_GZIP } from "../oci/media_types.ts";
import { formatReference, type Reference } from "../oci/reference.ts";
import { Repository } from "../oci/repository.ts";
import { isNotFound, type Store } from "../oci/store.ts";
import { writeGzip } from "../oci/tar_pack.ts";
import { PackageError } from "./errors.ts";
import { type ModFile, readModFile } from "./modfile.ts";
import { highestSemverTag } from "./mvs.ts";
import { entryDir, replaceEntry, sweepStale, withEntryLock } from "./cache.ts";
import { writeOrigin } from "./cache_origin.ts";
import { fullName } from "./names.ts";
import {
  extractPackage,
  PACKAGE_ARCHIVE_LIMIT_BYTES,
  packageFiles,
  packageSum,
  packPackage,
} from "./package.ts";
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

/** Options of pushPackage. */
export interface PushPackageOptions {
  /** The tag (default: kcl.mod's version, verbatim). */
  tag?: string;
  /** Overwrite an existing tag. */
  force?: boolean;
  /** The time stamped as org.opencontainers.image.created (default now). */
  now?: Date;
  /** Where the archive is packed before it is pushed. */
  tempDir: string;
  onProgress?: PackageProgress;
}

/**
 * Pushes the package in `dir` to `store` (a registry repository or an OCI layout) as an ordinary artifact: one
 * tar+gzip layer, the empty config, artifactType tar+gzip and the reference's annotations.
 *
 * @throws {PackageError} when kcl.mod lacks a version or has a path dependency, or the tag exists without force
 */
export async function pushPackage(
  store: Store,
  dir: string,
  options: PushPackageOptions,
): Promise<PushedPackage> {
  const mod = await readPushable(dir);
  const { name, description } = mod.package;
  const version = mod.package.version!;
  const title = `${fullName(name, version, mod.path)}.tgz`;
  const tag = options.tag ?? version;
  if (!options.force && await hasTag(store, tag)) {
    throw new PackageError(
      `Cannot push "${name}" to "${store.name}": tag "${tag}" already exists`,
      { hint: { kind: "force" } },
    );
  }
  const globs = { include: mod.package.include, exclude: mod.package.exclude };
  const sum = await packageSum(dir, { files: await packageFiles(dir, globs) });
  const archive = await packArchive(dir, globs, options.tempDir, title);
  try {
    const { layer } = archive;
    await store.pushBlob(layer, async () => (await Deno.open(archive.path)).readable, {
      onProgress: options.onProgress && ((bytes) => options.onProgress!(title, bytes, layer.size)),
    });
    const pushed = await pushArtifactManifest(store, [layer], {
      artifactType: OCI_LAYER_TAR_GZIP,
      annotations: {
        [ANNOTATION_NAME]: name,
        [ANNOTATION_VERSION]: version,
        [ANNOTATION_DESCRIPTION]: description ?? "",
        [ANNOTATION_SUM]: sum,
      },
      created: options.now,
      tags: [tag],
    });
    return { name, version, tag, sum, manifest: pushed.descriptor, layer };
  } finally {
    await Deno.remove(archive.path).catch(() => {});
  }
}

/**
 * Reads kcl.mod of a package about to be pushed.
 *
 * @throws {PackageError} when it lacks a version or has a path dependency
 */
async function readPushable(dir: string): Promise<ModFile> {
  const mod = await readModFile(dir);
  if (!mod.package.version) throw new PackageError(`Cannot push "${mod.path}": package.version is missing`);
  for (const [dep, spec] of mod.dependencies) {
    if (spec.kind === "path") {
      // as the reference refuses it: whoever pulls the package cannot resolve a folder on this machine
      throw new PackageError(
        `Cannot push "${mod.package.name}": dependency "${dep}" is a local path ("${spec.path}"); push it and depend on its OCI source`,
      );
    }
  }
  return mod;
}

/** Whether `store` has a manifest tagged `tag`. */
async function hasTag(store: Store, tag: string): Promise<boolean> {
  try {
    await store.resolve(tag);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** Packs the package into a new file in `tempDir` (the caller removes it) and describes it as the layer `title`. */
async function packArchive(
  dir: string,
  globs: { include?: string[]; exclude?: string[] },
  tempDir: string,
  title: string,
): Promise<{ path: string; layer: Descriptor }> {
  await Deno.mkdir(tempDir, { recursive: true });
  const path = containedPath(tempDir, [`${title.slice(0, -4)}.${crypto.randomUUID().slice(0, 8)}.tgz`]);
  const file = await Deno.open(path, { write: true, createNew: true });
  try {
    const { digest, size } = await writeGzip(packPackage(dir, { ...globs, gzip: false }), file.writable);
    return {
      path,
      layer: { mediaType: OCI_LAYER_TAR_GZIP, digest, size, annotations: { [ANNOTATION_TITLE]: title } },
    };
  } catch (error) {
    await Deno.remove(path).catch(() => {});
    throw error;
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

/** Picks the tag to fetch: `tag` when given, else the highest semver tag of the store (over all pages). */
export async function resolveTag(store: Store, tag?: string): Promise<string> {
  if (tag) return tag;
  const tags = await store.tags();
  const best = await highestSemverTag(tags);
  if (!best) {
    throw new PackageError(
      `Cannot pick a version of "${store.name}": none of its ${tags.length} tags is a semantic version`,
      { hint: { kind: "version" } },
    );
  }
  return best;
}

/** Options of fetchPackage and fetchStoredPackage. */
export interface FetchPackageOptions {
  /** The package cache. */
  home: string;
  /** The checksum kcl.mod.lock pins, enforced on top of the package's own annotation. */
  expectedSum?: string;
  log?: (line: string) => void;
  /** The trust policy's checks (registry packages only: see fetchStoredPackage). */
  verify?: PackageVerifier;
  onProgress?: PackageProgress;
}

/**
 * Fetches a package from a registry into the cache: see fetchStoredPackage. With `verify`, the manifest's
 * signature is checked against the trust policy before any of its content is used.
 *
 * @throws {PackageError} when the artifact is not a KCL package, names a bad cache folder or its content does
 *   not match its checksum
 * @throws {TrustError} when the trust policy covers the package and its signature does not verify
 */
export async function fetchPackage(
  client: RegistryClient,
  location: PackageLocation,
  options: FetchPackageOptions,
): Promise<CachedPackage> {
  const store = new Repository(client, location);
  const tag = await resolveTag(store, location.tag);
  const ref: Reference = { registry: location.registry, repository: location.repository, tag };
  const fetched = await fetchStoredPackage(store, tag, {
    ...options,
    where: formatReference(ref),
    fallbackName: location.repository.split("/").pop()!,
    verify: options.verify && ((name, manifest) => options.verify!.verify({ name, ref, manifest })),
    origin: location,
  });
  return { ...fetched, location: { ...location, tag } };
}

/** A package in the cache, fetched from any store. */
export type StoredPackage = Omit<CachedPackage, "location">;

/**
 * Fetches the package tagged `tag` in `store` (a registry repository or an OCI layout) into the cache
 * (`HOME/NAME_VERSION`, NAME and VERSION from its annotations, checked by fullName) and verifies its checksum
 * against the manifest's annotation and `expectedSum` (from a lock file) before it is renamed into place. A
 * cached copy whose checksum does not match is fetched again. Writers of one entry take turns
 * (withEntryLock); an interrupted download is resumed by the next run. `verify` (a trust policy's check of
 * the manifest) runs before any content is used; without it nothing is checked beyond the checksums, as for
 * a package folder or archive.
 *
 * @param options `where` names the package in messages; `fallbackName` when it has no name annotation
 * @throws {PackageError} when the artifact is not a KCL package, names a bad cache folder or its content does
 *   not match its checksum
 */
export async function fetchStoredPackage(
  store: Store,
  tag: string,
  options: Omit<FetchPackageOptions, "verify"> & {
    where: string;
    fallbackName: string;
    verify?: (name: string, manifest: Descriptor) => Promise<string | undefined>;
    /** Where `store` is: what `verify` accepted is recorded as the cache entry's origin (cache_origin.ts). */
    origin?: Pick<Reference, "registry" | "repository">;
  },
): Promise<StoredPackage> {
  const { where, home } = options;
  const { manifest, descriptor } = await store.fetchManifest(tag);
  const layer = packageLayer(manifest, where);
  const annotations = manifest.annotations ?? {};
  const name = annotations[ANNOTATION_NAME] || options.fallbackName;
  const version = annotations[ANNOTATION_VERSION] || tag;
  const full = fullName(name, version, where);
  const dir = entryDir(home, full);
  const signedBy = await options.verify?.(name, descriptor);
  const expected: Expectation[] = [
    [annotations[ANNOTATION_SUM], "its annotation"],
    [options.expectedSum, "kcl.mod.lock"],
  ];
  const sum = await cachedSum(dir, expected) ?? await fillEntry(store, layer, {
    ...options,
    full,
    dir,
    expected,
    onProgress: options.onProgress && ((bytes) => options.onProgress!(full, bytes, layer.size)),
  });
  if (signedBy && options.origin) {
    await writeOrigin(home, full, { ...options.origin, tag, manifest: descriptor.digest, sum, signedBy });
  }
  return { name, version, tag, dir, sum, ...(signedBy && { signedBy }) };
}

/** A checksum the package must have (none when undefined), and who says so. */
type Expectation = [string | undefined, string];

/**
 * Downloads the package layer into cache entry `full` (folder `dir`) under the entry's lock, unless another
 * writer put a copy matching `expected` there meanwhile.
 *
 * @returns the checksum of the entry's content
 */
async function fillEntry(
  store: Store,
  layer: Descriptor,
  options: {
    home: string;
    where: string;
    full: string;
    dir: string;
    expected: Expectation[];
    log?: (line: string) => void;
    onProgress?: (bytes: number) => void;
  },
): Promise<string> {
  const { home, dir } = options;
  await sweepStale(home);
  return await withEntryLock(home, options.full, async (work) => {
    const again = await cachedSum(dir, options.expected);
    if (again !== undefined) return again;
    if (await isDir(dir)) {
      options.log?.(`Cached package "${dir}" does not match its checksum; fetching it again`);
    }
    const fresh = await downloadVerified(store, options.where, layer, work, options.expected, options);
    await replaceEntry(dir, fresh.dir, work);
    return fresh.sum;
  });
}

/**
 * The package layer of a manifest: its one tar+gzip (or tar) layer, else its only layer, declared no larger
 * than PACKAGE_ARCHIVE_LIMIT_BYTES. Other layers are never downloaded.
 *
 * @throws {PackageError} for an index, a manifest without such a layer or with two (which would be the package
 *   is anyone's guess), or a layer declared larger than a package archive may be
 */
function packageLayer(manifest: Manifest, where: string): Descriptor {
  const refuse = (why: string) => new PackageError(`Cannot pull package "${where}": ${why}`);
  if (isIndex(manifest)) throw refuse("it is an index, not a KCL package");
  const tars = manifest.layers.filter((l) =>
    l.mediaType === OCI_LAYER_TAR_GZIP || l.mediaType === OCI_LAYER_TAR
  );
  if (tars.length > 1) throw refuse(`it holds ${tars.length} package layers (tar or tar+gzip), not one`);
  const layer = tars[0] ?? (manifest.layers.length === 1 ? manifest.layers[0] : undefined);
  if (!layer) throw refuse("it holds no package layer");
  if (layer.size > PACKAGE_ARCHIVE_LIMIT_BYTES) {
    throw refuse(
      `its layer "${layer.digest}" declares ${layer.size} bytes, over the ${PACKAGE_ARCHIVE_LIMIT_BYTES} bytes a package archive may have`,
    );
  }
  return layer;
}

/**
 * Downloads the package layer into `work` (resuming an earlier partial download), extracts it and checks its
 * checksum against every `[expected, where it comes from]` given, all before anything enters the cache.
 *
 * @returns the extracted folder (inside `work`) and its checksum
 * @throws {PackageError} when a checksum does not match
 */
async function downloadVerified(
  store: Store,
  where: string,
  layer: Descriptor,
  work: string,
  expectations: Expectation[],
  options: { onProgress?: (bytes: number) => void } = {},
): Promise<{ dir: string; sum: string }> {
  const archive = join(work, "layer");
  await store.downloadBlob(layer, archive, { onProgress: options.onProgress });
  const dir = join(work, "extract");
  await Deno.mkdir(dir);
  await extractPackage((await Deno.open(archive)).readable, dir, { name: where });
  const sum = await packageSum(dir);
  for (const [expected, from] of expectations) {
    if (expected && sum !== expected) {
      throw new PackageError(
        `Cannot use package "${where}": its checksum is "${sum}" but ${from} says "${expected}", so kpm is refusing it`,
      );
    }
  }
  return { dir, sum };
}

/**
 * The checksum of cache folder `dir` when it is there and matches every checksum `expected` (the package's
 * own annotation and the lock's: a copy matching only the lock is not the package this manifest describes).
 */
async function cachedSum(dir: string, expected: Expectation[]): Promise<string | undefined> {
  if (!(await isDir(dir))) return undefined;
  // a folder another process is replacing reads as missing or different: the caller then takes the lock
  const sum = await packageSum(dir).catch(() => undefined);
  return sum !== undefined && expected.every(([wanted]) => !wanted || sum === wanted) ? sum : undefined;
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}
