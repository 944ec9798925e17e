/** Swallows an outcome: an operation waits for the one before it to be sent, not for it to succeed. */
const IGNORE = (): void => undefined;

/**
 * Keeps the operations on one key reaching the backend in the order they were issued, when some of
 * them must wait before they can be sent (a value compressed off the event loop). Without it,
 * `set(k, big)` then `set(k, small)` would store `big`: the small value is encoded at once and
 * overtakes. Only deferred operations are tracked, so when nothing waits every call goes at once.
 *
 * @example
 * ```ts
 * const order = new KeyOrder();
 * const result = order.run(["app:k"], () => backend.delete("app:k")); // after any pending write of app:k
 * ```
 */
export class KeyOrder {
  /** Per key, settles once the last deferred operation on it has been handed to the backend. */
  readonly #tails = new Map<string, Promise<void>>();
  /** The same for an operation on every key (`clear()`). */
  #barrier: Promise<void> | undefined;

  /**
   * What an operation on `keys` (every key, for `undefined`) must wait for before it is sent, or
   * `undefined` when nothing earlier is pending.
   */
  pending(keys: readonly string[] | undefined): Promise<void> | undefined {
    if (this.#tails.size === 0) return this.#barrier;
    const waits: Promise<void>[] = this.#barrier === undefined ? [] : [this.#barrier];
    if (keys === undefined) waits.push(...this.#tails.values());
    else {
      for (const key of keys) {
        const tail = this.#tails.get(key);
        if (tail !== undefined) waits.push(tail);
      }
    }
    if (waits.length <= 1) return waits[0];
    return Promise.all(waits).then(IGNORE);
  }

  /**
   * Records that the operation on `keys` (every key, for `undefined`) is handed to the backend when
   * `sent` settles, so that later operations on them wait for it.
   */
  track(keys: readonly string[] | undefined, sent: Promise<unknown>): void {
    const tail = sent.then(IGNORE, IGNORE);
    if (keys === undefined) {
      this.#barrier = tail;
      void tail.then(() => {
        if (this.#barrier === tail) this.#barrier = undefined;
      });
      return;
    }
    for (const key of keys) this.#tails.set(key, tail);
    void tail.then(() => {
      for (const key of keys) if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
  }

  /**
   * `value` once it has settled and every earlier operation on `keys` has been sent: for a write whose
   * value is still being encoded. What it waits for is fixed now, when the write is issued.
   */
  after<T>(keys: readonly string[], value: Promise<T>): Promise<T> {
    const prior = this.pending(keys);
    return prior === undefined ? value : Promise.all([value, prior]).then(([settled]) => settled);
  }

  /**
   * Runs `send` (which hands the operation to the backend synchronously and returns its promise) at
   * once when nothing on `keys` is pending, else once the earlier operations have been sent.
   */
  run<T>(keys: readonly string[] | undefined, send: () => Promise<T>): Promise<T> {
    const prior = this.pending(keys);
    if (prior === undefined) return send();
    return this.defer(
      keys,
      prior.then(() => ({ outcome: send() })),
    );
  }

  /**
   * Tracks an operation whose sending is deferred: `sending` settles when it has been handed to the
   * backend, with the backend's promise in a box (a bare promise would be awaited, not handed over).
   * Returns the backend's outcome.
   */
  defer<T>(keys: readonly string[] | undefined, sending: Promise<{ readonly outcome: Promise<T> }>): Promise<T> {
    this.track(keys, sending);
    return sending.then((sent) => sent.outcome);
  }
}
