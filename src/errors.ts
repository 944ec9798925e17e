/**
 * Every error that cachetory throws is a {@link CacheError}. Test for a kind with its stable `code`
 * rather than `instanceof` when both the ESM and the CommonJS copy of the package may be loaded.
 *
 * @module
 */

/** Options shared by every cachetory error. */
export interface CacheErrorOptions {
  /** The error that caused this one. */
  readonly cause?: unknown;
  /** The cache key (as the caller gave it, without the prefix) the failed operation was about. */
  readonly key?: string | undefined;
}

/**
 * The base class of all cachetory errors.
 *
 * @example
 * ```ts
 * try { await cache.get("user:1"); }
 * catch (error) { if (error instanceof CacheError) console.error(error.code, error.key); }
 * ```
 */
export class CacheError extends Error {
  /** A stable, machine-readable identifier such as `"CACHETORY_CONFIGURATION"`. */
  readonly code: string = "CACHETORY_ERROR";
  /** The key the failed operation was about, when there was one. */
  readonly key: string | undefined;

  constructor(message: string, options: CacheErrorOptions = {}) {
    super(message, "cause" in options ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.key = options.key;
  }
}

/**
 * A bad URL, scheme, parameter or option. The message names the offending thing and what is allowed;
 * URLs in it have their password redacted.
 *
 * @example
 * ```ts
 * serializers.fromUrl("zlib://?compression-level=12");
 * // ConfigurationError: compression-level must be an integer 0–9 for zlib://, got "12"
 * ```
 */
export class ConfigurationError extends CacheError {
  override readonly code: string = "CACHETORY_CONFIGURATION";
}

/**
 * A value that could not be encoded, or stored bytes that could not be decoded. Carries the `key`.
 *
 * @example
 * ```ts
 * await jsonCache.set("n", 1n); // SerializationError: cannot serialize the value of key "n" with json://: …
 * ```
 */
export class SerializationError extends CacheError {
  override readonly code: string = "CACHETORY_SERIALIZATION";
}

/**
 * The backend (the store) failed; `cause` holds the underlying error.
 *
 * @example
 * ```ts
 * await memory.set("big", hugeBuffer); // BackendError: value of 2000000 bytes exceeds max-size …
 * ```
 */
export class BackendError extends CacheError {
  override readonly code: string = "CACHETORY_BACKEND";
}

/**
 * Thrown by `SyncCache.getOrThrow` when the key is absent (the seed's `cache[key]` raising `KeyError`).
 *
 * @example
 * ```ts
 * try { cache.getOrThrow("absent"); } catch (error) { // CacheMissError, error.key === "absent"
 * }
 * ```
 */
export class CacheMissError extends CacheError {
  override readonly code: string = "CACHETORY_CACHE_MISS";
}

/**
 * An operation on a cache (or backend) after `close()`.
 *
 * @example
 * ```ts
 * await cache.close();
 * await cache.get("a"); // rejects with CacheClosedError
 * ```
 */
export class CacheClosedError extends CacheError {
  override readonly code: string = "CACHETORY_CACHE_CLOSED";
}

/**
 * A waiter gave up on a computation that another call with the same key had started (the memoized
 * function hangs or is slower than `waitTimeout`).
 *
 * @example
 * ```ts
 * const find = cached(cache, { waitTimeout: "2s" })(findUser);
 * try { await find(1); } catch (error) { if (error instanceof CacheTimeoutError) … }
 * ```
 */
export class CacheTimeoutError extends CacheError {
  override readonly code: string = "CACHETORY_TIMEOUT";
}
