import type { AsyncBackend, BackendCapabilities, BackendSetOptions } from "../backends/contract.js";

/** Options of {@link CoalescedBackend}. */
export interface CoalescedBackendOptions {
  /** Keys per batch at most: bounds one reply's size (64 values of 1 MB are one 64 MB reply). Default 64. */
  readonly maxBatch?: number;
  /**
   * Whether a failed batch was refused by the store as a whole (a key the ACL forbids, a slot migrating),
   * so that each key is worth asking on its own; a dropped connection is not (every key would fail the
   * same). Default: never.
   */
  readonly isBatchRefusal?: (error: unknown) => boolean;
}

interface Waiting<W> {
  readonly resolve: (value: W | undefined) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * A layer over any backend with a `getMany` that costs one round trip: the `get`s issued in one tick go
 * out as one `getMany` of their distinct keys. Under load many callers ask in the same tick (every reply
 * that arrives wakes a caller who asks again), and one multi-key read costs the server and the client far
 * less than n reads. Each distinct key is asked once however many callers wait for it (32 callers of one
 * 4 MB key would otherwise make the store send 128 MB). When the store refuses a batch as a whole, each
 * key is asked on its own, so that one key's trouble is not its batch's. Every other operation passes
 * through.
 *
 * Keys are gathered until `process.nextTick`, which runs after every promise callback of the current tick
 * and before a client writes to its socket (node-redis writes on `setImmediate`), or until a batch is full.
 *
 * @example
 * ```ts
 * const backend = new CoalescedBackend(store, { isBatchRefusal: (error) => isServerReply(error) });
 * const [a, b] = await Promise.all([backend.get("a"), backend.get("b")]); // one getMany(["a", "b"])
 * ```
 */
export class CoalescedBackend<W> implements AsyncBackend<W> {
  readonly #inner: AsyncBackend<W>;
  readonly #maxBatch: number;
  readonly #isBatchRefusal: (error: unknown) => boolean;
  #batch = new Map<string, Waiting<W>[]>();
  #size = 0;

  constructor(inner: AsyncBackend<W>, options: CoalescedBackendOptions = {}) {
    this.#inner = inner;
    this.#maxBatch = options.maxBatch ?? 64;
    this.#isBatchRefusal = options.isBatchRefusal ?? (() => false);
  }

  get capabilities(): BackendCapabilities<W> | undefined {
    return this.#inner.capabilities;
  }

  get(key: string): Promise<W | undefined> {
    return new Promise((resolve, reject) => {
      if (this.#size === 0) process.nextTick(this.#flush);
      else if (this.#size >= this.#maxBatch) this.#flush();
      this.#size++;
      const waiting = this.#batch.get(key);
      if (waiting === undefined) this.#batch.set(key, [{ resolve, reject }]);
      else waiting.push({ resolve, reject });
    });
  }

  readonly #flush = (): void => {
    if (this.#size === 0) return;
    const batch = this.#batch;
    this.#batch = new Map();
    this.#size = 0;
    const keys = [...batch.keys()];
    this.#inner.getMany(keys).then(
      (found) => {
        for (const [key, waiting] of batch) for (const { resolve } of waiting) resolve(found.get(key));
      },
      (error: unknown) => {
        if (keys.length === 1 || !this.#isBatchRefusal(error)) {
          for (const waiting of batch.values()) for (const { reject } of waiting) reject(error);
          return;
        }
        for (const [key, waiting] of batch) {
          this.#inner.get(key).then(
            (value) => {
              for (const { resolve } of waiting) resolve(value);
            },
            (keyError: unknown) => {
              for (const { reject } of waiting) reject(keyError);
            },
          );
        }
      },
    );
  };

  getMany(keys: readonly string[]): Promise<Map<string, W>> {
    return this.#inner.getMany(keys);
  }

  set(key: string, value: W, options: BackendSetOptions): Promise<boolean> {
    return this.#inner.set(key, value, options);
  }

  setMany(entries: readonly (readonly [string, W])[], timeToLive: number | undefined): Promise<void> {
    return this.#inner.setMany(entries, timeToLive);
  }

  expireIn(key: string, timeToLive: number | undefined): Promise<boolean> {
    return this.#inner.expireIn(key, timeToLive);
  }

  delete(key: string): Promise<boolean> {
    return this.#inner.delete(key);
  }

  deleteMany(keys: readonly string[]): Promise<number> {
    return this.#inner.deleteMany(keys);
  }

  has(key: string): Promise<boolean> {
    return this.#inner.has(key);
  }

  deleteIfUnchanged(key: string, value: W): Promise<boolean> {
    return this.#inner.deleteIfUnchanged?.(key, value) ?? Promise.resolve(false);
  }

  clear(prefix: string): Promise<void> {
    return this.#inner.clear(prefix);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
