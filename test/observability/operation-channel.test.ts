/**
 * The `cachetory:operation` tracing channel and `cache.stats`: a subscriber sees every operation with the
 * right `hit`, `tier` and `stale`, on memory, Redis, a near tier and getOrSet, and on SyncCache; keys only
 * with `traceKeys`; the counters count keys, and `resetStats()` zeroes them.
 */
import assert from "node:assert/strict";
import { subscribe, tracingChannel, unsubscribe } from "node:diagnostics_channel";
import { after, afterEach, describe, it } from "node:test";
import { Cache } from "../../src/cache/cache.js";
import { SyncCache } from "../../src/cache/sync-cache.js";
import { CircuitBreaker } from "../../src/layers/circuit-breaker.js";
import type { OperationContext } from "../../src/observability/channels.js";
import { tracing } from "../../src/observability/channels.js";
import { sleep } from "../support/fault-guard.js";
import { redisUnavailableReason, RedisServer } from "../support/redis-server.js";

const unavailable = redisUnavailableReason();
const server = unavailable === undefined ? await RedisServer.start() : undefined;
after(async () => {
  await server?.stop();
});

const channel = tracingChannel<unknown, OperationContext>("cachetory:operation");

/**
 * Collects what the channel tells of ended operations: `asyncEnd` for the async cache's (traced as
 * promises), `end` for SyncCache's (traced synchronously).
 */
function listen(ends: "async" | "sync" = "async"): {
  seen: OperationContext[];
  errors: OperationContext[];
  stop: () => void;
} {
  const seen: OperationContext[] = [];
  const errors: OperationContext[] = [];
  const started = new WeakSet();
  const ended = (context: OperationContext): void => {
    assert.ok(started.has(context), "every end has its start");
    seen.push({ ...context });
  };
  const handlers = {
    start: (context: OperationContext) => {
      started.add(context);
    },
    end: (context: OperationContext) => {
      if (ends === "sync") ended(context);
    },
    asyncStart: () => undefined,
    asyncEnd: (context: OperationContext) => {
      if (ends === "async") ended(context);
    },
    error: (context: OperationContext) => {
      errors.push({ ...context });
    },
  };
  channel.subscribe(handlers);
  return {
    seen,
    errors,
    stop: () => {
      channel.unsubscribe(handlers);
    },
  };
}

let stopListening: (() => void) | undefined;
afterEach(() => {
  stopListening?.();
  stopListening = undefined;
});

function pick(context: OperationContext): Partial<OperationContext> {
  const { operation, hit, tier, stale, hits, misses } = context;
  return Object.fromEntries(
    Object.entries({ operation, hit, tier, stale, hits, misses }).filter(([, value]) => value !== undefined),
  );
}

describe("the cachetory:operation channel", () => {
  it("costs nothing to check when nobody listens, and tells when someone does", () => {
    assert.equal(tracing(), false);
    const { stop } = listen();
    assert.equal(tracing(), true);
    stop();
    assert.equal(tracing(), false);
  });

  it("memory: every operation, with hit and tier on reads, hits and misses on getMany; keys only with traceKeys", async () => {
    await using cache = new Cache<string>({ backend: "memory://", serializer: "json://" });
    const { seen, stop } = listen();
    stopListening = stop;
    await cache.set("a", "A");
    await cache.get("a");
    await cache.get("absent");
    await cache.getMany("a", "b", "absent");
    await cache.setMany({ b: "B" });
    await cache.has("a");
    await cache.expireIn("a", "1h");
    await cache.delete("b");
    await cache.deleteMany("a");
    await cache.set("t", "T", { tags: ["x"] });
    await cache.deleteByTag("x");
    await cache.expireByTag("x");
    await cache.clear();
    assert.deepEqual(seen.map(pick), [
      { operation: "set" },
      { operation: "get", hit: true, tier: "backend", stale: false },
      { operation: "get", hit: false, tier: "backend", stale: false },
      { operation: "getMany", hits: 1, misses: 2 },
      { operation: "setMany" },
      { operation: "has" },
      { operation: "expireIn" },
      { operation: "delete" },
      { operation: "deleteMany" },
      { operation: "set" },
      { operation: "deleteByTag" },
      { operation: "expireByTag" },
      { operation: "clear" },
    ]);
    for (const context of seen) {
      assert.equal(context.cache, "memory");
      assert.equal(context.backend, "memory");
      assert.equal(context.key, undefined, "no keys without traceKeys");
    }
    await using named = new Cache<string>({
      backend: "memory://",
      serializer: "json://",
      name: "users",
      traceKeys: true,
    });
    await named.get("user:1");
    await named.deleteByTag("org:7");
    assert.equal(seen.at(-2)?.cache, "users");
    assert.equal(seen.at(-2)?.key, "user:1");
    assert.deepEqual(seen.at(-1)?.tags, ["org:7"]);
  });

  it("getOrSet: a fresh hit, a stale hit, a miss; errors reach the error channel", async () => {
    await using cache = new Cache<string>({ backend: "memory://", serializer: "json://" });
    const { seen, errors, stop } = listen();
    stopListening = stop;
    const options = { timeToLive: "1ms", staleWhileRevalidate: "1h" } as const;
    await cache.getOrSet("k", () => "v1", options);
    await sleep(5);
    await cache.getOrSet("k", () => "v2", options);
    await cache.getOrSet("fresh", () => "f", { timeToLive: "1h" });
    await cache.getOrSet("fresh", () => "unused", { timeToLive: "1h" });
    await assert.rejects(
      cache.getOrSet("failing", () => {
        throw new Error("down");
      }),
    );
    assert.deepEqual(seen.filter((context) => context.operation === "getOrSet").map(pick), [
      { operation: "getOrSet", hit: false, tier: "backend", stale: false },
      { operation: "getOrSet", hit: true, tier: "backend", stale: true },
      { operation: "getOrSet", hit: false, tier: "backend", stale: false },
      { operation: "getOrSet", hit: true, tier: "backend", stale: false },
      // A failure ends too (after the error channel): a miss whose factory threw.
      { operation: "getOrSet", hit: false, tier: "backend", stale: false },
    ]);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.operation, "getOrSet");
  });

  it("Redis and a near tier: tier near for a near hit, backend otherwise", { skip: unavailable }, async () => {
    if (server === undefined) throw new Error("no redis-server");
    await using plain = new Cache<string>({ backend: server.url(3), serializer: "json://" });
    await using near = new Cache<string>({ backend: server.url(3), serializer: "json://", near: true });
    await plain.set("k", "v");
    const { seen, stop } = listen();
    stopListening = stop;
    await plain.get("k");
    await near.get("k");
    await near.get("k");
    await near.getOrSet("k", () => "unused", { timeToLive: "1h" });
    await plain.get("absent");
    assert.deepEqual(seen.map(pick), [
      { operation: "get", hit: true, tier: "backend", stale: false },
      { operation: "get", hit: true, tier: "backend", stale: false },
      { operation: "get", hit: true, tier: "near", stale: false },
      { operation: "getOrSet", hit: true, tier: "near", stale: false },
      { operation: "get", hit: false, tier: "backend", stale: false },
    ]);
    assert.equal(seen[0]?.backend, "redis");
  });

  it("SyncCache: the same, through traceSync", () => {
    using cache = new SyncCache<string>({ backend: "memory://", serializer: "json://", traceKeys: true });
    const { seen, stop } = listen("sync");
    stopListening = stop;
    cache.set("a", "A");
    cache.get("a");
    cache.get("absent");
    cache.getMany("a", "absent");
    cache.getOrSet("a", () => "unused", { timeToLive: "1h" });
    cache.getOrSet("b", () => "B", { timeToLive: "1h" });
    cache.delete("a");
    assert.deepEqual(seen.map(pick), [
      { operation: "set" },
      { operation: "get", hit: true, tier: "backend", stale: false },
      { operation: "get", hit: false, tier: "backend", stale: false },
      { operation: "getMany", hits: 1, misses: 1 },
      { operation: "getOrSet", hit: true, tier: "backend", stale: false },
      { operation: "getOrSet", hit: false, tier: "backend", stale: false },
      { operation: "delete" },
    ]);
    assert.equal(seen[1]?.key, "a");
  });
});

describe("cache.stats counts keys", () => {
  it("hits, misses, tiers, writes, deletes and hitRatio; resetStats() zeroes them", async () => {
    await using cache = new Cache<string>({ backend: "memory://", serializer: "json://" });
    await cache.setMany({ a: "A", b: "B" });
    await cache.set("c", "C");
    await cache.get("a");
    await cache.get("absent");
    await cache.getMany("a", "b", "absent");
    await cache.getOrSet("c", () => "unused", { timeToLive: "1h" });
    await cache.getOrSet("d", () => "D", { timeToLive: "1h" });
    await cache.deleteMany("a", "b");
    const stats = cache.stats;
    assert.equal(stats.hits, 4);
    assert.equal(stats.misses, 3);
    assert.equal(stats.backendHits, 4);
    assert.equal(stats.nearHits, 0);
    assert.equal(stats.writes, 4, "setMany of 2, set, and what getOrSet stored");
    assert.equal(stats.deletes, 2);
    assert.equal(stats.hitRatio, 4 / 7);
    cache.resetStats();
    assert.deepEqual(
      [cache.stats.hits, cache.stats.misses, cache.stats.writes, cache.stats.deletes, cache.stats.hitRatio],
      [0, 0, 0, 0, 0],
    );
  });

  it("near hits by tier", { skip: unavailable }, async () => {
    if (server === undefined) throw new Error("no redis-server");
    await using near = new Cache<string>({ backend: server.url(4), serializer: "json://", near: true });
    await near.set("k", "v");
    await near.get("k");
    await near.get("k");
    assert.equal(near.stats.nearHits, 2);
    assert.equal(near.stats.hits, 2);
  });
});

describe("point events", () => {
  function collect(name: string): { messages: unknown[]; stop: () => void } {
    const messages: unknown[] = [];
    const onMessage = (message: unknown): void => {
      messages.push(message);
    };
    subscribe(name, onMessage);
    return { messages, stop: () => unsubscribe(name, onMessage) };
  }

  it("value.undecodable and getOrSet.refresh, with the key only under traceKeys", async () => {
    await using cache = new Cache<string>({ backend: "memory://", serializer: "json://", name: "c", traceKeys: true });
    const undecodable = collect("cachetory:value.undecodable");
    const refresh = collect("cachetory:getOrSet.refresh");
    try {
      await cache.backend.set("bad", "{not json", {});
      assert.equal(await cache.get("bad"), undefined);
      await cache.getOrSet("k", () => "v1", { timeToLive: "1ms", staleWhileRevalidate: "1h" });
      await sleep(5);
      await cache.getOrSet("k", () => "v2", { timeToLive: "1ms", staleWhileRevalidate: "1h" });
      await sleep(5);
    } finally {
      undecodable.stop();
      refresh.stop();
    }
    assert.equal(undecodable.messages.length, 1);
    assert.deepEqual(Object.keys(undecodable.messages[0] as object).sort(), ["cache", "error", "key"]);
    assert.deepEqual(refresh.messages, [{ cache: "c", key: "k", background: true }]);
  });

  it("circuit: opened after the threshold of timeouts, closed by the next answer", () => {
    const { messages, stop } = collect("cachetory:circuit");
    try {
      const breaker = new CircuitBreaker({ threshold: 2, duration: 1000 });
      breaker.failed(false);
      breaker.failed(false);
      breaker.succeeded(false);
    } finally {
      stop();
    }
    assert.deepEqual(messages, [{ state: "open", failuresInARow: 2, retryInMs: 1000 }, { state: "closed" }]);
  });

  it("near.invalidated and near.flushed", { skip: unavailable }, async () => {
    if (server === undefined) throw new Error("no redis-server");
    await using near = new Cache<string>({ backend: server.url(5), serializer: "json://", near: true });
    await using other = new Cache<string>({ backend: server.url(5), serializer: "json://" });
    const invalidated = collect("cachetory:near.invalidated");
    const flushed = collect("cachetory:near.flushed");
    try {
      await other.set("k", "v1");
      assert.equal(await near.get("k"), "v1");
      await other.set("k", "v2");
      for (let round = 0; round < 200 && invalidated.messages.length === 0; round++) await sleep(5);
      await other.clear();
      for (let round = 0; round < 200 && flushed.messages.length === 0; round++) await sleep(5);
    } finally {
      invalidated.stop();
      flushed.stop();
    }
    assert.deepEqual(invalidated.messages[0], { backend: "redis://", dropped: 1 });
    assert.equal((flushed.messages[0] as { backend: string }).backend, "redis://");
  });
});
