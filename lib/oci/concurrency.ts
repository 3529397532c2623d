/**
 * Bounded parallelism: the one limiter that a whole operation (a copy, a pull, a push, a dependency
 * resolution) shares, created once per operation and passed down, with cancellation through an AbortSignal.
 *
 * Only leaf work (one blob transfer, one manifest request, one package download) runs inside a slot; a task
 * never waits for other limited tasks while holding a slot, so graphs of any depth cannot deadlock and
 * `concurrency N` means at most N transfers at once across the whole operation.
 *
 * @module
 */

/** How many transfers an artifact push, pull or copy runs at once unless told otherwise (as oras). */
export const DEFAULT_TRANSFER_CONCURRENCY = 3;

/** Options of a Limiter. */
export interface LimiterOptions {
  /** Aborting it rejects every queued task, and every later one, with the signal's reason. */
  signal?: AbortSignal;
}

/** Options of operations that run their transfers through a Limiter. */
export interface ConcurrencyOptions {
  /** The operation's limiter; when absent one is made from `concurrency` and `signal`. */
  limiter?: Limiter;
  /** How many transfers run at once when no limiter is given. */
  concurrency?: number;
  /** Cancels the operation's queued transfers when no limiter is given. */
  signal?: AbortSignal;
}

/**
 * A counting semaphore: at most `limit` tasks run at once, the others wait in order.
 *
 * @example
 * ```ts
 * const limiter = new Limiter(3, { signal: AbortSignal.timeout(60_000) });
 * await limiter.map(layers, (layer) => download(layer));
 * ```
 */
export class Limiter {
  #limit: number;
  #active = 0;
  #queue: { start: () => void; stop: (reason: unknown) => void }[] = [];
  #signal?: AbortSignal;
  /** Rejects the queued tasks; listening only while some wait, so a long-lived signal keeps no limiter alive. */
  #onAbort = () => {
    for (const waiting of this.#queue.splice(0)) waiting.stop(this.#signal!.reason);
  };

  /**
   * @param limit the most tasks that run at once (less than 1, or not a number, counts as 1)
   */
  constructor(limit: number, options: LimiterOptions = {}) {
    this.#limit = Math.max(1, Math.floor(limit) || 1);
    this.#signal = options.signal;
  }

  /** The most tasks that run at once. */
  get limit(): number {
    return this.#limit;
  }

  /** The signal that cancels this limiter's queued tasks, if any. */
  get signal(): AbortSignal | undefined {
    return this.#signal;
  }

  /**
   * Runs `task` once a slot is free. `task` must not wait for other tasks of this limiter (that could
   * deadlock): run only leaf work through it.
   *
   * @returns what `task` returns
   * @throws the signal's reason when it is aborted before `task` starts; whatever `task` throws
   */
  async run<T>(task: () => Promise<T>): Promise<T> {
    this.#signal?.throwIfAborted();
    if (this.#active < this.#limit) this.#active++;
    else await this.#wait(); // a slot handed over
    try {
      return await task();
    } finally {
      this.#release();
    }
  }

  /** Waits in line for a slot; the signal's abort rejects the wait. */
  #wait(): Promise<void> {
    if (this.#queue.length === 0) this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
    return new Promise<void>((start, stop) => this.#queue.push({ start, stop }));
  }

  /** Hands the slot to the first waiting task, or frees it. */
  #release(): void {
    const next = this.#queue.shift();
    if (next && this.#queue.length === 0) this.#signal?.removeEventListener("abort", this.#onAbort);
    if (next) next.start();
    else this.#active--;
  }

  /**
   * A group of tasks that fail together: each runs in a slot of this limiter, and after the first failure
   * the group's tasks not yet started are skipped (they reject). Tasks of other groups go on.
   *
   * @returns the group's `run`
   */
  group(): <T>(task: () => Promise<T>) => Promise<T> {
    let failed = false;
    return (task) =>
      this.run(async () => {
        if (failed) throw new Error("skipped after an earlier failure");
        try {
          return await task();
        } catch (error) {
          failed = true; // before the slot goes to the next task
          throw error;
        }
      });
  }

  /**
   * Maps `items` through `fn`, each call in a slot, keeping the order of results. After the first failure the
   * calls not yet started are skipped; the map rejects with that failure.
   *
   * @example await limiter.map(files, (file) => upload(file))
   */
  async map<T, R>(items: readonly T[], fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
    const run = this.group();
    return await Promise.all(items.map((item, index) => run(() => fn(item, index))));
  }
}

/**
 * The limiter of an operation: the one given, else a new one of `concurrency` (default `fallback`, else
 * DEFAULT_TRANSFER_CONCURRENCY) slots cancelled by `signal`.
 */
export function operationLimiter(
  options: ConcurrencyOptions,
  fallback = DEFAULT_TRANSFER_CONCURRENCY,
): Limiter {
  return options.limiter ?? new Limiter(options.concurrency ?? fallback, { signal: options.signal });
}

/**
 * One signal that aborts when any of the given ones does (with its reason); undefined when none is given.
 *
 * @example anySignal(operation.signal, request.signal)
 */
export function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const given = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  return given.length > 1 ? AbortSignal.any(given) : given[0];
}
