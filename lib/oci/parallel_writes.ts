/**
 * Small files written a few at a time: creating a file costs the file system far more than its bytes (on the
 * build machine ~0.5 ms of kernel time each), and several creations in flight overlap. Used by extractTar for
 * the small files of an archive, between entries that must be written in order.
 *
 * @module
 */

/** How many file writes may be in flight at once. */
const WRITES_IN_FLIGHT = 8;

/**
 * New files written concurrently, at most WRITES_IN_FLIGHT at a time. Each `add` starts a write (waiting for a
 * place first); `flush` waits for every write and throws the first failure. A write to a path already in
 * flight waits for the earlier one first, so the later content wins, as it would in order.
 */
export class ParallelWrites {
  #pending = new Map<string, Promise<void>>();
  #failure: { error: unknown } | undefined;

  /** Starts writing `path` with `write` once a place is free and no earlier write of `path` is in flight. */
  async add(path: string, write: () => Promise<void>): Promise<void> {
    this.#throwIfFailed();
    while (this.#pending.size >= WRITES_IN_FLIGHT || this.#pending.has(path)) {
      await (this.#pending.get(path) ?? Promise.race(this.#pending.values()));
      this.#throwIfFailed();
    }
    const done = write().catch((error) => {
      this.#failure ??= { error };
    }).finally(() => this.#pending.delete(path));
    this.#pending.set(path, done);
  }

  /** Waits for every write started; throws the first that failed. */
  async flush(): Promise<void> {
    await Promise.all(this.#pending.values());
    this.#throwIfFailed();
  }

  /** Waits for every write started, ignoring failures (before the caller cleans up after another error). */
  async settle(): Promise<void> {
    await Promise.all(this.#pending.values());
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure.error;
  }
}
