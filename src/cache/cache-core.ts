import { CacheClosedError, ConfigurationError, type SerializationError } from "../errors.js";
import { describeValue } from "../internal/options.js";
import { EVENT_CHANNELS, type OperationContext, type OperationName } from "../observability/channels.js";
import { type OperationCounts, OperationStats } from "../observability/operation-stats.js";
import type { Serializer } from "../serializers/contract.js";
import { Codec, UNDECODABLE } from "./codec.js";
import { type EntryMetadata, entryMetadata } from "./envelope.js";
import { type CacheStats, FailurePolicy } from "./failure-policy.js";
import { type CacheEntries, type CacheOptionsBase, entryPairs } from "./options.js";

const ABSENT: unique symbol = Symbol("cachetory.absent");

/**
 * The option by which a namespace's options carry the core of the cache it views (closed with it): a
 * symbol, so no caller passes it by accident, and no option check sees it.
 *
 * @internal
 */
export const PARENT_CORE: unique symbol = Symbol("cachetory.parentCore");

/**
 * The values of `getMany` keyed by the caller's keys, and the backend keys that did not decode;
 * `decode` answers one entry (or `ABSENT`). A key asked twice is decoded once.
 */
function collectDecoded<V>(
  keys: readonly string[],
  backendKeys: readonly string[],
  decode: (key: string, backendKey: string) => V | typeof UNDECODABLE | typeof ABSENT,
): { values: Map<string, V>; undecodable: string[] } {
  const values = new Map<string, V>();
  const undecodable: string[] = [];
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index] as string;
    const backendKey = backendKeys[index] as string;
    if (values.has(key) || (undecodable.length > 0 && undecodable.includes(backendKey))) continue;
    const value = decode(key, backendKey);
    if (value === UNDECODABLE) undecodable.push(backendKey);
    else if (value !== ABSENT) values.set(key, value);
  }
  return { values, undecodable };
}

/**
 * What traces call a backend: a URL's scheme without `://` (`"redis"` for `redis+cluster://` too), or an
 * object's class without `Backend` (`RedisBackend` → `"redis"`).
 */
function backendNameOf(backend: unknown): string {
  if (typeof backend === "string") return (backend.split("://")[0] ?? "").split("+")[0] ?? "";
  const className = (backend as { constructor?: { name?: unknown } } | undefined)?.constructor?.name;
  return typeof className === "string" && className !== "" ? className.replace(/Backend$/, "").toLowerCase() : "custom";
}

/**
 * The metadata of a tagged `set`: fresh for `timeToLive`, never stale. Fence 0: a computation of `getOrSet`
 * under a distributed lock may replace it once an `expireByTag` made it stale (a plain value, never
 * stale, is never replaced).
 */
function taggedMetadata(
  timeToLive: number | undefined,
  tags: readonly string[],
  stamps: readonly string[],
): EntryMetadata {
  return entryMetadata(Date.now(), timeToLive, NO_WINDOWS, { fence: 0, computeMs: 0, tags, stamps });
}

const NO_WINDOWS = { staleWhileRevalidate: 0, grace: 0 } as const;

/**
 * What the async `Cache` and the `SyncCache` share besides the backend calls: the keys (prefix, and the
 * closed state every key passes through), the {@link Codec} and the {@link FailurePolicy}, and the
 * decoding of stored values under that policy.
 */
export class CacheCore<V> {
  readonly prefix: string;
  readonly codec: Codec<V>;
  readonly policy: FailurePolicy;
  /** Hits, misses, writes and deletes, by key. */
  readonly counts: OperationStats = new OperationStats();
  /** The `cache` field of traces: the `name` option, or the backend's scheme. */
  readonly name: string;
  /** The `backend` field of traces: the scheme without `://`, or the backend object's class. */
  readonly backendName: string;
  /** Whether traces carry keys. */
  readonly traceKeys: boolean;
  #closed = false;
  /** For a namespace: the core of the cache it is a view of, closed with it. */
  readonly #parent: CacheCore<V> | undefined;

  constructor(options: CacheOptionsBase<V>) {
    this.#parent = (options as { [PARENT_CORE]?: CacheCore<V> })[PARENT_CORE];
    this.prefix = options.prefix ?? "";
    this.policy = new FailurePolicy(options, this.prefix);
    this.codec = new Codec(options.serializer, options.maxValueBytes, this.prefix);
    const parent = this.#parent;
    this.backendName = parent?.backendName ?? backendNameOf((options as { backend?: unknown }).backend);
    if (options.name !== undefined && (typeof options.name !== "string" || options.name === "")) {
      throw new ConfigurationError(`the name option must be a non-empty string, got ${describeValue(options.name)}`);
    }
    this.name = options.name ?? parent?.name ?? this.backendName;
    this.traceKeys = options.traceKeys === true;
  }

  /** The context of one traced operation: what it is, and its key(s) when traces carry keys. */
  traceContext(operation: OperationName, key?: string, keys?: readonly string[]): OperationContext {
    const context: OperationContext = { operation, cache: this.name, backend: this.backendName };
    if (this.traceKeys) {
      if (key !== undefined) context.key = key;
      if (keys !== undefined) context.keys = keys;
    }
    return context;
  }

  /** Whether the cache was closed. */
  get closed(): boolean {
    return this.#closed || (this.#parent !== undefined && this.#parent.closed);
  }

  /** Marks the cache closed; whether it was open. */
  markClosed(): boolean {
    const wasOpen = !this.#closed;
    this.#closed = true;
    return wasOpen;
  }

  /** The backend key of `key`; also the single place that checks the cache is open and the key valid. */
  backendKey(key: string): string {
    if (this.closed) throw new CacheClosedError("the cache is closed", { key });
    if (typeof key !== "string") throw new TypeError(`cache keys are strings, got ${typeof key}`);
    return this.prefix + key;
  }

  /** The backend keys of several keys. */
  backendKeys(keys: readonly string[]): string[] {
    return keys.map((key) => this.backendKey(key));
  }

  /** Checks that the cache is open, for operations without a key. */
  assertOpen(): void {
    if (this.closed) throw new CacheClosedError("the cache is closed");
  }

  /** Whether the serializer can work off the event loop (a chain with a compressor). */
  get serializesAsync(): boolean {
    return this.codec.serializesAsync;
  }

  /** A stored value that did not decode: told to the `cachetory:value.undecodable` channel, then to the policy. */
  #undecodable(error: SerializationError, key: string): void {
    if (EVENT_CHANNELS.undecodable.hasSubscribers) {
      EVENT_CHANNELS.undecodable.publish(
        this.traceKeys ? { cache: this.name, key, error } : { cache: this.name, error },
      );
    }
    this.policy.undecodableValue(error, key);
  }

  /**
   * For an entry its tags judged gone, once it is removed: a sealed cache checks its seal, so that a
   * corrupted entry is counted and reported as one (thrown in strict mode) rather than dropped unseen (a
   * flipped byte in a tag's name reads as another tag, whose state says gone).
   */
  confirmGone(backendKey: string, wire: unknown): void {
    if (!this.codec.sealed) return;
    const key = backendKey.slice(this.prefix.length);
    const error = this.codec.sealFailure(key, wire);
    if (error !== undefined) this.#undecodable(error, key);
  }

  /** Decodes a stored value; one that does not decode goes to the policy (thrown, or {@link UNDECODABLE}). */
  decodeStored(key: string, wire: unknown): V | typeof UNDECODABLE {
    try {
      return this.codec.decode(key, wire);
    } catch (error) {
      this.#undecodable(error as SerializationError, key);
      return UNDECODABLE;
    }
  }

  /** As {@link CacheCore.decodeStored}, through the serializer's `deserializeAsync` when it has one. */
  async decodeStoredAsync(key: string, wire: unknown): Promise<V | typeof UNDECODABLE> {
    try {
      return await this.codec.decodeAsync(key, wire);
    } catch (error) {
      this.#undecodable(error as SerializationError, key);
      return UNDECODABLE;
    }
  }

  /** As {@link CacheCore.decodeStored}, with the entry's metadata (see envelope.ts). */
  decodeStoredEntry(key: string, wire: unknown): { value: V; metadata: EntryMetadata } | typeof UNDECODABLE {
    try {
      return this.codec.decodeEntry(key, wire);
    } catch (error) {
      this.#undecodable(error as SerializationError, key);
      return UNDECODABLE;
    }
  }

  /** As {@link CacheCore.decodeStoredEntry}, through the serializer's `deserializeAsync` when it has one. */
  async decodeStoredEntryAsync(
    key: string,
    wire: unknown,
  ): Promise<{ value: V; metadata: EntryMetadata } | typeof UNDECODABLE> {
    try {
      return await this.codec.decodeEntryAsync(key, wire);
    } catch (error) {
      this.#undecodable(error as SerializationError, key);
      return UNDECODABLE;
    }
  }

  /**
   * Decodes a backend's `getMany` answer into a map keyed by the caller's keys; `undecodable` lists
   * the backend keys of the values that did not decode (and count as misses).
   */
  decodeMany(
    keys: readonly string[],
    backendKeys: readonly string[],
    found: ReadonlyMap<string, unknown>,
  ): { values: Map<string, V>; undecodable: string[] } {
    return collectDecoded(keys, backendKeys, (key, backendKey) =>
      found.has(backendKey) ? this.decodeStored(key, found.get(backendKey)) : ABSENT,
    );
  }

  /** As {@link CacheCore.decodeMany}, through the serializer's `deserializeAsync` when it has one. */
  async decodeManyAsync(
    keys: readonly string[],
    backendKeys: readonly string[],
    found: ReadonlyMap<string, unknown>,
  ): Promise<{ values: Map<string, V>; undecodable: string[] }> {
    if (!this.serializesAsync) return this.decodeMany(keys, backendKeys, found);
    const decoded = new Map<string, V | typeof UNDECODABLE>();
    for (const [index, key] of keys.entries()) {
      const backendKey = backendKeys[index] as string;
      if (found.has(backendKey) && !decoded.has(backendKey)) {
        decoded.set(backendKey, await this.decodeStoredAsync(key, found.get(backendKey)));
      }
    }
    return collectDecoded(keys, backendKeys, (_key, backendKey) =>
      decoded.has(backendKey) ? (decoded.get(backendKey) as V | typeof UNDECODABLE) : ABSENT,
    );
  }

  /**
   * A value written by `set` or `setMany` with tags: in an envelope stamped with its tags' states
   * (`stamps`), fresh for `timeToLive`, with no stale or grace window; as an object with `asObject`.
   *
   * @throws SerializationError naming the key when the value cannot be encoded.
   */
  encodeTagged(
    key: string,
    value: V,
    timeToLive: number | undefined,
    tags: readonly string[],
    stamps: readonly string[],
    asObject: boolean,
  ): unknown {
    return this.codec.encodeEntry(key, value, taggedMetadata(timeToLive, tags, stamps), asObject);
  }

  /** As {@link CacheCore.encodeTagged}, through the serializer's `serializeAsync` when it has one. */
  encodeTaggedAsync(
    key: string,
    value: V,
    timeToLive: number | undefined,
    tags: readonly string[],
    stamps: readonly string[],
    asObject: boolean,
  ): Promise<unknown> {
    return this.codec.encodeEntryAsync(key, value, taggedMetadata(timeToLive, tags, stamps), asObject);
  }

  /** Encodes `setMany` input into backend entries, in order. */
  encodeMany(entries: CacheEntries<V>): [string, unknown][] {
    return entryPairs(entries).map(([key, value]) => [this.backendKey(key), this.codec.encode(key, value)]);
  }

  /** As {@link CacheCore.encodeMany}, through the serializer's `serializeAsync` when it has one. */
  async encodeManyAsync(entries: CacheEntries<V>): Promise<[string, unknown][]> {
    if (!this.serializesAsync) return this.encodeMany(entries);
    return Promise.all(
      entryPairs(entries).map(async ([key, value]): Promise<[string, unknown]> => [
        this.backendKey(key),
        await this.codec.encodeAsync(key, value),
      ]),
    );
  }
}

/** What `cache.stats` counts on both flavours: the failures, and the reads and writes by key. */
export interface CacheCounts extends CacheStats, OperationCounts {}

/** What `Cache` and `SyncCache` share besides the backend calls. */
export abstract class CacheBase<V, B> {
  /** The backend in use. */
  readonly backend: B;
  /**
   * Prefixing, (de)serialization and the closed state.
   *
   * @internal
   */
  protected readonly core: CacheCore<V>;
  protected constructor(options: CacheOptionsBase<V>, backend: B) {
    this.core = new CacheCore(options);
    this.backend = backend;
  }

  /** The serializer in use. */
  get serializer(): Serializer<V> {
    return this.core.codec.serializer;
  }

  /** The prefix of every key in the backend (`""` for none). */
  get prefix(): string {
    return this.core.prefix;
  }

  /**
   * Reports a failure: to `onError` when the cache has one, else as a process warning (at most one
   * every 10 s, with the count of those held back). Each error is reported once, however often it is
   * handed in.
   *
   * @example
   * ```ts
   * try { await cache.set(key, value); } catch (error) { cache.reportError(error, "set", key); }
   * ```
   */
  reportError(error: unknown, operation: string, key?: string): void {
    this.core.policy.report(error, operation, key);
  }

  /**
   * Counters, as plain numbers: hits and misses by key (`nearHits` and `backendHits` by tier), `hitRatio`,
   * writes and deletes, and the failures met (failed reads and writes, values that did not decode).
   *
   * @example
   * ```ts
   * metrics.gauge("cache.hit_ratio", cache.stats.hitRatio);
   * metrics.gauge("cache.undecodable", cache.stats.undecodableValues);
   * ```
   */
  get stats(): CacheCounts {
    return { ...this.core.policy.stats, ...this.core.counts.counts };
  }

  /**
   * Sets every counter of `stats` back to zero (the near tier's own counters excepted: they describe the
   * tier, which other views share).
   *
   * @example
   * ```ts
   * const before = cache.stats.hits; cache.resetStats(); // cache.stats.hits === 0
   * ```
   */
  resetStats(): void {
    this.core.policy.resetStats();
    this.core.counts.reset();
  }
}
