/** The cache and the memoizer decide by what a backend declares in `capabilities`, never by its class or methods. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AsyncBackend, BackendCapabilities, BackendSetOptions, SyncBackend } from "../../src/backends/contract.js";
import { MemoryBackend } from "../../src/backends/memory/backend.js";
import { RedisBackend } from "../../src/backends/redis/backend.js";
import { MemoryBackend as SyncMemoryBackend } from "../../src/backends/memory/sync-backend.js";
import { Cache } from "../../src/cache/cache.js";
import { SyncBackendAdapter } from "../../src/backends/sync-adapter.js";
import { cached } from "../../src/memoize/cached.js";

/** A third-party async backend over a sync store: it declares what it is given, and counts its async calls. */
class CountingBackend implements AsyncBackend {
  asyncCalls = 0;
  readonly #async: SyncBackendAdapter;
  constructor(
    store: SyncBackend,
    readonly capabilities: BackendCapabilities | undefined,
  ) {
    this.#async = new SyncBackendAdapter(store);
  }

  get(key: string): Promise<unknown> {
    this.asyncCalls++;
    return this.#async.get(key);
  }
  getMany(keys: readonly string[]): Promise<Map<string, unknown>> {
    this.asyncCalls++;
    return this.#async.getMany(keys);
  }
  set(key: string, value: unknown, options: BackendSetOptions): Promise<boolean> {
    this.asyncCalls++;
    return this.#async.set(key, value, options);
  }
  setMany(entries: readonly (readonly [string, unknown])[], timeToLive: number | undefined): Promise<void> {
    return this.#async.setMany(entries, timeToLive);
  }
  expireIn(key: string, timeToLive: number | undefined): Promise<boolean> {
    return this.#async.expireIn(key, timeToLive);
  }
  delete(key: string): Promise<boolean> {
    return this.#async.delete(key);
  }
  deleteMany(keys: readonly string[]): Promise<number> {
    return this.#async.deleteMany(keys);
  }
  has(key: string): Promise<boolean> {
    return this.#async.has(key);
  }
  clear(prefix: string): Promise<void> {
    return this.#async.clear(prefix);
  }
  close(): Promise<void> {
    return this.#async.close();
  }
}

describe("backend capabilities", () => {
  it("a backend declaring a synchronous view is read and written through it, without its async operations", async () => {
    const store = new SyncMemoryBackend();
    const backend = new CountingBackend(store, { synchronous: store });
    await using cache = new Cache<number>({ backend, serializer: "noop://" });
    assert.equal(await cache.set("a", 1), true);
    assert.equal(await cache.get("a"), 1);
    const memoized = cached(cache, { name: "double" })(async (n: number) => n * 2);
    await memoized(2);
    assert.equal(await memoized(2), 4);
    assert.equal(backend.asyncCalls, 0);
    assert.equal(store.get("double:2"), 4);
  });

  it("a backend declaring nothing gets the general path, whatever its class", async () => {
    const store = new SyncMemoryBackend();
    const backend = new CountingBackend(store, undefined);
    await using cache = new Cache<number>({ backend, serializer: "noop://" });
    await cache.set("a", 1);
    assert.equal(await cache.get("a"), 1);
    assert.equal(backend.asyncCalls, 2);
  });

  it("the built-in backends declare what they do", () => {
    const memory = new MemoryBackend();
    assert.ok(memory.capabilities.synchronous !== undefined);
    assert.equal(memory.capabilities.atomicBatches, "all");
    const redis = new RedisBackend({ url: "redis://127.0.0.1:1/0" });
    assert.deepEqual(redis.capabilities, { bytesOnly: true, atomicBatches: "all" });
    const cluster = new RedisBackend({ url: "redis+cluster://127.0.0.1:1" });
    assert.equal(cluster.capabilities.atomicBatches, "per-slot");
    const plain: AsyncBackend = memory;
    assert.ok(plain.capabilities !== undefined);
  });
});
