import { DummyBackend } from "../backends/dummy/backend.js";
import { MemoryBackend } from "../backends/memory/backend.js";
import { NoopSerializer } from "../serializers/noop.js";
import { Cache } from "./cache.js";
import type { MemoryCacheOptions } from "./sync-cache.js";

/**
 * An async cache over a new memory backend that keeps values as they are (`noop://`), as the seed's
 * `shortcuts`. Values are not copied: mutating a cached object mutates the cached one.
 *
 * @example
 * ```ts
 * const users = memoryCache<User>({ maxEntries: 5000 });
 * await users.set("1", { name: "Ada" }, { timeToLive: "10m" });
 * ```
 */
export function memoryCache<V = unknown>(options: MemoryCacheOptions = {}): Cache<V> {
  const { prefix, ...backendOptions } = options;
  return new Cache<V>({
    backend: new MemoryBackend(backendOptions),
    serializer: new NoopSerializer<V>(),
    ...(prefix === undefined ? {} : { prefix }),
  });
}

/**
 * An async cache that stores nothing: caching switched off.
 *
 * @example
 * ```ts
 * const cache = process.env.NO_CACHE ? dummyCache<User>() : memoryCache<User>();
 * ```
 */
export function dummyCache<V = unknown>(): Cache<V> {
  return new Cache<V>({ backend: new DummyBackend(), serializer: new NoopSerializer<V>() });
}
