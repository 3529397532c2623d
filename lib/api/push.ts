/**
 * `push`: files, folders or in-memory content as one OCI artifact (image-spec 1.1, as `oras push` writes it),
 * to a registry or an OCI layout folder.
 *
 * @module
 */

import type { Descriptor } from "../oci/manifest.ts";
import { ArtifactError, type FileSpec, fileTitle } from "../artifact/files.ts";
import { pushToStore } from "../artifact/push.ts";
import type { Client } from "./client.ts";
import { openSpec, type TargetSpec } from "./target_spec.ts";

/** One layer to push: a file or folder on disk (`path`), or in-memory `content` under a `name`. */
export type PushFile =
  | {
    /** A file or folder, relative to `PushOptions.cwd`; its path as given becomes the layer's title. */
    path: string;
    /** The layer's media type (default `application/vnd.oci.image.layer.v1.tar`; folders: `…tar+gzip`). */
    mediaType?: string;
    /** Annotations of the layer (`org.opencontainers.image.title` is set from the path). */
    annotations?: Record<string, string>;
  }
  | {
    /** The layer's title: the file name a pull writes. */
    name: string;
    /** The bytes (a string is UTF-8 encoded). */
    content: Uint8Array | string;
    /** The layer's media type (default `application/vnd.oci.image.layer.v1.tar`). */
    mediaType?: string;
    /** Annotations of the layer (`org.opencontainers.image.title` is set from the name). */
    annotations?: Record<string, string>;
  };

/** Options of push. */
export interface PushOptions {
  /** The client for registry references (default: an anonymous Client). */
  client?: Client;
  /**
   * Tags to apply besides those of the reference string. When none is named anywhere: `latest`, or no tag
   * for an artifact with a `subject` (it is found through its subject's referrers).
   */
  tags?: string[];
  /** The manifest's `artifactType` (default `application/vnd.unknown.artifact.v1` with the empty config). */
  artifactType?: string;
  /** Manifest annotations (`org.opencontainers.image.created` is added unless given). */
  annotations?: Record<string, string>;
  /** A config blob instead of the empty one `{}`. */
  config?: { content: Uint8Array | string; mediaType?: string; annotations?: Record<string, string> };
  /** The manifest this artifact refers to (a signature, an SBOM…): a tag or digest in the same place. */
  subject?: string | Descriptor;
  /** The folder relative `path`s are read from (default the current folder). */
  cwd?: string;
  /** Parallel uploads (default 3). */
  concurrency?: number;
  /** Cancels the operation: transfers not yet started never start, and it rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** What a push produced. */
export interface PushResult {
  /** The manifest's descriptor (its digest names the artifact). */
  manifest: Descriptor;
  /** The layers, in the order given. */
  layers: Descriptor[];
  /** The tags applied. */
  tags: string[];
}

const encoder = new TextEncoder();

/**
 * Pushes files, folders or in-memory content as one artifact: a layer per entry, the empty config (or the
 * given one), and an image manifest tagged with every tag of the reference and `options.tags`.
 *
 * @param to a reference (`host[:port]/repo:tag`, `oci-layout:DIR:tag`, `:t1,t2` for several tags) or a Target
 * @throws {ArtifactError} for missing or unsafe files, a name given twice, or a reference with a digest
 * @throws {RegistryError} / {LayoutError} when the place refuses
 * @example Push in-memory content with a custom media type to an OCI layout folder
 * ```ts
 * import { push } from "@kcl/kpm";
 *
 * const dir = await Deno.makeTempDir();
 * const result = await push(`oci-layout:${dir}:v1`, [
 *   { name: "hello.txt", content: "Hello World!\n", mediaType: "my.custom.media.type" },
 * ], { artifactType: "application/vnd.example", annotations: { team: "kcl" } });
 * console.log(result.tags, result.manifest.digest); // [ "v1" ] sha256:…
 * ```
 */
export async function push(
  to: TargetSpec,
  files: PushFile[],
  options: PushOptions = {},
): Promise<PushResult> {
  const place = await openSpec(to, { client: options.client, create: true, multipleTags: true });
  if (place.digest) throw new ArtifactError(`Cannot push to a digest "${to}": name a tag`);
  const named = [...place.tags, ...(options.tags ?? [])];
  const tags = named.length ? [...new Set(named)] : options.subject ? [] : ["latest"];
  const specs: FileSpec[] = files.map((file) =>
    "content" in file
      ? { path: file.name, mediaType: file.mediaType, content: bytesOf(file.content) }
      : { path: file.path, mediaType: file.mediaType }
  );
  const fileAnnotations = Object.fromEntries(
    files.flatMap((file, i) => file.annotations ? [[fileTitle(specs[i]!.path), file.annotations]] : []),
  );
  const subject = typeof options.subject === "string"
    ? await place.store.resolve(options.subject)
    : options.subject;
  const config = options.config;
  const result = await pushToStore(place.store, specs, {
    cwd: options.cwd ?? ".",
    tags,
    artifactType: options.artifactType,
    annotations: options.annotations,
    fileAnnotations,
    ...(config && {
      config: { path: "config", mediaType: config.mediaType, content: bytesOf(config.content) },
      configAnnotations: config.annotations,
    }),
    subject,
    concurrency: options.concurrency,
    signal: options.signal,
  });
  return { manifest: result.manifest, layers: result.layers, tags: result.tags };
}

function bytesOf(content: Uint8Array | string): Uint8Array {
  return typeof content === "string" ? encoder.encode(content) : content;
}
