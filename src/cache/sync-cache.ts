import type { BackendScanPage, SyncBackend } from "../backends/contract.js";
import { KEYS_PAGE, listedKeys, scanPattern, type SyncKeysOptions } from "./key-listing.js";
import type { MemoryBackendOptions } from "../backends/memory/store.js";
import { DummyBackend } from "../backends/dummy/sync-backend.js";
import { MemoryBackend } from "../backends/memory/sync-backend.js";
import { fromUrl as syncBackendFromUrl } from "../backends/sync/registry.js";
import { type Duration, toTimeToLive } from "../duration.js";
import { quoteKey } from "../internal/quote-key.js";
import { CacheMissError, ConfigurationError } from "../errors.js";
import { NoopSerializer } from "../serializers/noop.js";
import { CacheBase } from "./cache-core.js";
import { UNDECODABLE } from "./codec.js";
import { type EntryMetadata, entryMetadata, hasTags, inGrace } from "./envelope.js";
import { SyncTagStates } from "../tags/sync-tag-states.js";
import { GONE } from "../tags/tag-state.js";
import { OPERATION_CHANNEL, type OperationName, tracing } from "../observability/channels.js";

import { checkedTags, type SyncGetOrSetOptions } from "./get-or-set-options.js";
import { checkOptions } from "../internal/options.js";
import { CACHE_FLAVOUR } from "./flavour.js";
import {
  backendSetOptions,
  checkCacheOptions,
  setManyTimeToLive,
  entryPairs,
  type CacheEntries,
  type CacheOptionsBase,
  type SetManyOptions,
  type SetOptions,
} from "./options.js";

/** Computes the value of a key for `SyncCache.getOrSet`. */
export type SyncFactory<V> = (context: { readonly key: string; readonly stale: V | undefined }) => V;

/** Options of {@link SyncCache}. */
export interface SyncCacheOptions<V> extends CacheOptionsBase<V> {
  /** A sync backend, or its URL (`"memory://"`, `"dummy://"`). */
  readonly backend: SyncBackend | string;
}

/** Options of the {@link SyncCache.memory} shortcut. */
export interface MemoryCacheOptions extends MemoryBackendOptions {
  /** Prepended to every key. */
  readonly prefix?: string;
}

/**
 * The synchronous cache: the same operations as `Cache`, returning values instead of promises. Meant
 * for in-process backends, scripts and CLIs.
 *
 * @typeParam V - The type of the cached values.
 * @example
 * ```ts
 * using cache = SyncCache.memory<number>();
 * cache.set("answer", 42);
 * cache.get("answer");        // 42
 * cache.getOrThrow("absent"); // throws CacheMissError
 * ```
 */
export class SyncCache<V = unknown> extends CacheBase<V, SyncBackend> implements Disposable {
  static {
    Object.defineProperty(this.prototype, CACHE_FLAVOUR, { value: "sync" });
  }

  /** @throws ConfigurationError for a bad backend or serializer URL. */
  /** The tags' states. */
  readonly #tags: SyncTagStates;
  /** Stale values `getOrSet` served (within grace, its factory failing): for the trace's `stale`. */
  #staleServed = 0;

  constructor(options: SyncCacheOptions<V>) {
    checkCacheOptions(options, "SyncCache");
    super(options, typeof options.backend === "string" ? syncBackendFromUrl(options.backend) : options.backend);
    this.#tags = new SyncTagStates(this.backend, this.core.prefix);
  }

  /**
   * A cache over a new memory backend that stores values as they are (`noop://`).
   *
   * @example
   * ```ts
   * const cache = SyncCache.memory<User>({ maxEntries: 1000 });
   * ```
   */
  static memory<V = unknown>(options: MemoryCacheOptions = {}): SyncCache<V> {
    const { prefix, ...backendOptions } = options;
    return new SyncCache<V>({
      backend: new MemoryBackend(backendOptions),
      serializer: new NoopSerializer<V>(),
      ...(prefix === undefined ? {} : { prefix }),
    });
  }

  /**
   * A cache that stores nothing: caching switched off.
   *
   * @example
   * ```ts
   * const cache = process.env.NO_CACHE ? SyncCache.dummy<User>() : SyncCache.memory<User>();
   * ```
   */
  static dummy<V = unknown>(): SyncCache<V> {
    return new SyncCache<V>({ backend: new DummyBackend(), serializer: new NoopSerializer<V>() });
  }

  /**
   * The value of `key`, or `fallback` (default `undefined`) when it is absent or expired.
   *
   * @throws BackendError when the store fails (unless `failedReads: "miss"`); SerializationError when the
   *   stored value cannot be decoded and `undecodableValues` is `"throw"` (otherwise that is a miss).
   */
  get(key: string): V | undefined;
  get<D>(key: string, fallback: D): V | D;
  get<D>(key: string, fallback?: D): V | D | undefined {
    return tracing() ? this.#traced("get", key, undefined, () => this.#get(key, fallback)) : this.#get(key, fallback);
  }

  #get<D>(key: string, fallback: D | undefined): V | D | undefined {
    const backendKey = this.core.backendKey(key);
    const counts = this.core.counts;
    const wire = this.#read("get", key, () => this.backend.get(backendKey), undefined);
    if (wire === undefined) {
      counts.misses++;
      return fallback;
    }
    // Text (most caches' values) needs no look further; a tagged entry's states decide first.
    if (typeof wire === "object" && wire !== null && hasTags(wire))
      return this.#getTagged(key, backendKey, wire, fallback);
    const value = this.core.decodeStored(key, wire);
    if (value !== UNDECODABLE) {
      counts.hits++;
      return value;
    }
    counts.misses++;
    this.#deleteUndecodable([[backendKey, wire]], key);
    return fallback;
  }

  /** The rest of a `get` that read a tagged entry: its tags' states decide, then it decodes. */
  #getTagged<D>(key: string, backendKey: string, stored: unknown, fallback: D | undefined): V | D | undefined {
    const counts = this.core.counts;
    const wire = this.#read("get", key, () => this.#admitted(backendKey, stored), undefined);
    if (wire === undefined) {
      counts.misses++;
      return fallback;
    }
    const value = this.core.decodeStored(key, wire);
    if (value !== UNDECODABLE) {
      counts.hits++;
      return value;
    }
    counts.misses++;
    this.#deleteUndecodable([[backendKey, stored]], key);
    return fallback;
  }

  /** Runs `run` inside the operation channel's trace when someone listens, else just runs it. */
  #traced<T>(operation: OperationName, key: string | undefined, keys: readonly string[] | undefined, run: () => T): T {
    if (!tracing()) return run();
    const context = this.core.traceContext(operation, key, keys);
    return OPERATION_CHANNEL.traceSync(() => {
      const counts = this.core.counts;
      const [hits, misses, stale] = [counts.hits, counts.misses, this.#staleServed];
      const result = run();
      // Synchronous: no other call ran meanwhile, so the counters tell this call's outcome.
      if (operation === "getMany") {
        context.hits = counts.hits - hits;
        context.misses = counts.misses - misses;
      } else if (operation === "get" || operation === "getOrSet") {
        context.hit = counts.hits > hits;
        context.tier = "backend";
        context.stale = this.#staleServed > stale;
      }
      return result;
    }, context);
  }

  /**
   * The value of `key` (the seed's `cache[key]`).
   *
   * @throws CacheMissError when the key is absent.
   */
  getOrThrow(key: string): V {
    const backendKey = this.core.backendKey(key);
    // getMany tells a stored `undefined` (noop://) from an absent key.
    const found = this.#read(
      "getOrThrow",
      key,
      () => this.#admittedMany(this.backend.getMany([backendKey])),
      new Map<string, unknown>(),
    );
    const value = found.has(backendKey) ? this.core.decodeStored(key, found.get(backendKey)) : UNDECODABLE;
    if (value !== UNDECODABLE) return value;
    if (found.has(backendKey)) this.#deleteUndecodable([[backendKey, found.get(backendKey)]], key);
    throw new CacheMissError(`no value for key ${quoteKey(key)}`, { key });
  }

  /**
   * The value of `key`, computed by `factory` and stored when there is none (or it is no longer fresh:
   * an entry that an async `Cache` wrote with `staleWhileRevalidate` or `grace` is recomputed here at
   * once, since a synchronous call has no background; its stale value is returned only when `factory`
   * throws within its grace).
   *
   * @throws what `factory` throws when there is no stale value to serve (nothing is stored then);
   *   `BackendError` when the read fails and `failedReads` is `"throw"`. A failed write is reported to
   *   `onError`, and the computed value still returned.
   * @example
   * ```ts
   * const config = cache.getOrSet("config", () => readConfig(), { timeToLive: "1m", tags: ["config"] });
   * ```
   */
  getOrSet(key: string, factory: SyncFactory<V>, options?: SyncGetOrSetOptions): V {
    return this.#traced("getOrSet", key, undefined, () => this.#getOrSet(key, factory, options));
  }

  #getOrSet(key: string, factory: SyncFactory<V>, options: SyncGetOrSetOptions | undefined): V {
    checkOptions(
      options,
      { what: "SyncCache.getOrSet()", known: ["timeToLive", "tags"], example: '{ timeToLive: "5m" }' },
      ConfigurationError,
    );
    const timeToLive = toTimeToLive(options?.timeToLive);
    const tags = checkedTags(options?.tags, "SyncCache.getOrSet()");
    if (typeof factory !== "function") {
      throw new TypeError(`getOrSet(key, factory, options) needs a factory function, got ${typeof factory}`);
    }
    const backendKey = this.core.backendKey(key);
    const wire = this.#read("getOrSet", key, () => this.#admitted(backendKey, this.backend.get(backendKey)), undefined);
    let stale: { value: V; metadata: EntryMetadata } | undefined;
    if (wire !== undefined) {
      const entry = this.core.decodeStoredEntry(key, wire);
      if (entry === UNDECODABLE) this.#deleteUndecodable([[backendKey, wire]], key);
      else if (Date.now() < entry.metadata.freshUntil) {
        this.core.counts.hits++;
        return entry.value;
      } else stale = entry;
    }
    let value: V;
    // The tags' states as they stand before the factory runs (a failure to read them: the value is not stored).
    let stamps: readonly string[] | undefined;
    try {
      stamps = this.#tags.stamps(tags);
    } catch (error) {
      this.core.policy.writeFailed("getOrSet", error, key, false);
    }
    const started = performance.now();
    try {
      value = factory({ key, stale: stale?.value });
    } catch (error) {
      if (stale !== undefined && inGrace(stale.metadata, Date.now())) {
        this.core.counts.hits++;
        this.#staleServed++;
        return stale.value;
      }
      this.core.counts.misses++;
      throw error;
    }
    this.core.counts.misses++;
    if (stamps === undefined) return value;
    try {
      let stored: unknown;
      if (tags.length === 0) stored = this.core.codec.encode(key, value);
      else {
        const metadata = entryMetadata(
          Date.now(),
          timeToLive,
          { staleWhileRevalidate: 0, grace: 0 },
          { fence: (stale?.metadata.fence ?? 0) + 1, computeMs: performance.now() - started, tags, stamps },
        );
        stored = this.core.codec.encodeEntry(key, value, metadata, this.backend.capabilities?.bytesOnly !== true);
      }
      this.backend.set(backendKey, stored, { timeToLive });
      this.core.counts.writes++;
    } catch (error) {
      // `undefined` is a result like any other, but some serializers (JSON) cannot hold it.
      if (value !== undefined || (error as { code?: unknown }).code !== "CACHETORY_SERIALIZATION") {
        this.core.policy.writeFailed("getOrSet", error, key, false);
      }
    }
    return value;
  }

  /** The present entries among `keys`, keyed by your keys (without the prefix). */
  getMany(...keys: string[]): Map<string, V> {
    return this.#traced("getMany", undefined, keys, () => this.#getMany(keys));
  }

  #getMany(keys: readonly string[]): Map<string, V> {
    const backendKeys = this.core.backendKeys(keys);
    if (backendKeys.length === 0) return new Map();
    const found = this.#read(
      "getMany",
      undefined,
      () => this.#admittedMany(this.backend.getMany(backendKeys)),
      new Map<string, unknown>(),
    );
    const { values, undecodable } = this.core.decodeMany(keys, backendKeys, found);
    if (undecodable.length > 0) this.#deleteUndecodable(undecodable.map((each) => [each, found.get(each)]));
    const counts = this.core.counts;
    for (const key of keys) {
      if (values.has(key)) counts.hits++;
      else counts.misses++;
    }
    return values;
  }

  /**
   * Stores `value` under `key`; `false` only when `ifNotExists` found the key present.
   *
   * @throws RangeError for an invalid `timeToLive`; SerializationError when the value cannot be encoded.
   */
  set(key: string, value: V, options?: SetOptions): boolean {
    return this.#traced("set", key, undefined, () => this.#set(key, value, options));
  }

  #set(key: string, value: V, options: SetOptions | undefined): boolean {
    const backendKey = this.core.backendKey(key);
    const setOptions = backendSetOptions(options);
    const tags = checkedTags(options?.tags, "set()");
    this.core.counts.writes++;
    if (tags.length === 0) {
      const wire = this.core.codec.encode(key, value);
      return this.#call("set", key, () => this.backend.set(backendKey, wire, setOptions));
    }
    // A failure to read the tags' states is the write's; one to encode is the value's (nothing written).
    const stamps = this.#call("set", key, () => this.#tags.stamps(tags));
    const wire = this.core.encodeTagged(key, value, setOptions.timeToLive, tags, stamps, this.#storesObjects);
    return this.#call("set", key, () => this.backend.set(backendKey, wire, setOptions));
  }

  /** Whether the backend stores any value (an envelope then stays an object, not copied into bytes). */
  get #storesObjects(): boolean {
    return this.backend.capabilities?.bytesOnly !== true;
  }

  /** Stores several entries with one expiry; every value is encoded before anything is written. */
  setMany(entries: CacheEntries<V>, options?: SetManyOptions): void {
    this.#traced("setMany", undefined, undefined, () => {
      this.#setMany(entries, options);
    });
  }

  #setMany(entries: CacheEntries<V>, options: SetManyOptions | undefined): void {
    const timeToLive = setManyTimeToLive(options);
    const tags = checkedTags(options?.tags, "setMany()");
    if (tags.length > 0) {
      const pairs = entryPairs(entries);
      if (pairs.length === 0) return;
      this.core.counts.writes += pairs.length;
      const stamps = this.#call("setMany", undefined, () => this.#tags.stamps(tags));
      const tagged = pairs.map(([key, value]): [string, unknown] => [
        this.core.backendKey(key),
        this.core.encodeTagged(key, value, timeToLive, tags, stamps, this.#storesObjects),
      ]);
      this.#call("setMany", undefined, () => {
        this.backend.setMany(tagged, timeToLive);
      });
      return;
    }
    const encoded = this.core.encodeMany(entries);
    if (encoded.length === 0) return;
    this.core.counts.writes += encoded.length;
    this.#call("setMany", undefined, () => {
      this.backend.setMany(encoded, timeToLive);
    });
  }

  /** Sets how long `key` lives from now, or with no duration makes it permanent; `false` when absent. */
  expireIn(key: string, timeToLive?: Duration | null): boolean {
    return this.#traced("expireIn", key, undefined, () => this.#expireIn(key, timeToLive));
  }

  #expireIn(key: string, timeToLive: Duration | null | undefined): boolean {
    const backendKey = this.core.backendKey(key);
    const milliseconds = toTimeToLive(timeToLive);
    return this.#call("expireIn", key, () => this.backend.expireIn(backendKey, milliseconds));
  }

  /** Removes `key`; whether it was present. */
  delete(key: string): boolean {
    return this.#traced("delete", key, undefined, () => this.#delete(key));
  }

  #delete(key: string): boolean {
    const backendKey = this.core.backendKey(key);
    this.core.counts.deletes++;
    return this.#call("delete", key, () => this.backend.delete(backendKey));
  }

  /** Removes several keys; how many distinct keys were present. */
  deleteMany(...keys: string[]): number {
    return this.#traced("deleteMany", undefined, keys, () => this.#deleteMany(keys));
  }

  #deleteMany(keys: readonly string[]): number {
    const backendKeys = this.core.backendKeys(keys);
    if (backendKeys.length === 0) return 0;
    this.core.counts.deletes += backendKeys.length;
    return this.#call("deleteMany", undefined, () => this.backend.deleteMany(backendKeys));
  }

  /** Whether `key` is present, without decoding its value. */
  /**
   * Makes every entry carrying one of `tags` gone, for every cache over the same store (see
   * `Cache.deleteByTag` and docs/tags.md): one write per tag, however many entries carry them.
   *
   * @example
   * ```ts
   * cache.set("user:7", user, { tags: ["org:1"] });
   * cache.deleteByTag("org:1"); // cache.get("user:7") is undefined
   * ```
   */
  deleteByTag(...tags: string[]): void {
    this.#traced("deleteByTag", undefined, undefined, () => {
      this.#invalidate(tags, "delete", "deleteByTag");
    });
  }

  /**
   * Makes every entry carrying one of `tags` stale from now (see `Cache.expireByTag`): `getOrSet`
   * recomputes it; a tagged `set` entry, having no stale window, reads as absent.
   *
   * @example
   * ```ts
   * cache.expireByTag("org:1");
   * ```
   */
  expireByTag(...tags: string[]): void {
    this.#traced("expireByTag", undefined, undefined, () => {
      this.#invalidate(tags, "expire", "expireByTag");
    });
  }

  #invalidate(tags: readonly string[], how: "delete" | "expire", operation: string): void {
    const checked = checkedTags(tags, `${operation}()`, Number.POSITIVE_INFINITY);
    this.core.assertOpen();
    this.#call(operation, undefined, () => {
      this.#tags.invalidate(checked, how);
    });
  }

  /**
   * A stored value as its reader is to see it: a tagged entry checked against its tags' states, one they
   * say is gone removed (only while it holds those bytes) and read as absent.
   */
  #admitted(backendKey: string, wire: unknown): unknown {
    if (!hasTags(wire)) return wire;
    const admitted = this.#tags.admit(wire);
    if (admitted !== GONE) return admitted;
    this.#discard(backendKey, wire);
    return undefined;
  }

  /** As {@link SyncCache.#admitted}, for the answer of a `getMany`. */
  #admittedMany(found: Map<string, unknown>): Map<string, unknown> {
    for (const [backendKey, wire] of found) {
      if (!hasTags(wire)) continue;
      const admitted = this.#admitted(backendKey, wire);
      if (admitted === undefined) found.delete(backendKey);
      else found.set(backendKey, admitted);
    }
    return found;
  }

  #discard(backendKey: string, wire: unknown): void {
    try {
      this.backend.deleteIfUnchanged?.(backendKey, wire);
    } catch {
      // Gone by its tags all the same.
    }
    this.core.confirmGone(backendKey, wire);
  }

  has(key: string): boolean {
    return this.#traced("has", key, undefined, () => this.#has(key));
  }

  /**
   * The milliseconds `key` has left (at least 1), `null` when it never expires, `undefined` when it is
   * absent.
   *
   * @example
   * ```ts
   * cache.set("user:1", user, { timeToLive: "1m" });
   * cache.ttl("user:1"); // about 60_000
   * ```
   */
  ttl(key: string): number | null | undefined {
    const backendKey = this.core.backendKey(key);
    return this.#read("ttl", key, () => this.backend.ttl(backendKey), undefined);
  }

  /**
   * This cache's keys (without its prefix), page by page from the backend, never all at once; as
   * `Cache.keys`. A failure throws, whatever `failedReads` says.
   *
   * @example
   * ```ts
   * for (const key of cache.keys({ match: "user:*" })) console.log(key);
   * ```
   */
  keys(options: SyncKeysOptions = {}): IterableIterator<string> {
    this.core.assertOpen();
    return this.#keys(scanPattern(this.core.prefix, options, "SyncCache"));
  }

  *#keys(match: string): IterableIterator<string> {
    let cursor = "0";
    do {
      let page: BackendScanPage;
      try {
        page = this.backend.scan(cursor, { match, count: KEYS_PAGE });
      } catch (cause) {
        throw this.core.policy.readFailed("keys", cause, undefined, false) ?? cause;
      }
      cursor = page.cursor;
      yield* listedKeys(this.core.prefix, page.keys);
    } while (cursor !== "0");
  }

  #has(key: string): boolean {
    const backendKey = this.core.backendKey(key);
    return this.#read("has", key, () => this.backend.has(backendKey), false);
  }

  /** With a prefix, deletes this cache's keys only; without one, empties the backend. */
  clear(): void {
    this.#traced("clear", undefined, undefined, () => {
      this.#clear();
    });
  }

  #clear(): void {
    this.core.assertOpen();
    this.#call("clear", undefined, () => {
      this.backend.clear(this.core.prefix);
    });
  }

  /** Closes the backend; idempotent. Later operations throw `CacheClosedError`. */
  close(): void {
    if (this.core.markClosed()) this.backend.close();
  }

  /** Runs one write or delete, turning its failure into a reported `BackendError` that names it. */
  #call<T>(operation: string, key: string | undefined, run: () => T): T {
    try {
      return run();
    } catch (cause) {
      throw this.core.policy.writeFailed(operation, cause, key);
    }
  }

  /** Runs one read; a failure is reported, then thrown or (with `failedReads: "miss"`) answered by `miss`. */
  #read<T>(operation: string, key: string | undefined, run: () => T, miss: T): T {
    try {
      return run();
    } catch (cause) {
      const error = this.core.policy.readFailed(operation, cause, key);
      if (error !== undefined) throw error;
      return miss;
    }
  }

  /**
   * Deletes entries that did not decode (when the policy says so), each only while it still holds the
   * bytes that failed (as `Cache` does). A failure is reported, not thrown.
   */
  #deleteUndecodable(entries: (readonly [string, unknown])[], key?: string): void {
    const backend = this.backend;
    if (!this.core.policy.deletesUndecodable || backend.deleteIfUnchanged === undefined) return;
    try {
      for (const [backendKey, wire] of entries) backend.deleteIfUnchanged(backendKey, wire);
    } catch (cause) {
      this.core.policy.writeFailed("delete of an undecodable value", cause, key, false);
    }
  }

  /** `using cache = SyncCache.memory()` closes the cache at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }
}
