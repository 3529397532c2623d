/**
 * The grammar of what may name a package folder: KCL package names and versions (semver or OCI tag), checked
 * wherever they come from data (a registry's annotations or tags, a downloaded kcl.mod, a lock entry).
 *
 * @module
 */

import { PackageError } from "./errors.ts";

/** A KCL package name: letters, digits, `_`, `-` and `.`, not starting with `.` or `-`, at most 128. */
const PACKAGE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** A package version: a semantic version (build metadata included) or an OCI tag, at most 128. */
const PACKAGE_VERSION = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}$/;
/** A cache folder's name, `NAME_VERSION`, as kcl.mod.lock's `full_name` spells it. */
const FULL_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}_[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}$/;

/** Whether `name` is a valid KCL package name. */
export function isPackageName(name: string): boolean {
  return PACKAGE_NAME.test(name);
}

/** Whether `version` is a valid package version (semver or OCI tag characters). */
export function isPackageVersion(version: string): boolean {
  return PACKAGE_VERSION.test(version);
}

/**
 * The cache folder name `NAME_VERSION` of a package, both parts checked.
 *
 * @param from names where the values came from, for the error (`"ghcr.io/acme/k8s:1.0"`)
 * @throws {PackageError} naming the bad value and where it came from
 * @example fullName("k8s", "1.28", "ghcr.io/kcl-lang/k8s:1.28") // "k8s_1.28"
 */
export function fullName(name: string, version: string, from: string): string {
  if (!isPackageName(name)) {
    throw new PackageError(
      `Refusing package ${JSON.stringify(from)}: its name ${
        JSON.stringify(name)
      } is not a KCL package name ` +
        `(letters, digits, "_", "-", ".", at most 128)`,
    );
  }
  if (!isPackageVersion(version)) {
    throw new PackageError(
      `Refusing package ${JSON.stringify(from)}: its version ${JSON.stringify(version)} is not a semantic ` +
        `version or tag (letters, digits, "_", ".", "+", "-", at most 128)`,
    );
  }
  return `${name}_${version}`;
}

/**
 * Checks a `full_name` read from kcl.mod.lock.
 *
 * @throws {PackageError} when it is not `NAME_VERSION`
 */
export function checkFullName(full: string, dependency: string): string {
  if (!FULL_NAME.test(full)) {
    throw new PackageError(
      `Invalid kcl.mod.lock: dependency ${JSON.stringify(dependency)} has full_name ${
        JSON.stringify(full)
      }, which is not NAME_VERSION`,
    );
  }
  return full;
}
