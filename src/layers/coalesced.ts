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
  /**
   * Reads a batch: the values of `keys` in their order, `null` or `undefined` for an absent one. Default:
   * the wrapped backend's `getMany`. A store that can answer in order without a map (Redis's `MGET`) saves
   * the map per batch.
   */
  readonly readBatch?: (keys: readonly string[]) => Promise<readonly unknown[]>;
}

/**
 * The callers waiting for one key: their resolve and reject functions, in pairs (`[resolve, reject, resolve,
 * reject, …]`), so that a caller costs no object of its own on this hot path.
 */
type Waiting = ((outcome: unknown) => void)[];

/**
 * A layer over any backend with a `getMany` that costs one round trip: the `get`s issued in one tick go
 * out as one batch read (`getMany`, or the store's own `readBatch`) of their distinct keys. Under load many callers ask in the same tick (every reply
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
  readonly #readBatch: (keys: readonly string[]) => Promise<readonly unknown[]>;
  #batch = new Map<string, Waiting>();
  #size = 0;

  constructor(inner: AsyncBackend<W>, options: CoalescedBackendOptions = {}) {
    this.#inner = inner;
    this.#maxBatch = options.maxBatch ?? 64;
    this.#isBatchRefusal = options.isBatchRefusal ?? (() => false);
    this.#readBatch =
      options.readBatch ?? ((keys) => inner.getMany(keys).then((found) => keys.map((key) => found.get(key))));
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
      const settle = resolve as (outcome: unknown) => void;
      if (waiting === undefined) this.#batch.set(key, [settle, reject]);
      else waiting.push(settle, reject);
    });
  }

  readonly #flush = (): void => {
    if (this.#size === 0) return;
    const batch = this.#batch;
    this.#batch = new Map();
    this.#size = 0;
    if (batch.size === 1) {
      // A lone key (the common case at low load) is one read, without the map of a batch.
      for (const [key, waiting] of batch) this.#settleEach(key, waiting);
      return;
    }
    const keys = [...batch.keys()];
    this.#readBatch(keys).then(
      (values) => {
        // A map iterates in insertion order: the order of `keys`.
        let index = 0;
        for (const waiting of batch.values()) answer(waiting, values[index++] ?? undefined);
      },
      (error: unknown) => {
        if (!this.#isBatchRefusal(error)) {
          for (const waiting of batch.values()) fail(waiting, error);
          return;
        }
        for (const [key, waiting] of batch) this.#settleEach(key, waiting);
      },
    );
  };

  /** Reads one key on its own and answers everyone waiting for it. */
  #settleEach(key: string, waiting: Waiting): void {
    this.#inner.get(key).then(
      (value) => {
        answer(waiting, value);
      },
      (error: unknown) => {
        fail(waiting, error);
      },
    );
  }

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

function answer(waiting: Waiting, value: unknown): void {
  for (let index = 0; index < waiting.length; index += 2) waiting[index]?.(value);
}

function fail(waiting: Waiting, error: unknown): void {
  for (let index = 1; index < waiting.length; index += 2) waiting[index]?.(error);
}
