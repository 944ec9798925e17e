import { BACKEND_OPERATION_NAMES, type BackendSetOptions } from "../backends/contract.js";
import { type Duration, toTimeToLive } from "../duration.js";
import { ConfigurationError } from "../errors.js";
import { checkConfiguration, checkOptions, describeValue, type OptionsShape } from "../internal/options.js";
import type { Serializer } from "../serializers/contract.js";

/** Options of `set`. */
export interface SetOptions {
  /** How long the entry lives; `null`/`undefined` for no expiry. */
  readonly timeToLive?: Duration | null | undefined;
  /** Store only when the key is absent; `set` then returns `false` if it was present. */
  readonly ifNotExists?: boolean | undefined;
  /**
   * Tags of the entry (at most 1 000, duplicates dropped): `deleteByTag` or `expireByTag` of any of them
   * reaches it. See docs/tags.md.
   */
  readonly tags?: readonly string[] | undefined;
}

/** Options of `setMany`. */
export interface SetManyOptions {
  /** How long every entry lives; `null`/`undefined` for no expiry. */
  readonly timeToLive?: Duration | null | undefined;
  /** Tags of every entry (at most 1 000, duplicates dropped). See docs/tags.md. */
  readonly tags?: readonly string[] | undefined;
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
  /**
   * The cache's name in traces and metrics (`cache` of the `cachetory:operation` channel, `cache.name` in
   * OpenTelemetry). Default: the backend's scheme (`"redis"`, `"memory"`). See docs/observability.md.
   */
  readonly name?: string;
  /**
   * Whether the `cachetory:operation` channel carries keys (and tags). Off by default: keys often hold
   * user ids or e-mail addresses, which traces should not collect unless you decide so.
   */
  readonly traceKeys?: boolean;
}

const SET_OPTIONS: OptionsShape = {
  what: "set()",
  known: ["timeToLive", "ifNotExists", "tags"],
  example: '{ timeToLive: "5m" } or { timeToLive: 300_000, ifNotExists: true }',
};
const SET_MANY_OPTIONS: OptionsShape = {
  what: "setMany()",
  known: ["timeToLive", "tags"],
  example: '{ timeToLive: "5m" }',
};

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
  "name",
  "traceKeys",
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
  const known = what === "Cache" ? [...CACHE_OPTION_NAMES, "near"] : CACHE_OPTION_NAMES;
  checkConfiguration(options, { what: `new ${what}()`, known, example });
  const { backend, serializer, onError, prefix } = options as Record<string, unknown>;
  if (typeof backend !== "string") {
    if (typeof backend !== "object" || backend === null) {
      throw new ConfigurationError(
        `the backend option of ${what} must be a URL such as "memory://" or "redis://host:6379/0", or a backend object; got ${describeValue(backend)}${backend === undefined ? " (an unset environment variable?)" : ""}`,
      );
    }
    const missing = missingMethods(backend, BACKEND_OPERATION_NAMES);
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

/** The entries of `setMany` input (an iterable of pairs, or a plain object) as an array. */
export function entryPairs<V>(entries: CacheEntries<V>): (readonly [string, V])[] {
  return Symbol.iterator in entries ? [...(entries as Iterable<readonly [string, V]>)] : Object.entries(entries);
}

/**
 * A string option that must be one of `allowed` (the first is the default); checked at run time too,
 * for callers without types.
 *
 * @throws ConfigurationError naming the option and the allowed values.
 */
export function choice<T extends string>(name: string, value: T | undefined, allowed: readonly [T, ...T[]]): T {
  if (value === undefined) return allowed[0];
  if (!allowed.includes(value)) {
    throw new ConfigurationError(
      `${name} must be ${allowed.map((item) => JSON.stringify(item)).join(" or ")}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}
