/** The cache and the memoizer decide by what a backend declares in `capabilities`, never by its class or methods. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AsyncBackend } from "../../src/backends/contract.js";
import { MemoryBackend } from "../../src/backends/memory/backend.js";
import { RedisBackend } from "../../src/backends/redis/backend.js";
import { MemoryBackend as SyncMemoryBackend } from "../../src/backends/memory/sync-backend.js";
import { Cache } from "../../src/cache/cache.js";
import { cached } from "../../src/memoize/cached.js";
import { ScriptedBackend } from "../support/scripted-backend.js";

describe("backend capabilities", () => {
  it("a backend declaring a synchronous view is read and written through it, without its async operations", async () => {
    const store = new SyncMemoryBackend();
    const backend = new ScriptedBackend(store, { synchronous: store });
    await using cache = new Cache<number>({ backend, serializer: "noop://" });
    assert.equal(await cache.set("a", 1), true);
    assert.equal(await cache.get("a"), 1);
    const memoized = cached(cache, { name: "double" })(async (n: number) => n * 2);
    await memoized(2);
    assert.equal(await memoized(2), 4);
    assert.deepEqual(backend.calls, [], "no async operation was called");
    assert.equal(store.get("double:2"), 4);
  });

  it("a backend declaring nothing gets the general path, whatever its class", async () => {
    const store = new SyncMemoryBackend();
    const backend = new ScriptedBackend(store);
    await using cache = new Cache<number>({ backend, serializer: "noop://" });
    await cache.set("a", 1);
    assert.equal(await cache.get("a"), 1);
    assert.deepEqual(
      backend.calls.map(({ operation }) => operation),
      ["set", "get"],
    );
  });

  it("the built-in backends declare what they do", () => {
    const memory = new MemoryBackend();
    assert.ok(memory.capabilities.synchronous !== undefined);
    assert.equal(memory.capabilities.atomicBatches, "all");
    const redis = new RedisBackend({ url: "redis://127.0.0.1:1/0" });
    assert.deepEqual(Object.keys(redis.capabilities), ["bytesOnly", "atomicBatches", "locks"]);
    assert.equal(redis.capabilities.bytesOnly, true);
    assert.equal(redis.capabilities.atomicBatches, "all");
    const tracking = new RedisBackend({ url: "redis://127.0.0.1:1/0", notifyChanges: true });
    assert.deepEqual(Object.keys(tracking.capabilities), ["bytesOnly", "atomicBatches", "changes", "locks"]);
    // Memory is in-process: one computation per process is one in all, so it declares no locks.
    assert.equal(memory.capabilities.locks, undefined);
    const cluster = new RedisBackend({ url: "redis+cluster://127.0.0.1:1" });
    assert.equal(cluster.capabilities.atomicBatches, "per-slot");
    const plain: AsyncBackend = memory;
    assert.ok(plain.capabilities !== undefined);
  });
});
