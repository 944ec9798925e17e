import type {
  AsyncBackend,
  BackendCapabilities,
  BackendScanOptions,
  BackendScanPage,
  BackendSetOptions,
} from "../backends/contract.js";
import { ReadBatcher } from "./read-batcher.js";

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
   * Reads a batch: the values of `keys` in their order, `null` or `undefined` for an absent one, a
   * `FailedRead` for a key that failed apart from the others (read-batcher.ts). Default:
   * the wrapped backend's `getMany`. A store that can answer in order without a map (Redis's `MGET`) saves
   * the map per batch.
   */
  readonly readBatch?: (keys: readonly string[]) => Promise<readonly unknown[]>;
}

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
  readonly #reads: ReadBatcher<W>;

  constructor(inner: AsyncBackend<W>, options: CoalescedBackendOptions = {}) {
    this.#inner = inner;
    this.#reads = new ReadBatcher<W>({
      readOne: (key) => inner.get(key),
      readBatch: (options.readBatch ??
        ((keys) => inner.getMany(keys).then((found) => keys.map((key) => found.get(key))))) as (
        keys: readonly string[],
      ) => Promise<readonly (W | null | undefined)[]>,
      maxBatch: options.maxBatch,
      isBatchRefusal: options.isBatchRefusal,
    });
  }

  get capabilities(): BackendCapabilities<W> | undefined {
    return this.#inner.capabilities;
  }

  get(key: string): Promise<W | undefined> {
    return this.#reads.read(key);
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

  ttl(key: string): Promise<number | null | undefined> {
    return this.#inner.ttl(key);
  }

  scan(cursor: string, options: BackendScanOptions): Promise<BackendScanPage> {
    return this.#inner.scan(cursor, options);
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
