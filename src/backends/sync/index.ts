export type { BackendCapabilities, BackendOperations, BackendSetOptions, SyncBackend } from "../backend.js";
export { DummyBackend } from "./dummy.js";
export { MemoryBackend } from "./memory.js";
export { RedisBackend, type SyncRedisBackendOptions } from "./redis.js";
export type { RedisWireValue } from "../redis.js";
export { type Clock, DEFAULT_MAX_ENTRIES, type MemoryBackendOptions } from "../memory-store.js";
export { backendSchemes, fromUrl, registerBackend } from "./registry.js";
export type { CacheUrl, IntegerParameter, UrlParameters } from "../../internal/cache-url.js";
export type { RegisterOptions, SchemeFactory } from "../../internal/scheme-registry.js";
