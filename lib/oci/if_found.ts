/**
 * The file-system idiom "a missing path is an answer, not an error" in one place, and `exists`, the one
 * "is anything there" check.
 *
 * @module
 */

/**
 * Awaits a file-system operation; when it fails because the path does not exist, yields `missing` instead. Every
 * other failure is rethrown as it is.
 */
export async function ifFound<T, M>(operation: Promise<T>, missing: M): Promise<T | M> {
  try {
    return await operation;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return missing;
    throw error;
  }
}

/**
 * Whether something is at `path`, without following a final symbolic link (a dangling link counts). Every
 * failure but NotFound is rethrown.
 */
export function exists(path: string): Promise<boolean> {
  return ifFound(Deno.lstat(path).then(() => true), false);
}
