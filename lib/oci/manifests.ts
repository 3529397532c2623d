/**
 * The manifests of one registry repository (`/v2/<name>/manifests/<reference>`): GET with size, type and
 * digest checks, HEAD, PUT and DELETE. Reached through `Repository.manifests`.
 *
 * @module
 */

import { type Digest, digestOf, isDigest } from "./digest.ts";
import { type Descriptor, MAX_MANIFEST_BYTES, parseManifest } from "./manifest.ts";
import { MANIFEST_TYPES } from "./media_types.ts";
import { contentLength } from "./http.ts";
import { formatReference } from "./reference.ts";
import { readCapped } from "./read_capped.ts";
import { RegistryError } from "./registry_error.ts";
import { repositoryScope } from "./auth/scope.ts";
import type { Repository } from "./repository.ts";
import type { FetchedManifest } from "./store.ts";

const ACCEPT = MANIFEST_TYPES.join(", ");

/** The manifest endpoints of a repository. */
export class RepositoryManifests {
  #repo: Repository;

  /** @param repo the repository (its client, registry and name) */
  constructor(repo: Repository) {
    this.#repo = repo;
  }

  /**
   * Fetches a manifest by tag or digest, checking size, type and (when asked by digest) the digest.
   *
   * @param reference a tag or a digest
   * @throws {RegistryError} when the registry refuses (404: `notFound`), or the manifest is oversize, invalid
   *   or does not match
   */
  async fetch(reference: string): Promise<FetchedManifest> {
    const repo = this.#repo;
    const ref = repo.reference(reference);
    const what = `pull manifest "${formatReference(ref)}"`;
    const response = await this.#send("GET", reference, [200], what);
    const fail = (why: string): never => {
      throw new RegistryError(`Cannot ${what}: ${why}`, {
        status: 200,
        registry: repo.registry,
        repository: repo.repository,
      });
    };
    const declared = Number(response.headers.get("Content-Length") ?? "0");
    if (declared > MAX_MANIFEST_BYTES) {
      await response.body?.cancel();
      fail(`manifest is ${declared} bytes, over the 4 MiB limit`);
    }
    const bytes = await readCapped(response, { limit: MAX_MANIFEST_BYTES + 1, truncate: true });
    let parsed;
    try {
      parsed = parseManifest(bytes, response.headers.get("Content-Type") ?? undefined);
    } catch (error) {
      return fail((error as Error).message);
    }
    const digest = digestOf(bytes, ref.digest ? ref.digest.split(":")[0] : "sha256");
    if (ref.digest && digest !== ref.digest) fail(`content has digest "${digest}"`);
    const header = response.headers.get("Docker-Content-Digest");
    if (!ref.digest && header && isDigest(header) && header.startsWith("sha256:") && header !== digest) {
      fail(`content has digest "${digest}" but the registry said "${header}"`);
    }
    return {
      manifest: parsed.manifest,
      bytes,
      descriptor: { mediaType: parsed.mediaType, digest, size: bytes.byteLength },
    };
  }

  /**
   * Asks whether a manifest exists (HEAD) and returns its descriptor (its media type empty when the registry
   * sent none), or undefined on 404. A registry that omits the digest or a valid size on HEAD is asked again
   * with a GET.
   *
   * @param reference a tag or a digest
   * @throws {RegistryError} on any other failure
   */
  async head(reference: string): Promise<Descriptor | undefined> {
    const what = `look up manifest "${formatReference(this.#repo.reference(reference))}"`;
    const response = await this.#send("HEAD", reference, [200, 404], what);
    await response.body?.cancel();
    if (response.status === 404) return undefined;
    const digest = response.headers.get("Docker-Content-Digest");
    const size = contentLength(response);
    if (!digest || !isDigest(digest) || size === undefined) return (await this.fetch(reference)).descriptor;
    return { mediaType: response.headers.get("Content-Type")?.split(";")[0] ?? "", digest, size };
  }

  /**
   * Uploads a manifest under `options.tag`, or else under its own digest.
   *
   * @returns the manifest's descriptor
   * @throws {RegistryError} when the registry refuses it
   */
  async push(bytes: Uint8Array, mediaType: string, options: { tag?: string } = {}): Promise<Descriptor> {
    const repo = this.#repo;
    const digest = digestOf(bytes);
    const ref = options.tag !== undefined ? repo.reference(options.tag) : repo.reference(digest);
    const response = await repo.client.send({
      registry: repo.registry,
      repository: repo.repository,
      method: "PUT",
      path: `${repo.repository}/manifests/${options.tag ?? digest}`,
      headers: { "Content-Type": mediaType },
      body: bytes,
      scopes: [repositoryScope(repo.repository, ["pull", "push"])],
      expect: [200, 201],
      what: `push manifest to "${formatReference(ref)}"`,
    });
    await response.body?.cancel();
    return { mediaType, digest, size: bytes.byteLength };
  }

  /**
   * Deletes a manifest by digest (registries refuse deletion by tag).
   *
   * @throws {RegistryError} when the registry refuses (405 when deletion is off)
   */
  async delete(digest: Digest): Promise<void> {
    const repo = this.#repo;
    await repo.deleteByDigest(
      "manifests",
      digest,
      `delete manifest "${formatReference(repo.reference(digest))}"`,
    );
  }

  /** A GET or HEAD of a manifest, with the Accept list of every manifest type. */
  #send(method: "GET" | "HEAD", reference: string, expect: number[], what: string): Promise<Response> {
    const repo = this.#repo;
    return repo.client.send({
      registry: repo.registry,
      repository: repo.repository,
      method,
      path: `${repo.repository}/manifests/${reference}`,
      headers: { Accept: ACCEPT },
      scopes: [repositoryScope(repo.repository, ["pull"])],
      expect,
      what,
    });
  }
}
