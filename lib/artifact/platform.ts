/**
 * Choosing one manifest of an image index by platform (`--platform linux/arm64[/v8]`), as oras and docker do.
 *
 * @module
 */

import type { Descriptor, ImageIndex } from "../oci/manifest.ts";
import { ArtifactError } from "./files.ts";

/** A platform as `--platform` spells it: `OS/ARCH[/VARIANT]`. */
export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

/**
 * Parses `OS/ARCH[/VARIANT]`.
 *
 * @throws {ArtifactError} for anything else
 * @example parsePlatform("linux/arm64/v8") // { os: "linux", architecture: "arm64", variant: "v8" }
 */
export function parsePlatform(value: string): PlatformSpec {
  const parts = value.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9._-]+$/i.test(p))) {
    throw new ArtifactError(`Invalid platform "${value}": expected OS/ARCH[/VARIANT], e.g. linux/amd64`);
  }
  return { os: parts[0]!, architecture: parts[1]!, ...(parts[2] && { variant: parts[2] }) };
}

/**
 * The manifest of `index` for `platform`; without a platform, the only manifest of a one-manifest index.
 *
 * @param name the index's reference, for messages
 * @throws {ArtifactError} when none (or, without a platform, more than one) matches
 */
export function selectManifest(index: ImageIndex, name: string, platform?: PlatformSpec): Descriptor {
  const children = index.manifests;
  const listed = children.map((c) => c.platform ? `${c.platform.os}/${c.platform.architecture}` : "?").join(
    ", ",
  );
  if (!platform) {
    if (children.length === 1) return children[0]!;
    throw new ArtifactError(
      `Cannot pick a manifest of "${name}": it is an index of ${children.length} manifests (${listed}); name one with --platform or by digest`,
    );
  }
  const found = children.find((c) =>
    c.platform?.os === platform.os && c.platform.architecture === platform.architecture &&
    (!platform.variant || c.platform.variant === platform.variant)
  );
  if (!found) {
    const wanted = [platform.os, platform.architecture, platform.variant].filter(Boolean).join("/");
    throw new ArtifactError(`Cannot find platform "${wanted}" in "${name}": it has ${listed || "none"}`);
  }
  return found;
}
