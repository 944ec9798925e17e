export { type AsyncCacheStats, Cache, type CacheOptions } from "./cache/cache.js";
export type { NearOptions } from "./cache/near-options.js";
export type { NearStats } from "./backends/contract.js";
export type { CacheBase, CacheCounts } from "./cache/cache-core.js";
export type { OperationContext, OperationName } from "./observability/channels.js";
export type { OperationCounts } from "./observability/operation-stats.js";
export type { CacheStats } from "./cache/failure-policy.js";
export type { KeysOptions, SyncKeysOptions } from "./cache/key-listing.js";
export type { CacheEntries, CacheErrorEvent, CacheOptionsBase, SetManyOptions, SetOptions } from "./cache/options.js";
export { dummyCache, memoryCache } from "./cache/shortcuts.js";
export { type MemoryCacheOptions, SyncCache, type SyncCacheOptions, type SyncFactory } from "./cache/sync-cache.js";
export type {
  Factory,
  FactoryContext,
  FactoryTimeouts,
  GetOrSetOptions,
  SyncGetOrSetOptions,
} from "./cache/get-or-set-options.js";
export type { ReadThroughStats } from "./cache/get-or-set.js";
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
export type {
  AsyncBackend,
  BackendLocks,
  BackendOperations,
  BackendScanOptions,
  BackendScanPage,
  BackendSetOptions,
  SyncBackend,
  WriteFence,
} from "./backends/contract.js";
export type { Clock, MemoryBackendOptions } from "./backends/memory/store.js";
export type { Serializer, WireValue } from "./serializers/contract.js";
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
