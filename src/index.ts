export { Cache, type CacheOptions } from "./caches/cache.js";
export type {
  CacheBase,
  CacheEntries,
  CacheStats,
  CacheErrorEvent,
  CacheOptionsBase,
  SetManyOptions,
  SetOptions,
} from "./caches/cache-core.js";
export { dummyCache, memoryCache } from "./caches/shortcuts.js";
export { type MemoryCacheOptions, SyncCache, type SyncCacheOptions } from "./caches/sync-cache.js";
export { type Duration, type DurationPart, type DurationUnit, toMilliseconds } from "./duration.js";
export {
  BackendError,
  CacheClosedError,
  CacheError,
  type CacheErrorOptions,
  CacheMissError,
  CacheTimeoutError,
  ConfigurationError,
  SerializationError,
} from "./errors.js";
export type { AsyncBackend, BackendOperations, BackendSetOptions, SyncBackend } from "./backends/backend.js";
export type { Clock, MemoryBackendOptions } from "./backends/memory-store.js";
export type { Serializer, WireValue } from "./serializers/serializer.js";
export { redactUrl } from "./internal/cache-url.js";
export {
  type CacheChoice,
  cached,
  type CachedOptions,
  type CachedWrapper,
  type MemoizedFunction,
} from "./memoize/cached.js";
export {
  cachedSync,
  type CachedSyncOptions,
  type CachedSyncWrapper,
  type MemoizedSyncFunction,
  type SyncCacheChoice,
} from "./memoize/cached-sync.js";
export { type MakeKey, makeDefaultHashedKey, makeDefaultKey } from "./memoize/keys.js";
export { type MethodName, type MethodParameters, purgeCached, type PurgeResult } from "./memoize/purge-cached.js";
