/**
 * The embedded registry's storage on disk: content-addressed blobs shared by all repositories, and per
 * repository the links that say which blobs and manifests it holds, its tags and its referrers.
 *
 * ```
 * ROOT/blobs/sha256/ab/abcdef…            content (blobs and manifests), written once, renamed into place
 * ROOT/uploads/<uuid>                     uploads in progress (same file system, so the rename is atomic)
 * ROOT/repositories/<name>/_layers/sha256/<hex>             the repository holds this blob
 * ROOT/repositories/<name>/_manifests/revisions/sha256/<hex> the repository holds this manifest (its media type)
 * ROOT/repositories/<name>/_manifests/tags/<tag>            the tag's manifest digest
 * ROOT/repositories/<name>/_referrers/sha256/<subject hex>/<alg>-<hex>  a referrer's descriptor (JSON)
 * ```
 *
 * Crash safety comes from the order of the steps: content before the link that names it, a manifest's blob and
 * revision link before its tag, and every file written to a temporary name and renamed. Manifests and links are
 * flushed to disk (file and folder) before the next step, so a crash or a power cut leaves at most
 * unreferenced content, never a tag pointing at a missing or torn manifest.
 *
 * One process at a time uses a folder: a server or `kpm registry gc` holds an exclusive lock on `ROOT/.lock`.
 *
 * @module
 */

import { join } from "node:path";
import { writeFileAtomic } from "../oci/atomic_file.ts";
import { type Digest, digestAlgorithm, digestHex, isDigest } from "../oci/digest.ts";
import { ifFound } from "../oci/if_found.ts";
import { type Descriptor, isIndex, type Manifest } from "../oci/manifest.ts";

/** A manifest as stored: its bytes, media type and digest. */
export interface StoredManifest {
  bytes: Uint8Array;
  mediaType: string;
  digest: Digest;
}

function statSize(path: string): Promise<number | undefined> {
  return ifFound(Deno.stat(path).then((info) => info.isFile ? info.size : undefined), undefined);
}

function readText(path: string): Promise<string | undefined> {
  return ifFound(Deno.readTextFile(path), undefined);
}

function removeIfPresent(path: string): Promise<boolean> {
  return ifFound(Deno.remove(path).then(() => true), false);
}

function listDir(path: string): Promise<Deno.DirEntry[]> {
  return ifFound(Array.fromAsync(Deno.readDir(path)), []);
}

/** Writes a small file atomically and durably (fsync of the file and its folder), creating its folder first. */
async function writeLink(path: string, content: string): Promise<void> {
  await Deno.mkdir(join(path, ".."), { recursive: true });
  await writeFileAtomic(path, content, { durable: true });
}

/**
 * Everything the registry keeps, in one folder. Repository names and references must be validated by the
 * caller (the router does, with the spec's grammar), so that no name can leave the folder.
 */
export class ServerStorage {
  /** The folder holding everything. */
  readonly root: string;

  /** @param root the storage folder (created by `init`) */
  constructor(root: string) {
    this.root = root;
  }

  /**
   * Creates the folders, takes the folder's lock (see `lock`) and removes uploads left over by a previous run
   * (their sessions are gone).
   *
   * @returns the lock, held until closed
   * @throws {Error} naming the folder when it cannot be created or another process uses it
   */
  async init(): Promise<Deno.FsFile> {
    try {
      await Deno.mkdir(join(this.root, "blobs"), { recursive: true });
      await Deno.mkdir(join(this.root, "repositories"), { recursive: true });
    } catch (error) {
      throw new Error(`Cannot use "${this.root}" as registry storage: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const lock = await this.lock("serve");
    try {
      await Deno.remove(this.uploadsDir, { recursive: true }).catch(() => {});
      await Deno.mkdir(this.uploadsDir, { recursive: true });
    } catch (error) {
      lock.close();
      throw new Error(`Cannot use "${this.root}" as registry storage: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return lock;
  }

  /**
   * Takes the folder's exclusive lock (released when the process ends or the returned file is closed).
   *
   * @param purpose what the lock is for, named in the error (e.g. `serve`)
   * @throws {Error} when another process holds it
   */
  async lock(purpose: string): Promise<Deno.FsFile> {
    const file = await Deno.open(join(this.root, ".lock"), { read: true, write: true, create: true });
    if (await file.tryLock(true)) return file;
    file.close();
    throw new Error(
      `Cannot ${purpose} "${this.root}": another kpm process (a registry server or gc) is using the folder`,
    );
  }

  /** The folder of uploads in progress. */
  get uploadsDir(): string {
    return join(this.root, "uploads");
  }

  /** Where a blob's content lives. */
  blobPath(digest: Digest): string {
    const hex = digestHex(digest);
    return join(this.root, "blobs", digestAlgorithm(digest), hex.slice(0, 2), hex);
  }

  #repo(name: string): string {
    return join(this.root, "repositories", ...name.split("/"));
  }

  #layerLink(name: string, digest: Digest): string {
    return join(this.#repo(name), "_layers", digestAlgorithm(digest), digestHex(digest));
  }

  #revisionLink(name: string, digest: Digest): string {
    return join(this.#repo(name), "_manifests", "revisions", digestAlgorithm(digest), digestHex(digest));
  }

  #tagLink(name: string, tag: string): string {
    return join(this.#repo(name), "_manifests", "tags", tag);
  }

  #referrersDir(name: string, subject: Digest): string {
    return join(this.#repo(name), "_referrers", digestAlgorithm(subject), digestHex(subject));
  }

  /** True when the repository exists (holds or held a blob or manifest). */
  async repositoryExists(name: string): Promise<boolean> {
    return (await listDir(this.#repo(name))).some((e) => e.name === "_manifests" || e.name === "_layers");
  }

  /** The size of a blob the repository holds, or undefined. */
  async blobSize(name: string, digest: Digest): Promise<number | undefined> {
    if ((await statSize(this.#layerLink(name, digest))) === undefined) return undefined;
    return await statSize(this.blobPath(digest));
  }

  /** True when any repository has stored this content. */
  async contentExists(digest: Digest): Promise<boolean> {
    return (await statSize(this.blobPath(digest))) !== undefined;
  }

  /** Records that the repository holds a blob whose content is stored. */
  async linkBlob(name: string, digest: Digest): Promise<void> {
    await writeLink(this.#layerLink(name, digest), digest);
  }

  /** Forgets a repository's blob; returns false when it did not hold it. Content stays for other repositories. */
  async unlinkBlob(name: string, digest: Digest): Promise<boolean> {
    return await removeIfPresent(this.#layerLink(name, digest));
  }

  /**
   * Moves a verified file into the content store (or drops it when the content is already there).
   *
   * @param file a file on the same file system (an upload), whose content has the digest
   */
  async adoptContent(file: string, digest: Digest): Promise<void> {
    const path = this.blobPath(digest);
    if (await this.contentExists(digest)) {
      await removeIfPresent(file);
      return;
    }
    await Deno.mkdir(join(path, ".."), { recursive: true });
    await Deno.rename(file, path);
  }

  /** Stores small content (a manifest) in the content store, atomically. */
  async putContent(digest: Digest, bytes: Uint8Array): Promise<void> {
    const path = this.blobPath(digest);
    if (await this.contentExists(digest)) return;
    await Deno.mkdir(join(path, ".."), { recursive: true });
    await writeFileAtomic(path, bytes, { durable: true });
  }

  /** The digest a tag or digest reference names in the repository, or undefined. */
  async resolve(name: string, reference: string): Promise<Digest | undefined> {
    if (isDigest(reference)) {
      return (await readText(this.#revisionLink(name, reference))) === undefined ? undefined : reference;
    }
    const target = (await readText(this.#tagLink(name, reference)))?.trim();
    if (!target || !isDigest(target)) return undefined;
    return (await readText(this.#revisionLink(name, target))) === undefined ? undefined : target;
  }

  /** A manifest of the repository by tag or digest, or undefined. */
  async getManifest(name: string, reference: string): Promise<StoredManifest | undefined> {
    const digest = await this.resolve(name, reference);
    if (!digest) return undefined;
    const mediaType = (await readText(this.#revisionLink(name, digest)))?.trim();
    const bytes = await ifFound(Deno.readFile(this.blobPath(digest)), undefined);
    if (!bytes) return undefined;
    return { bytes, mediaType: mediaType || "application/vnd.oci.image.manifest.v1+json", digest };
  }

  /** True when the repository holds the manifest. */
  async hasManifest(name: string, digest: Digest): Promise<boolean> {
    return (await readText(this.#revisionLink(name, digest))) !== undefined;
  }

  /**
   * Stores a validated manifest: content, revision link, referrer entry, then the tag (in that order).
   *
   * @param name the repository
   * @param entry the `stored` bytes, type and digest, the parsed `manifest` (for its subject), and the `tag` to
   *   point at it when pushed by tag
   */
  async putManifest(
    name: string,
    entry: { stored: StoredManifest; manifest: Manifest; tag?: string },
  ): Promise<void> {
    const { stored, manifest, tag } = entry;
    await this.putContent(stored.digest, stored.bytes);
    await writeLink(this.#revisionLink(name, stored.digest), stored.mediaType);
    if (manifest.subject && isDigest(manifest.subject.digest)) {
      const descriptor = referrerDescriptor(stored, manifest);
      await writeLink(
        join(this.#referrersDir(name, manifest.subject.digest), stored.digest.replace(":", "-")),
        JSON.stringify(descriptor),
      );
    }
    if (tag !== undefined) await writeLink(this.#tagLink(name, tag), stored.digest);
  }

  /**
   * Deletes a tag (by tag), or a manifest with every tag pointing at it and its referrer entry (by digest).
   *
   * @returns false when there was nothing to delete
   */
  async deleteManifest(name: string, reference: string): Promise<boolean> {
    if (!isDigest(reference)) return await removeIfPresent(this.#tagLink(name, reference));
    const stored = await this.getManifest(name, reference);
    if (!stored) return false;
    for (const tag of await this.tags(name) ?? []) {
      if ((await readText(this.#tagLink(name, tag)))?.trim() === reference) {
        await removeIfPresent(this.#tagLink(name, tag));
      }
    }
    try {
      const subject = (JSON.parse(new TextDecoder().decode(stored.bytes)) as Manifest).subject;
      if (subject && isDigest(subject.digest)) {
        await removeIfPresent(join(this.#referrersDir(name, subject.digest), reference.replace(":", "-")));
      }
    } catch {
      // a manifest that is not JSON has no referrer entry
    }
    await removeIfPresent(this.#revisionLink(name, reference));
    return true;
  }

  /** The repository's tags, sorted, or undefined when the repository does not exist. */
  async tags(name: string): Promise<string[] | undefined> {
    if (!(await this.repositoryExists(name))) return undefined;
    const entries = await listDir(join(this.#repo(name), "_manifests", "tags"));
    return entries.filter((e) => e.isFile && !e.name.startsWith(".")).map((e) => e.name).sort();
  }

  /** Every repository name, sorted. */
  async repositories(): Promise<string[]> {
    const found: string[] = [];
    const walk = async (dir: string, prefix: string[]) => {
      const entries = await listDir(dir);
      if (prefix.length > 0 && entries.some((e) => e.name === "_manifests" || e.name === "_layers")) {
        found.push(prefix.join("/"));
      }
      for (const entry of entries) {
        if (entry.isDirectory && !entry.name.startsWith("_") && !entry.name.startsWith(".")) {
          await walk(join(dir, entry.name), [...prefix, entry.name]);
        }
      }
    };
    await walk(join(this.root, "repositories"), []);
    return found.sort();
  }

  /** The digests of the manifests the repository holds (tagged or not). */
  async revisions(name: string): Promise<Digest[]> {
    return await digestsIn(join(this.#repo(name), "_manifests", "revisions"));
  }

  /** The digests of the blobs the repository links. */
  async layerLinks(name: string): Promise<Digest[]> {
    return await digestsIn(join(this.#repo(name), "_layers"));
  }

  /**
   * Every file of the content store, with its digest (undefined for a stray file, such as the temporary file
   * of an interrupted write) and size.
   */
  async *contents(): AsyncGenerator<{ path: string; digest?: Digest; size: number }> {
    const blobs = join(this.root, "blobs");
    for (const algorithm of (await listDir(blobs)).filter((e) => e.isDirectory)) {
      for (const prefix of (await listDir(join(blobs, algorithm.name))).filter((e) => e.isDirectory)) {
        const dir = join(blobs, algorithm.name, prefix.name);
        for (const entry of await listDir(dir)) {
          const path = join(dir, entry.name);
          const size = await statSize(path);
          if (size === undefined) continue;
          const digest = `${algorithm.name}:${entry.name}`;
          yield { path, digest: isDigest(digest) ? digest : undefined, size };
        }
      }
    }
  }

  /** Bytes held: content, manifests and uploads in progress. */
  async size(): Promise<number> {
    let total = 0;
    for await (const content of this.contents()) total += content.size;
    for (const entry of await listDir(this.uploadsDir)) {
      total += (await statSize(join(this.uploadsDir, entry.name))) ?? 0;
    }
    return total;
  }

  /** The descriptors of the manifests whose subject is `subject`, sorted by digest. */
  async referrers(name: string, subject: Digest): Promise<Descriptor[]> {
    const dir = this.#referrersDir(name, subject);
    const list: Descriptor[] = [];
    for (const entry of await listDir(dir)) {
      if (!entry.isFile || entry.name.startsWith(".")) continue;
      const text = await readText(join(dir, entry.name));
      if (!text) continue;
      const descriptor = JSON.parse(text) as Descriptor;
      if (await this.hasManifest(name, descriptor.digest)) list.push(descriptor);
    }
    return list.sort((a, b) => a.digest.localeCompare(b.digest));
  }
}

/** The digests named by `<alg>/<hex>` files under a folder. */
async function digestsIn(dir: string): Promise<Digest[]> {
  const found: Digest[] = [];
  for (const algorithm of (await listDir(dir)).filter((e) => e.isDirectory)) {
    for (const entry of await listDir(join(dir, algorithm.name))) {
      const digest = `${algorithm.name}:${entry.name}`;
      if (entry.isFile && isDigest(digest)) found.push(digest);
    }
  }
  return found;
}

/** The descriptor the referrers API lists for a manifest with a subject. */
function referrerDescriptor(stored: StoredManifest, manifest: Manifest): Descriptor {
  const artifactType = manifest.artifactType ??
    (isIndex(manifest) ? undefined : manifest.config.mediaType);
  const descriptor: Descriptor = {
    mediaType: stored.mediaType,
    digest: stored.digest,
    size: stored.bytes.byteLength,
  };
  if (artifactType) descriptor.artifactType = artifactType;
  if (manifest.annotations) descriptor.annotations = manifest.annotations;
  return descriptor;
}
