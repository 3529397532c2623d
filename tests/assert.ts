/**
 * The assertions the tests use, in the shape of `@std/assert` (which is on JSR, not reachable where kpm is
 * built), on top of `node:assert`.
 *
 * @module
 */

import { deepStrictEqual, ok } from "node:assert/strict";

/** Asserts deep equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  deepStrictEqual(actual, expected, message);
}

/** Asserts a truthy value. */
export function assert(value: unknown, message?: string): asserts value {
  ok(value, message);
}

/** Asserts that `text` contains `part`. */
export function assertStringIncludes(text: string, part: string, message?: string): void {
  ok(text.includes(part), message ?? `expected ${JSON.stringify(text)} to include ${JSON.stringify(part)}`);
}

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

function check<E extends Error>(error: unknown, type?: ErrorClass<E>, includes?: string): E {
  if (type && !(error instanceof type)) {
    throw new Error(
      `expected a ${type.name}, got ${error instanceof Error ? `${error.name}: ${error.message}` : error}`,
    );
  }
  if (includes && !(error as Error).message.includes(includes)) {
    throw new Error(
      `expected the message to include ${JSON.stringify(includes)}, got ${(error as Error).message}`,
    );
  }
  return error as E;
}

/** Asserts that `fn` throws (an instance of `type`, whose message includes `includes`) and returns the error. */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  type?: ErrorClass<E>,
  includes?: string,
): E {
  try {
    fn();
  } catch (error) {
    return check(error, type, includes);
  }
  throw new Error("expected the function to throw");
}

/** Asserts that `fn` rejects (an instance of `type`, whose message includes `includes`) and returns the error. */
export async function assertRejects<E extends Error = Error>(
  fn: () => Promise<unknown>,
  type?: ErrorClass<E>,
  includes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    return check(error, type, includes);
  }
  throw new Error("expected the promise to reject");
}
