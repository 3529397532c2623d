/**
 * The error classes the library throws, one per domain, so callers can tell them apart with `instanceof`.
 * Messages are one readable line naming what failed and where; what the user can do about it, if anything, is
 * `error.hint` (a RegistryHint or PackageHint: data such as `{ kind: "login", registry }`, never text).
 *
 * @module
 */

export { ArtifactError } from "../artifact/files.ts";
export { CredentialError } from "../oci/credentials.ts";
export { DigestError } from "../oci/digest.ts";
export { LayoutError } from "../oci/layout.ts";
export { ManifestError } from "../oci/manifest.ts";
export { ReferenceFormatError } from "../oci/reference.ts";
export { RegistryError } from "../oci/registry_error.ts";
export { PackageError, type PackageHint } from "../kpm/errors.ts";
export { HintedError, type RegistryHint } from "../oci/hint.ts";
export { PackageArchiveError } from "../kpm/package.ts";
export { ModFileError } from "../kpm/modfile.ts";
export { ResolutionError } from "../kpm/mvs.ts";
export { SourceError } from "../kpm/source.ts";
export { TrustError } from "../kpm/trust_policy.ts";
