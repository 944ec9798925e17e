/**
 * A key of a batch whose read failed on its own (on a cluster, the node of its slot failed while the
 * others answered): that key's callers get the error, the others their values.
 */
export class FailedRead {
  readonly error: unknown;
  constructor(error: unknown) {
    this.error = error;
  }
}

/** Options of {@link ReadBatcher}. */
export interface ReadBatcherOptions<T> {
  /** Reads one key (a lone key of a tick, or each key of a refused batch). */
  readonly readOne: (key: string) => Promise<T | undefined>;
  /**
   * Reads a batch: the values of `keys` in their order, `null` or `undefined` for an absent one, a
   * {@link FailedRead} for a key whose read failed apart from the others.
   */
  readonly readBatch: (keys: readonly string[]) => Promise<readonly (T | null | undefined | FailedRead)[]>;
  /** Keys per batch at most. Default 64. */
  readonly maxBatch?: number | undefined;
  /** Whether a failed batch was refused as a whole, so that each key is worth asking on its own. Default: never. */
  readonly isBatchRefusal?: ((error: unknown) => boolean) | undefined;
}

/**
 * The callers waiting for one key: their resolve and reject functions, in pairs (`[resolve, reject, resolve,
 * reject, …]`), so that a caller costs no object of its own on this hot path.
 */
type Waiting = ((outcome: unknown) => void)[];

/**
 * Gathers the reads of one tick into one batch of distinct keys: what {@link CoalescedBackend} does for
 * `get`, and the Redis backend for its watched reads. Keys are gathered until `process.nextTick`, which runs
 * after every promise callback of the current tick and before a client writes to its socket (node-redis
 * writes on `setImmediate`), or until a batch is full.
 *
 * @example
 * ```ts
 * const reads = new ReadBatcher({ readOne: (key) => store.get(key), readBatch: (keys) => store.mget(keys) });
 * const [a, b] = await Promise.all([reads.read("a"), reads.read("b")]); // one mget(["a", "b"])
 * ```
 */
export class ReadBatcher<T> {
  readonly #readOne: (key: string) => Promise<T | undefined>;
  readonly #readBatch: (keys: readonly string[]) => Promise<readonly (T | null | undefined | FailedRead)[]>;
  readonly #maxBatch: number;
  readonly #isBatchRefusal: (error: unknown) => boolean;
  #batch = new Map<string, Waiting>();

  constructor(options: ReadBatcherOptions<T>) {
    this.#readOne = options.readOne;
    this.#readBatch = options.readBatch;
    this.#maxBatch = options.maxBatch ?? 64;
    this.#isBatchRefusal = options.isBatchRefusal ?? (() => false);
  }

  /** The value of `key`, read in this tick's batch. */
  read(key: string): Promise<T | undefined> {
    return new Promise((resolve, reject) => {
      const settle = resolve as (outcome: unknown) => void;
      const waiting = this.#batch.get(key);
      // Another reader of a key already in the batch adds nothing to it: the bound is on distinct keys.
      if (waiting !== undefined) {
        waiting.push(settle, reject);
        return;
      }
      if (this.#batch.size === 0) process.nextTick(this.#flush);
      else if (this.#batch.size >= this.#maxBatch) this.#flush();
      this.#batch.set(key, [settle, reject]);
    });
  }

  readonly #flush = (): void => {
    if (this.#batch.size === 0) return;
    const batch = this.#batch;
    this.#batch = new Map();
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
        for (const waiting of batch.values()) {
          const value = values[index++];
          if (value instanceof FailedRead) fail(waiting, value.error);
          else answer(waiting, value ?? undefined);
        }
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
    this.#readOne(key).then(
      (value) => {
        answer(waiting, value);
      },
      (error: unknown) => {
        fail(waiting, error);
      },
    );
  }
}

function answer(waiting: Waiting, value: unknown): void {
  for (let index = 0; index < waiting.length; index += 2) waiting[index]?.(value);
}

function fail(waiting: Waiting, error: unknown): void {
  for (let index = 1; index < waiting.length; index += 2) waiting[index]?.(error);
}
