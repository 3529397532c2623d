/**
 * Vendor mode (`--vendor` of `mod push|pkg|metadata`, as the KCL tool chain has it): every registry or git
 * dependency of the resolved graph is copied into the package's `vendor/NAME_VERSION` folder, so the package
 * carries its dependencies and compiles without a registry.
 *
 * @module
 */

import { join } from "node:path";
import { fullName } from "../kpm/names.ts";
import type { ResolvedPackage } from "../kpm/resolve.ts";
import { exists } from "../oci/if_found.ts";
import { copyTree } from "./tree_copy.ts";

/** The folder vendored packages go to, inside the package. */
export const VENDOR_DIR = "vendor";

/**
 * Copies each resolved package that is not a local path into `dir/vendor/NAME_VERSION` (kept when already
 * there, as the reference does).
 *
 * @returns the resolved packages with `dir` pointing into the vendor folder
 */
export async function vendorPackages(
  dir: string,
  packages: Map<string, ResolvedPackage>,
): Promise<Map<string, ResolvedPackage>> {
  const vendored = new Map<string, ResolvedPackage>();
  for (const [name, pkg] of packages) {
    if (!pkg.location && !pkg.git) {
      vendored.set(name, pkg); // a local path stays where it is
      continue;
    }
    // names and versions come from registries: fullName lets only a plain folder name through
    const target = join(dir, VENDOR_DIR, fullName(pkg.packageName, pkg.version, name));
    if (!(await exists(target))) await copyTree(pkg.dir, target);
    vendored.set(name, { ...pkg, dir: target });
  }
  return vendored;
}
