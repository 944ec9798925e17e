import { CacheTimeoutError } from "../errors.js";

interface Flight<T> {
  readonly promise: Promise<T>;
  /** Made before the computation starts, so that it can ask whether it is still the current one. */
  readonly identity: object;
}

/**
 * Concurrent calls with the same key share one computation: the first call (the leader) runs it, the
 * others wait for its result or its error. The flight ends when the computation settles, so the next
 * call after that starts afresh (a failure is never cached here).
 */
export class SingleFlight<T> {
  readonly #flights = new Map<string, Flight<T>>();
  readonly #waitTimeout: number | undefined;

  /** @param waitTimeout - Milliseconds a waiter waits before it fails and releases the flight. */
  constructor(waitTimeout: number | undefined) {
    this.#waitTimeout = waitTimeout;
  }

  /** How many computations are running. */
  get size(): number {
    return this.#flights.size;
  }

  /**
   * The result of `compute()`, shared with every call for `key` made while it runs. `compute` is told
   * `isCurrent`: whether its flight is still the one calls join (not {@link SingleFlight.forget}ten),
   * so that a computation overtaken by a purge does not store its result.
   */
  run(key: string, compute: (isCurrent: () => boolean) => Promise<T>): Promise<T> {
    const running = this.#flights.get(key);
    if (running !== undefined) return this.#wait(key, running);
    const identity = {};
    const promise = compute(() => this.#flights.get(key)?.identity === identity);
    const flight: Flight<T> = { promise, identity };
    this.#flights.set(key, flight);
    const end = (): void => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
    };
    promise.then(end, end);
    return promise;
  }

  /** Detaches the running computation of `key`: later calls start afresh, and it is no longer current. */
  forget(key: string): void {
    this.#flights.delete(key);
  }

  #wait(key: string, flight: Flight<T>): Promise<T> {
    const timeout = this.#waitTimeout;
    if (timeout === undefined) return flight.promise;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        // Release the flight, so that a later call computes afresh instead of waiting on a hung one.
        if (this.#flights.get(key) === flight) this.#flights.delete(key);
        reject(
          new CacheTimeoutError(
            `gave up after ${String(timeout)} ms waiting for the computation of key ${JSON.stringify(key)} that another call started`,
            { key },
          ),
        );
      }, timeout);
      // Waiters get the leader's own result or rejection reason, whatever it is.
      flight.promise
        .finally(() => {
          clearTimeout(timer);
        })
        .then(resolve, reject);
    });
  }
}
