export type { AsyncBackend, BackendCapabilities, BackendOperations, BackendSetOptions } from "./backend.js";
export { SyncBackendAdapter } from "../internal/sync-backend-adapter.js";
export { DummyBackend } from "./dummy.js";
export { MemoryBackend } from "./memory.js";
export { type Clock, DEFAULT_MAX_ENTRIES, type MemoryBackendOptions } from "./memory-store.js";
export {
  type IoRedisLike,
  type NodeRedisClientLike,
  type NodeRedisClusterLike,
  RedisBackend,
  type RedisBackendOptions,
  type RedisClientLike,
  type RedisWireValue,
} from "./redis.js";
export { backendSchemes, fromUrl, registerBackend } from "./registry.js";
export type { CircuitState } from "../internal/circuit-breaker.js";
export type { RedisTimings } from "../internal/redis/connection-options.js";
export type { RedisArgument, RedisCommand } from "../internal/redis/driver.js";
export type { IoRedisOptions } from "../internal/redis/ioredis-driver.js";
export type { NodeRedisEmitter } from "../internal/redis/node-redis-driver.js";
export type { CacheUrl, IntegerParameter, UrlCredentials, UrlParameters } from "../internal/cache-url.js";
export type { RegisterOptions, SchemeFactory } from "../internal/scheme-registry.js";
