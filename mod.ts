/**
 * kpm as a library: push and pull OCI artifacts (files or in-memory content, with media types, annotations
 * and artifact types), copy them between registries and OCI layout folders, read tags, manifests, blobs and
 * referrers, manage KCL packages (push, pull, resolve dependencies, kcl.mod and kcl.mod.lock), and run kpm's
 * embedded registry. The command line is the `./cli` export.
 *
 * @example Push "Hello World!" from memory with a custom media type, and pull it back allowing only that type
 * ```ts
 * import { Client, pull, push, serveRegistry } from "@kcl/kpm";
 *
 * const registry = await serveRegistry({ root: await Deno.makeTempDir() });
 * try {
 *   const ref = `${registry.host}/oras:test`;
 *   const client = new Client();
 *   const pushed = await push(ref, [
 *     { name: "hello.txt", content: "Hello World!\n", mediaType: "my.custom.media.type" },
 *   ], { client });
 *   console.log(`Pushed to ${ref} with digest ${pushed.manifest.digest}`);
 *   const out = await Deno.makeTempDir();
 *   await pull(ref, out, { client, allowedMediaTypes: ["my.custom.media.type"] });
 *   console.log(await Deno.readTextFile(`${out}/hello.txt`)); // Hello World!
 * } finally {
 *   await registry.close();
 * }
 * ```
 *
 * @example Errors are one class per domain
 * ```ts
 * import { parseReference, ReferenceFormatError } from "@kcl/kpm";
 *
 * try {
 *   parseReference("localhost:5000/Demo");
 * } catch (error) {
 *   if (!(error instanceof ReferenceFormatError)) throw error;
 *   console.log(error.message); // Invalid reference "localhost:5000/Demo": repository "Demo" must be lowercase
 * }
 * ```
 *
 * @module
 */

export { type Digest, formatReference, parseReference, type Reference } from "./lib/api/reference.ts";
export { Client, type ClientOptions } from "./lib/api/client.ts";
export {
  type Credential,
  type CredentialLookup,
  dockerCredentials,
  staticCredentials,
} from "./lib/api/credentials.ts";
export { type FetchedManifest, openLayout, Target } from "./lib/api/target.ts";
export type { TargetSpec } from "./lib/api/target_spec.ts";
export { push, type PushFile, type PushOptions, type PushResult } from "./lib/api/push.ts";
export {
  type MemoryPullResult,
  pull,
  type PulledContent,
  type PullOptions,
  type PullResult,
  type PullSourceOptions,
  pullToMemory,
} from "./lib/api/pull.ts";
export { copy, type CopyOptions, type CopyResult } from "./lib/api/copy.ts";
export { type RunningRegistryServer, serveRegistry, type ServeRegistryOptions } from "./lib/api/registry.ts";
export {
  type DependencySpec,
  type LockedDependency,
  type ModFile,
  type ModFileContent,
  type PackageInfo,
  readLockFile,
  readModFile,
  writeLockFile,
  writeModFile,
} from "./lib/api/kcl_files.ts";
export {
  type CachedPackage,
  type GitSource,
  type PackageLocation,
  type PackageOptions,
  pullPackage,
  type PushedPackage,
  pushPackage,
  type Resolution,
  type ResolvedPackage,
  resolvePackage,
} from "./lib/api/kcl_packages.ts";
export type { Descriptor, ImageIndex, ImageManifest, Manifest, Platform } from "./lib/oci/manifest.ts";
export * from "./lib/api/errors.ts";
