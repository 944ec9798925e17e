import type {
  AsyncBackend,
  BackendCapabilities,
  BackendScanOptions,
  BackendScanPage,
  BackendSetOptions,
  SyncBackend,
} from "./contract.js";

/* eslint-disable @typescript-eslint/require-await -- `async` is what turns a synchronous throw into a rejection. */
/**
 * Offers a synchronous in-process backend through the asynchronous contract, declaring it as the
 * `synchronous` capability so that the async `Cache` reads and writes it without a promise. The built-in
 * in-process backends are written once, synchronously, and their async flavours extend this. A synchronous
 * throw becomes a rejection.
 *
 * @example
 * ```ts
 * const backend = new SyncBackendAdapter(mySyncLruBackend);
 * const cache = new Cache({ backend, serializer: "noop://" });
 * ```
 */
export class SyncBackendAdapter<W = unknown> implements AsyncBackend<W> {
  readonly #sync: SyncBackend<W>;
  /** The wrapped backend as `synchronous`; the rest as it declares. */
  readonly capabilities: BackendCapabilities<W>;

  constructor(sync: SyncBackend<W>) {
    this.#sync = sync;
    this.capabilities = { atomicBatches: "all", ...sync.capabilities, synchronous: sync };
  }

  async get(key: string): Promise<W | undefined> {
    return this.#sync.get(key);
  }

  async getMany(keys: readonly string[]): Promise<Map<string, W>> {
    return this.#sync.getMany(keys);
  }

  async set(key: string, value: W, options: BackendSetOptions): Promise<boolean> {
    return this.#sync.set(key, value, options);
  }

  async setMany(entries: readonly (readonly [string, W])[], timeToLive: number | undefined): Promise<void> {
    this.#sync.setMany(entries, timeToLive);
  }

  async expireIn(key: string, timeToLive: number | undefined): Promise<boolean> {
    return this.#sync.expireIn(key, timeToLive);
  }

  async delete(key: string): Promise<boolean> {
    return this.#sync.delete(key);
  }

  async deleteMany(keys: readonly string[]): Promise<number> {
    return this.#sync.deleteMany(keys);
  }

  async has(key: string): Promise<boolean> {
    return this.#sync.has(key);
  }

  async ttl(key: string): Promise<number | null | undefined> {
    return this.#sync.ttl(key);
  }

  async scan(cursor: string, options: BackendScanOptions): Promise<BackendScanPage> {
    return this.#sync.scan(cursor, options);
  }

  async deleteIfUnchanged(key: string, value: W): Promise<boolean> {
    return this.#sync.deleteIfUnchanged?.(key, value) ?? false;
  }

  async clear(prefix: string): Promise<void> {
    this.#sync.clear(prefix);
  }

  async close(): Promise<void> {
    this.#sync.close();
  }
}
