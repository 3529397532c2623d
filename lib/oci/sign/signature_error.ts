/**
 * The error of the signing domain: unreadable keys, wrong passwords, and signatures that do not verify.
 *
 * @module
 */

/** Thrown for a bad key file, a wrong password, or a manifest whose signatures do not verify. */
export class SignatureError extends Error {
  override name = "SignatureError";
}
