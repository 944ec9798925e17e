export type {
  AsyncBackend,
  BackendCapabilities,
  BackendOperations,
  BackendRequirements,
  BackendScanOptions,
  BackendScanPage,
  BackendSetOptions,
  ChangeListener,
  ChangeNotifications,
  NearEntry,
  NearStats,
  NearView,
  WatchedValue,
} from "./contract.js";
export { NearBackend, type NearTierOptions } from "../layers/near.js";
export { SyncBackendAdapter } from "./sync-adapter.js";
export { DummyBackend } from "./dummy/backend.js";
export { MemoryBackend } from "./memory/backend.js";
export { type Clock, DEFAULT_MAX_ENTRIES, type MemoryBackendOptions } from "./memory/store.js";
export {
  type IoRedisLike,
  type NodeRedisClientLike,
  type NodeRedisClusterLike,
  type NodeRedisSentinelLike,
  RedisBackend,
  type RedisBackendOptions,
  type RedisClientLike,
  type RedisWireValue,
} from "./redis/backend.js";
export {
  type PgPoolClientLike,
  type PgPoolLike,
  type PgQuery,
  type PgResult,
  PostgresBackend,
  type PostgresBackendOptions,
  type SweepReport,
} from "./postgres/backend.js";
export type { PostgresTimings } from "./postgres/url.js";
export { SqliteBackend, type SqliteBackendOptions, type SqliteDriverName } from "./sqlite/backend.js";
export type { SqliteTimings } from "./sqlite/url.js";
export { MemcachedBackend, type MemcachedBackendOptions } from "./memcached/backend.js";
export type { MemcachedTimings } from "./memcached/url.js";
export { KetamaRing, type RingServer } from "./memcached/ring.js";
export { FileBackend, type FileBackendOptions, type FileSweepReport } from "./file/backend.js";
export type { FileBounds } from "./file/url.js";
export { backendSchemes, fromUrl, registerBackend } from "./registry.js";
export { escapeGlob, globMatcher } from "../internal/glob.js";
export type { CircuitState } from "../layers/circuit-breaker.js";
export type { RedisTimings } from "./redis/url.js";
export type { RedisArgument, RedisCommand } from "./redis/drivers/driver.js";
export type { IoRedisOptions } from "./redis/drivers/ioredis.js";
export type { NodeRedisEmitter } from "./redis/drivers/node-redis.js";
export type { CacheUrl, IntegerParameter, UrlCredentials, UrlParameters } from "../internal/cache-url.js";
export type { RegisterOptions, SchemeFactory } from "../internal/scheme-registry.js";
