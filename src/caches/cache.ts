import type { AsyncBackend } from "../backends/backend.js";
import { fromUrl as backendFromUrl } from "../backends/registry.js";
import { type Duration, toTimeToLive } from "../duration.js";
import { asError } from "../internal/error-kinds.js";
import { SyncBackendAdapter, syncBackendOf } from "../internal/sync-backend-adapter.js";
import {
  CacheBase,
  type CacheEntries,
  UNDECODABLE,
  type CacheOptionsBase,
  type SetManyOptions,
  type SetOptions,
} from "./cache-core.js";

/** The `get` of in-process backends, which `Cache.get` may call past (see there). */
// eslint-disable-next-line @typescript-eslint/unbound-method -- compared by identity, never called
const ADAPTER_GET: SyncBackendAdapter["get"] = SyncBackendAdapter.prototype.get;

/** Options of {@link Cache}. */
export interface CacheOptions<V> extends CacheOptionsBase<V> {
  /** An async backend, or its URL (`"memory://"`, `"dummy://"`). */
  readonly backend: AsyncBackend | string;
}

/**
 * The asynchronous cache: one API over any backend and any serializer chain, both configurable from
 * URLs. Every operation returns a promise; failures reject with a `CacheError` subclass.
 *
 * @typeParam V - The type of the cached values.
 * @example
 * ```ts
 * await using cache = new Cache<number>({ backend: "memory://", serializer: "json://", prefix: "app:" });
 * await cache.set("answer", 42, { timeToLive: "5m" });
 * await cache.get("answer");     // 42
 * await cache.get("absent", 0);  // 0
 * ```
 */
export class Cache<V = unknown> extends CacheBase<V, AsyncBackend> implements AsyncDisposable {
  /** @throws ConfigurationError for a bad backend or serializer URL. */
  constructor(options: CacheOptions<V>) {
    super(options, typeof options.backend === "string" ? backendFromUrl(options.backend) : options.backend);
  }

  /**
   * The value of `key`, or `fallback` (default `undefined`) when it is absent or expired.
   *
   * @throws BackendError when the store fails (unless `failedReads: "miss"`); SerializationError when the
   *   stored bytes cannot be decoded and `undecodableValues` is `"throw"` (otherwise that is a miss).
   */
  get(key: string): Promise<V | undefined>;
  get<D>(key: string, fallback: D): Promise<V | D>;
  get<D>(key: string, fallback?: D): Promise<V | D | undefined> {
    let backendKey: string;
    try {
      backendKey = this.core.backendKey(key);
    } catch (error) {
      return Promise.reject(asError(error));
    }
    // An in-process backend whose `get` is not overridden answers at once: no promise per layer.
    const local = this.backend.get === ADAPTER_GET ? syncBackendOf(this.backend) : undefined;
    if (local === undefined) return this.#getSlowly(key, backendKey, fallback);
    let wire: unknown;
    try {
      wire = local.get(backendKey);
    } catch {
      // A failed read: the slow path reads again and reports and decides by the policy.
      return this.#getSlowly(key, backendKey, fallback);
    }
    if (wire === undefined) return Promise.resolve(fallback);
    let value: V | typeof UNDECODABLE;
    try {
      value = this.core.decodeStored(key, wire);
    } catch (error) {
      return Promise.reject(asError(error));
    }
    if (value !== UNDECODABLE) return Promise.resolve(value);
    return this.#deleteUndecodable([backendKey], key).then(() => fallback);
  }

  async #getSlowly<D>(key: string, backendKey: string, fallback: D | undefined): Promise<V | D | undefined> {
    const wire = await this.#read("get", key, () => this.backend.get(backendKey), undefined);
    if (wire === undefined) return fallback;
    const value = this.core.decodeStored(key, wire);
    if (value !== UNDECODABLE) return value;
    await this.#deleteUndecodable([backendKey], key);
    return fallback;
  }

  /**
   * The present entries among `keys`, keyed by your keys (without the prefix), in one backend call.
   *
   * @example
   * ```ts
   * const found = await cache.getMany("a", "b", "c"); // Map { "a" => 1, "c" => 3 }
   * ```
   */
  async getMany(...keys: string[]): Promise<Map<string, V>> {
    const backendKeys = this.core.backendKeys(keys);
    if (backendKeys.length === 0) return new Map();
    const found = await this.#read("getMany", undefined, () => this.backend.getMany(backendKeys), new Map());
    const { values, undecodable } = this.core.decodeMany(keys, backendKeys, found);
    if (undecodable.length > 0) await this.#deleteUndecodable(undecodable);
    return values;
  }

  /**
   * Stores `value` under `key`; `false` only when `ifNotExists` found the key present.
   *
   * @throws RangeError for an invalid `timeToLive`; SerializationError when the value cannot be encoded
   *   (nothing is written then).
   * @example
   * ```ts
   * await cache.set("lock", 1, { timeToLive: "30s", ifNotExists: true }); // true, then false until it expires
   * ```
   */
  async set(key: string, value: V, options: SetOptions = {}): Promise<boolean> {
    const backendKey = this.core.backendKey(key);
    const timeToLive = toTimeToLive(options.timeToLive);
    const wire = this.core.encode(key, value);
    return await this.#call("set", key, () =>
      this.backend.set(backendKey, wire, { timeToLive, ifNotExists: options.ifNotExists === true }),
    );
  }

  /**
   * Stores several entries with one expiry, atomically where the backend can. Every value is encoded
   * before anything is written, so one unencodable value writes nothing.
   *
   * @example
   * ```ts
   * await cache.setMany({ a: 1, b: 2 }, { timeToLive: "1h" });
   * await cache.setMany(new Map([["c", 3]]));
   * ```
   */
  async setMany(entries: CacheEntries<V>, options: SetManyOptions = {}): Promise<void> {
    const timeToLive = toTimeToLive(options.timeToLive);
    const encoded = this.core.encodeMany(entries);
    if (encoded.length === 0) return;
    await this.#call("setMany", undefined, () => this.backend.setMany(encoded, timeToLive));
  }

  /**
   * Sets how long `key` lives from now, or with no duration makes it permanent; `false` when the key
   * is absent.
   *
   * @example
   * ```ts
   * await cache.expireIn("session", "15m");
   * await cache.expireIn("session"); // never expires
   * ```
   */
  async expireIn(key: string, timeToLive?: Duration | null): Promise<boolean> {
    const backendKey = this.core.backendKey(key);
    const milliseconds = toTimeToLive(timeToLive);
    return await this.#call("expireIn", key, () => this.backend.expireIn(backendKey, milliseconds));
  }

  /** Removes `key`; whether it was present. */
  async delete(key: string): Promise<boolean> {
    const backendKey = this.core.backendKey(key);
    return await this.#call("delete", key, () => this.backend.delete(backendKey));
  }

  /** Removes several keys; how many distinct keys were present. */
  async deleteMany(...keys: string[]): Promise<number> {
    const backendKeys = this.core.backendKeys(keys);
    if (backendKeys.length === 0) return 0;
    return await this.#call("deleteMany", undefined, () => this.backend.deleteMany(backendKeys));
  }

  /** Whether `key` is present, without transferring or decoding its value. */
  async has(key: string): Promise<boolean> {
    const backendKey = this.core.backendKey(key);
    return await this.#read("has", key, () => this.backend.has(backendKey), false);
  }

  /**
   * With a prefix, deletes this cache's keys only; without one, empties the backend (for Redis: the
   * selected database).
   */
  async clear(): Promise<void> {
    this.core.assertOpen();
    await this.#call("clear", undefined, () => this.backend.clear(this.core.prefix));
  }

  /** Closes the backend; idempotent. Later operations reject with `CacheClosedError`. */
  async close(): Promise<void> {
    if (this.core.markClosed()) await this.backend.close();
  }

  /** Runs one write or delete, turning its failure into a reported `BackendError` that names it. */
  async #call<T>(operation: string, key: string | undefined, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (cause) {
      throw this.core.writeFailed(operation, cause, key);
    }
  }

  /** Runs one read; a failure is reported, then thrown or (with `failedReads: "miss"`) answered by `miss`. */
  async #read<T>(operation: string, key: string | undefined, run: () => Promise<T>, miss: T): Promise<T> {
    try {
      return await run();
    } catch (cause) {
      const error = this.core.readFailed(operation, cause, key);
      if (error !== undefined) throw error;
      return miss;
    }
  }

  /** Deletes entries that did not decode (when the policy says so); a failure is reported, not thrown. */
  async #deleteUndecodable(backendKeys: string[], key?: string): Promise<void> {
    if (!this.core.deletesUndecodable) return;
    try {
      await this.backend.deleteMany(backendKeys);
    } catch (cause) {
      this.core.writeFailed("delete of an undecodable value", cause, key);
    }
  }

  /** `await using cache = new Cache(…)` closes the cache at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
