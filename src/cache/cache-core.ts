import type { BackendSetOptions } from "../backends/contract.js";
import { type Duration, toTimeToLive } from "../duration.js";
import {
  BackendError,
  CacheClosedError,
  type CacheErrorOptions,
  ConfigurationError,
  SerializationError,
} from "../errors.js";
import { isCachetoryError } from "../internal/error-kinds.js";
import { checkConfiguration, checkOptions, describeValue, type OptionsShape } from "../internal/options.js";
import { quoteKey } from "../internal/quote-key.js";
import { fromUrl as serializerFromUrl } from "../serializers/registry.js";
import type { Serializer } from "../serializers/contract.js";

/** Options of `set`. */
export interface SetOptions {
  /** How long the entry lives; `null`/`undefined` for no expiry. */
  readonly timeToLive?: Duration | null | undefined;
  /** Store only when the key is absent; `set` then returns `false` if it was present. */
  readonly ifNotExists?: boolean | undefined;
}

/** Options of `setMany`. */
export interface SetManyOptions {
  /** How long every entry lives; `null`/`undefined` for no expiry. */
  readonly timeToLive?: Duration | null | undefined;
}

/** What `setMany` accepts: a plain object, a `Map`, or any iterable of `[key, value]` pairs. */
export type CacheEntries<V> = Readonly<Record<string, V>> | ReadonlyMap<string, V> | Iterable<readonly [string, V]>;

/** What {@link CacheOptionsBase.onError} is told besides the error. */
export interface CacheErrorEvent {
  /** The cache operation that failed: `"get"`, `"set"`, … */
  readonly operation: string;
  /** The key (as the caller gave it), when there was one. */
  readonly key: string | undefined;
}

/** How often, at most, a cache without `onError` turns absorbed failures into a process warning. */
const WARNING_INTERVAL_MS = 10_000;

/** What both cache flavours accept besides their backend. */
export interface CacheOptionsBase<V> {
  /** A serializer, or its URL (`"json://"`, `"msgpack+zstd://?compression-level=3"`). */
  readonly serializer: Serializer<V> | string;
  /**
   * Prepended to every key in the backend, so caches can share one store: `"app:"`. `getMany`
   * still answers with your keys, and `clear()` then deletes only this cache's keys.
   */
  readonly prefix?: string;
  /**
   * Receives every failure once: those thrown to the caller, and those cachetory absorbs (a memoized
   * function whose cache fails still returns its result; `failedReads: "miss"`). It may be async: a
   * promise it returns that rejects is reported as a warning, never left unhandled. Without it, only
   * the absorbed failures (the ones no caller saw) become process warnings (`CachetoryWarning`), at
   * most one every 10 s per cache.
   *
   * @example
   * ```ts
   * new Cache({ backend, serializer: "json://", onError: (error, { operation, key }) => log.warn({ error, operation, key }) });
   * ```
   */
  readonly onError?: (error: Error, event: CacheErrorEvent) => unknown;
  /**
   * What a read (`get`, `getMany`, `has`, `getOrThrow`) does when the backend fails: `"throw"`
   * (default) rejects with the `BackendError`; `"miss"` answers as if the key were absent. Either way
   * the failure goes to `onError`. Writes and deletes always throw.
   */
  readonly failedReads?: "throw" | "miss";
  /**
   * What a read does with a stored value that does not decode (corrupt bytes, another serializer's
   * format): `"delete"` (default) answers a miss and deletes the entry, `"keep"` answers a miss, and
   * `"throw"` (strict) throws a `SerializationError` naming the key. Each one is counted and reported.
   */
  readonly undecodableValues?: "delete" | "keep" | "throw";
  /**
   * The largest serialized value `set` and `setMany` store, in bytes (text counted as UTF-8); a larger
   * one is a `SerializationError` naming the key, and nothing is written. Default: no limit here (the
   * backend's own, such as Redis's `proto-max-bulk-len`, still applies).
   */
  readonly maxValueBytes?: number;
}

const SET_OPTIONS: OptionsShape = {
  what: "set()",
  known: ["timeToLive", "ifNotExists"],
  example: '{ timeToLive: "5m" } or { timeToLive: 300_000, ifNotExists: true }',
};
const SET_MANY_OPTIONS: OptionsShape = { what: "setMany()", known: ["timeToLive"], example: '{ timeToLive: "5m" }' };

/**
 * The backend options of a `set`, from the caller's (checked, for callers without types).
 *
 * @throws TypeError for a non-object or an unknown option (`set(k, v, 5000)`, `{ ttl: 5000 }`);
 *   RangeError for an invalid `timeToLive`.
 */
export function backendSetOptions(options: SetOptions | undefined): BackendSetOptions {
  checkOptions(options, SET_OPTIONS);
  return { timeToLive: toTimeToLive(options?.timeToLive), ifNotExists: options?.ifNotExists === true };
}

/**
 * The time to live of a `setMany`, from the caller's options (checked as {@link backendSetOptions}).
 *
 * @throws TypeError for a non-object or an unknown option; RangeError for an invalid `timeToLive`.
 */
export function setManyTimeToLive(options: SetManyOptions | undefined): number | undefined {
  checkOptions(options, SET_MANY_OPTIONS);
  return toTimeToLive(options?.timeToLive);
}

/** The option names of `Cache` and `SyncCache`. */
const CACHE_OPTION_NAMES = [
  "backend",
  "serializer",
  "prefix",
  "onError",
  "failedReads",
  "undecodableValues",
  "maxValueBytes",
] as const;

const BACKEND_OPERATIONS = [
  "get",
  "getMany",
  "set",
  "setMany",
  "expireIn",
  "delete",
  "deleteMany",
  "has",
  "clear",
  "close",
] as const;

function missingMethods(value: object, names: readonly string[]): string[] {
  return names.filter((name) => typeof (value as Record<string, unknown>)[name] !== "function");
}

/**
 * Checks the options of a cache constructor before anything is built, for callers without types: an
 * unset environment variable as the backend, a missing serializer, a string as `onError`.
 *
 * @throws ConfigurationError naming the option, what it got, and what it takes.
 */
export function checkCacheOptions(options: unknown, what: "Cache" | "SyncCache"): void {
  const example = '{ backend: "memory://", serializer: "json://" }';
  if (options === undefined) throw new ConfigurationError(`new ${what}() needs options such as ${example}`);
  checkConfiguration(options, { what: `new ${what}()`, known: CACHE_OPTION_NAMES, example });
  const { backend, serializer, onError, prefix } = options as Record<string, unknown>;
  if (typeof backend !== "string") {
    if (typeof backend !== "object" || backend === null) {
      throw new ConfigurationError(
        `the backend option of ${what} must be a URL such as "memory://" or "redis://host:6379/0", or a backend object; got ${describeValue(backend)}${backend === undefined ? " (an unset environment variable?)" : ""}`,
      );
    }
    const missing = missingMethods(backend, BACKEND_OPERATIONS);
    if (missing.length > 0) {
      throw new ConfigurationError(
        `the backend option of ${what} is an object without ${missing.map((name) => `${name}()`).join(", ")}: not a backend`,
      );
    }
  }
  if (typeof serializer !== "string") {
    if (typeof serializer !== "object" || serializer === null) {
      throw new ConfigurationError(
        `the serializer option of ${what} must be a URL such as "json://" or "msgpack+zstd://", or a serializer object; got ${describeValue(serializer)}`,
      );
    }
    const missing = missingMethods(serializer, ["serialize", "deserialize"]);
    if (missing.length > 0) {
      throw new ConfigurationError(
        `the serializer option of ${what} is an object without ${missing.map((name) => `${name}()`).join(", ")}: not a serializer`,
      );
    }
  }
  if (onError !== undefined && typeof onError !== "function") {
    throw new ConfigurationError(
      `the onError option of ${what} must be a function (error, { operation, key }) => void, got ${describeValue(onError)}`,
    );
  }
  if (prefix !== undefined && typeof prefix !== "string") {
    throw new ConfigurationError(`the prefix option of ${what} must be a string, got ${describeValue(prefix)}`);
  }
}

/** Counters of the failures a cache has met since it was built. */
export interface CacheStats {
  /** Reads whose backend call failed (thrown or answered as a miss). */
  readonly failedReads: number;
  /** Writes and deletes whose backend call failed. */
  readonly failedWrites: number;
  /** Stored values that did not decode. */
  readonly undecodableValues: number;
}

/** Returned by {@link CacheCore.decodeStored} for a value that did not decode and counts as a miss. */
export const UNDECODABLE: unique symbol = Symbol("cachetory.undecodable");

/** The entries of `setMany` input (an iterable of pairs, or a plain object) as an array. */
export function entryPairs<V>(entries: CacheEntries<V>): (readonly [string, V])[] {
  return Symbol.iterator in entries ? [...(entries as Iterable<readonly [string, V]>)] : Object.entries(entries);
}

const ABSENT: unique symbol = Symbol("cachetory.absent");

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
 * A string option that must be one of `allowed` (the first is the default); checked at run time too,
 * for callers without types.
 *
 * @throws ConfigurationError naming the option and the allowed values.
 */
function choice<T extends string>(name: string, value: T | undefined, allowed: readonly [T, ...T[]]): T {
  if (value === undefined) return allowed[0];
  if (!allowed.includes(value)) {
    throw new ConfigurationError(
      `${name} must be ${allowed.map((item) => JSON.stringify(item)).join(" or ")}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** The cause's own message, for appending to ours. */
function causeMessage(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * What the async `Cache` and the `SyncCache` share: key prefixing, (de)serialization with errors that
 * name the key, argument normalisation and the closed state. Only the backend calls differ.
 */
export class CacheCore<V> {
  readonly serializer: Serializer<V>;
  readonly prefix: string;
  readonly #serializerName: string;
  #closed = false;
  readonly #onError: ((error: Error, event: CacheErrorEvent) => unknown) | undefined;
  readonly #readsMiss: boolean;
  readonly #undecodable: "delete" | "keep" | "throw";
  readonly #reported = new WeakSet();
  readonly #warned = new WeakSet();
  readonly #translations = new WeakMap<Error, Error>();
  readonly #inCallerTerms = new WeakSet<Error>();
  readonly #maxValueBytes: number;
  readonly #stats = { failedReads: 0, failedWrites: 0, undecodableValues: 0 };
  #lastWarningAt = Number.NEGATIVE_INFINITY;
  #heldBackWarnings = 0;

  constructor(options: CacheOptionsBase<V>) {
    this.#onError = options.onError;
    this.#readsMiss = choice("failedReads", options.failedReads, ["throw", "miss"]) === "miss";
    this.#undecodable = choice("undecodableValues", options.undecodableValues, ["delete", "keep", "throw"]);
    const maxValueBytes = options.maxValueBytes ?? Number.POSITIVE_INFINITY;
    if (!(maxValueBytes >= 1) || (Number.isFinite(maxValueBytes) && !Number.isSafeInteger(maxValueBytes))) {
      throw new ConfigurationError(`maxValueBytes must be a positive integer, got ${String(options.maxValueBytes)}`);
    }
    this.#maxValueBytes = maxValueBytes;
    if (typeof options.serializer === "string") {
      this.serializer = serializerFromUrl<V>(options.serializer);
      this.#serializerName = options.serializer.split("?")[0] ?? options.serializer;
    } else {
      this.serializer = options.serializer;
      this.#serializerName = options.serializer.constructor.name;
    }
    this.prefix = options.prefix ?? "";
  }

  /** Whether the cache was closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Marks the cache closed; whether it was open. */
  markClosed(): boolean {
    const wasOpen = !this.#closed;
    this.#closed = true;
    return wasOpen;
  }

  /** The backend key of `key`; also the single place that checks the cache is open and the key valid. */
  backendKey(key: string): string {
    if (this.#closed) throw new CacheClosedError("the cache is closed", { key });
    if (typeof key !== "string") throw new TypeError(`cache keys are strings, got ${typeof key}`);
    return this.prefix + key;
  }

  /** The backend keys of several keys. */
  backendKeys(keys: readonly string[]): string[] {
    return keys.map((key) => this.backendKey(key));
  }

  /** Checks that the cache is open, for operations without a key. */
  assertOpen(): void {
    if (this.#closed) throw new CacheClosedError("the cache is closed");
  }

  encode(key: string, value: V): unknown {
    let wire: unknown;
    try {
      wire = this.serializer.serialize(value);
    } catch (cause) {
      throw this.#unencodable(key, cause);
    }
    return this.#checkSize(key, wire);
  }

  /** Whether the serializer can work off the event loop (a chain with a compressor). */
  get serializesAsync(): boolean {
    return this.serializer.serializeAsync !== undefined;
  }

  /** As {@link CacheCore.encode}, through the serializer's `serializeAsync` when it has one. */
  async encodeAsync(key: string, value: V): Promise<unknown> {
    if (this.serializer.serializeAsync === undefined) return this.encode(key, value);
    let wire: unknown;
    try {
      wire = await this.serializer.serializeAsync(value);
    } catch (cause) {
      throw this.#unencodable(key, cause);
    }
    return this.#checkSize(key, wire);
  }

  #unencodable(key: string, cause: unknown): SerializationError {
    return new SerializationError(
      `cannot serialize the value of key ${quoteKey(key)} with ${this.#serializerName}: ${causeMessage(cause)}`,
      { key, cause },
    );
  }

  #checkSize(key: string, wire: unknown): unknown {
    if (this.#maxValueBytes !== Number.POSITIVE_INFINITY) {
      const size =
        typeof wire === "string" ? Buffer.byteLength(wire) : wire instanceof Uint8Array ? wire.byteLength : 0;
      if (size > this.#maxValueBytes) {
        throw new SerializationError(
          `the value of key ${quoteKey(key)} is ${String(size)} bytes serialized, over maxValueBytes (${String(this.#maxValueBytes)}); nothing was written`,
          { key },
        );
      }
    }
    return wire;
  }

  /**
   * Decodes a stored value. One that does not decode is counted and reported, then thrown (policy
   * `"throw"`) or answered as {@link UNDECODABLE}, a miss.
   */
  decodeStored(key: string, wire: unknown): V | typeof UNDECODABLE {
    try {
      return this.serializer.deserialize(wire);
    } catch (cause) {
      return this.#undecodableValue(key, cause);
    }
  }

  /** As {@link CacheCore.decodeStored}, through the serializer's `deserializeAsync` when it has one. */
  async decodeStoredAsync(key: string, wire: unknown): Promise<V | typeof UNDECODABLE> {
    if (this.serializer.deserializeAsync === undefined) return this.decodeStored(key, wire);
    try {
      return await this.serializer.deserializeAsync(wire);
    } catch (cause) {
      return this.#undecodableValue(key, cause);
    }
  }

  #undecodableValue(key: string, cause: unknown): typeof UNDECODABLE {
    const error = new SerializationError(
      `cannot deserialize the stored value of key ${quoteKey(key)} with ${this.#serializerName}: ${causeMessage(cause)}`,
      { key, cause },
    );
    this.#stats.undecodableValues++;
    this.report(error, "get", key, this.#undecodable === "throw");
    if (this.#undecodable === "throw") throw error;
    return UNDECODABLE;
  }

  /** Decodes without counting or reporting a failure (the caller then takes the reporting path). */
  decodeQuietly(wire: unknown): V | typeof UNDECODABLE {
    try {
      return this.serializer.deserialize(wire);
    } catch {
      return UNDECODABLE;
    }
  }

  /** Whether undecodable entries are deleted when met. */
  get deletesUndecodable(): boolean {
    return this.#undecodable === "delete";
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

  /** Encodes `setMany` input into backend entries, in order. */
  encodeMany(entries: CacheEntries<V>): [string, unknown][] {
    return entryPairs(entries).map(([key, value]) => [this.backendKey(key), this.encode(key, value)]);
  }

  /** As {@link CacheCore.encodeMany}, through the serializer's `serializeAsync` when it has one. */
  async encodeManyAsync(entries: CacheEntries<V>): Promise<[string, unknown][]> {
    if (!this.serializesAsync) return this.encodeMany(entries);
    return Promise.all(
      entryPairs(entries).map(async ([key, value]): Promise<[string, unknown]> => [
        this.backendKey(key),
        await this.encodeAsync(key, value),
      ]),
    );
  }

  /**
   * Wraps a failure of the backend in a `BackendError`. cachetory's own errors pass through, in the
   * caller's terms: a backend names the prefixed key, the caller knows only its own.
   */
  backendFailure(operation: string, cause: unknown, key?: string): Error {
    if (isCachetoryError(cause)) return this.#withCallerKey(cause);
    return new BackendError(
      `${operation}${key === undefined ? "" : ` of key ${quoteKey(key)}`} failed: ${causeMessage(cause)}`,
      { key, cause },
    );
  }

  /**
   * The same error with the caller's key (the prefix taken off `key` and off the key quoted in the
   * message), as an error of the same class; one translation per error, so reporting stays once.
   */
  #withCallerKey(error: Error & { code: string }): Error {
    const backendKey = (error as { key?: unknown }).key;
    if (this.prefix === "" || typeof backendKey !== "string" || !backendKey.startsWith(this.prefix)) return error;
    if (this.#inCallerTerms.has(error)) return error;
    let translated = this.#translations.get(error);
    if (translated === undefined) {
      const key = backendKey.slice(this.prefix.length);
      const message = error.message.replaceAll(quoteKey(backendKey), quoteKey(key));
      const ErrorClass = error.constructor as new (message: string, options: CacheErrorOptions) => Error;
      translated = new ErrorClass(message, { key, ...("cause" in error ? { cause: error.cause } : {}) });
      this.#translations.set(error, translated);
      this.#inCallerTerms.add(translated);
    }
    return translated;
  }

  /**
   * A failed read: counted and reported, then the error to throw, or `undefined` when the policy makes
   * it a miss.
   */
  readFailed(operation: string, cause: unknown, key?: string): Error | undefined {
    const error = this.backendFailure(operation, cause, key);
    // A closed cache is the caller's mistake, not the store's: always thrown, never counted.
    if ((error as { code?: unknown }).code === "CACHETORY_CACHE_CLOSED") return error;
    this.#stats.failedReads++;
    this.report(error, operation, key, !this.#readsMiss);
    return this.#readsMiss ? undefined : error;
  }

  /**
   * A failed write or delete: counted and reported, then the error to throw.
   *
   * @param thrown - Whether the caller is handed the error (`false` for work nobody awaits).
   */
  writeFailed(operation: string, cause: unknown, key?: string, thrown = true): Error {
    const error = this.backendFailure(operation, cause, key);
    if ((error as { code?: unknown }).code !== "CACHETORY_CACHE_CLOSED") {
      this.#stats.failedWrites++;
      this.report(error, operation, key, thrown);
    }
    return error;
  }

  /** A snapshot of the failure counters. */
  get stats(): CacheStats {
    return { ...this.#stats };
  }

  /**
   * Hands a failure to `onError` (each error once), or without a handler turns it into a rate-limited
   * process warning, but only when the caller was not handed the error itself: a rejection the caller
   * sees needs no second report, while an absorbed one would otherwise go unnoticed.
   *
   * @param thrown - Whether this failure reaches the caller as a rejection or exception.
   */
  report(cause: unknown, operation: string, key?: string, thrown = false): void {
    const failure = this.backendFailure(operation, cause, key);
    if (this.#onError === undefined) {
      if (thrown || this.#warned.has(failure)) return;
      this.#warned.add(failure);
      this.#warn(failure);
      return;
    }
    if (this.#reported.has(failure)) return;
    this.#reported.add(failure);
    try {
      const handled: unknown = this.#onError(failure, { operation, key });
      // An async handler that rejects must not become an unhandled rejection that ends the process.
      if (typeof (handled as PromiseLike<unknown> | undefined)?.then === "function") {
        (handled as PromiseLike<unknown>).then(undefined, (handlerError: unknown) => {
          this.#warnOnce(handlerError, failure);
        });
      }
    } catch (handlerError) {
      // A failing handler must not break the call it reports on; it is reported the default way.
      this.#warnOnce(handlerError, failure);
    }
  }

  #warnOnce(handlerError: unknown, failure: Error): void {
    const error = handlerError instanceof Error ? handlerError : failure;
    if (this.#warned.has(error)) return;
    this.#warned.add(error);
    this.#warn(error);
  }

  #warn(error: Error): void {
    const now = performance.now();
    if (now - this.#lastWarningAt < WARNING_INTERVAL_MS) {
      this.#heldBackWarnings++;
      return;
    }
    const heldBack = this.#heldBackWarnings;
    this.#lastWarningAt = now;
    this.#heldBackWarnings = 0;
    const more = heldBack > 0 ? ` (and ${String(heldBack)} more failures in the last 10 s)` : "";
    process.emitWarning(`${error.message}${more}`, {
      type: "CachetoryWarning",
      code: (error as { code?: string }).code,
    });
  }
}

/**
 * Which flavour a cache is (`"async"` or `"sync"`), on each class's prototype. A symbol from the global
 * registry, so that it reads the same across the ESM and CommonJS copies, where `instanceof` does not.
 */
export const CACHE_FLAVOUR: unique symbol = Symbol.for("cachetory.cacheFlavour");

/**
 * Checks that `cache` is of the flavour a memoizer needs; `null` (skip caching) passes.
 *
 * @throws ConfigurationError naming what was given and the memoizer to use instead.
 */
export function requireFlavour<C>(cache: C, flavour: "async" | "sync", memoizer: string): C {
  if (cache === null) return cache;
  const given = (cache as { [CACHE_FLAVOUR]?: unknown } | undefined)?.[CACHE_FLAVOUR];
  if (given === flavour) return cache;
  const what =
    given === "async"
      ? "an async Cache"
      : given === "sync"
        ? "a SyncCache"
        : `${typeof cache === "object" ? "an object" : `a ${typeof cache}`} that is not a cache`;
  const instead = given === "async" ? " (use cached())" : given === "sync" ? " (use cachedSync())" : "";
  throw new ConfigurationError(
    `${memoizer} needs ${flavour === "async" ? "an async Cache" : "a SyncCache"}, got ${what}${instead}`,
  );
}

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
    return this.core.serializer;
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
    this.core.report(error, operation, key);
  }

  /**
   * Counters of the failures met so far: failed reads and writes, values that did not decode.
   *
   * @example
   * ```ts
   * metrics.gauge("cache.undecodable", cache.stats.undecodableValues);
   * ```
   */
  get stats(): CacheStats {
    return this.core.stats;
  }
}
