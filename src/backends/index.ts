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
export type { CacheUrl, IntegerParameter, UrlParameters } from "../internal/cache-url.js";
export type { RegisterOptions, SchemeFactory } from "../internal/scheme-registry.js";
