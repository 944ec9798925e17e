/**
 * `ttl(key)` and `keys({ match, signal })` on Cache and SyncCache: the cache's own keys without its prefix
 * (never the state of tags or the locks of getOrSet), a glob that matches what Redis's SCAN MATCH matches,
 * listings that stream page by page, stop on a signal and throw on a failure, over memory, a real
 * redis-server (async, and sync through the worker) and a 3-master cluster.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { RedisBackend as SyncRedisBackend } from "../../dist/esm/backends/sync/index.js";
import { MemoryBackend } from "../../src/backends/memory/sync-backend.js";
import { Cache } from "../../src/cache/cache.js";
import { SyncCache } from "../../src/cache/sync-cache.js";
import { BackendError, CacheClosedError, ConfigurationError } from "../../src/errors.js";
import { globMatcher } from "../../src/internal/glob.js";
import { RedisCluster } from "../support/redis-cluster.js";
import { needsRedis, RedisServer } from "../support/redis-server.js";
import { ScriptedBackend } from "../support/scripted-backend.js";

const requirement = needsRedis();
const server = requirement.skip === undefined ? await RedisServer.start() : undefined;
const cluster = requirement.skip === undefined ? await RedisCluster.start() : undefined;
after(async () => {
  await server?.stop();
  await cluster?.stop();
});

async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const found: string[] = [];
  for await (const key of keys) found.push(key);
  return found.sort();
}

/** Writes a few plain entries, tagged ones, a tag invalidation and a distributed getOrSet (its lock). */
async function populate(cache: Cache<string>): Promise<void> {
  await cache.set("user:1", "a", { timeToLive: "1m" });
  await cache.set("user:2", "b", { tags: ["org:7"] });
  await cache.set("user:10", "c");
  await cache.set("*?[x]", "d");
  await cache.deleteByTag("org:9");
  await cache.getOrSet("computed", () => "e", { lock: "distributed", timeToLive: "1m" });
  await cache.namespace("inner").set("user:3", "f");
}

const EXPECTED = ["*?[x]", "computed", "inner:user:3", "user:1", "user:10", "user:2"];

function describeCache(name: string, makeCache: () => Cache<string>): void {
  describe(`Cache.keys and Cache.ttl over ${name}`, () => {
    it("lists the cache's own keys without its prefix, never tag states or locks", async () => {
      await using cache = makeCache();
      await cache.clear();
      await populate(cache);
      assert.deepEqual(await collect(cache.keys()), EXPECTED);
      assert.deepEqual(await collect(cache.keys({ match: "user:?" })), ["user:1", "user:2"]);
      assert.deepEqual(await collect(cache.keys({ match: "user:1*" })), ["user:1", "user:10"]);
      assert.deepEqual(await collect(cache.keys({ match: "\\*\\?\\[x\\]" })), ["*?[x]"]);
      assert.deepEqual(await collect(cache.namespace("inner").keys()), ["user:3"]);
    });

    it("tells the time left: about the time to live, null without one, undefined when absent", async () => {
      await using cache = makeCache();
      await cache.clear();
      await populate(cache);
      const left = await cache.ttl("user:1");
      assert.ok(typeof left === "number" && left > 50_000 && left <= 60_000, String(left));
      assert.equal(await cache.ttl("user:10"), null);
      assert.equal(await cache.ttl("absent"), undefined);
      await cache.delete("user:1");
      assert.equal(await cache.ttl("user:1"), undefined);
    });

    it("streams a large keyspace and stops when the signal aborts", async () => {
      await using cache = makeCache();
      await cache.clear();
      const keys = Array.from({ length: 5000 }, (_, index) => `bulk:${String(index)}`);
      for (let start = 0; start < keys.length; start += 500) {
        await cache.setMany(keys.slice(start, start + 500).map((key) => [key, "v"] as const));
      }
      assert.deepEqual(await collect(cache.keys({ match: "bulk:*" })), [...keys].sort());
      const controller = new AbortController();
      let seen = 0;
      await assert.rejects(
        (async () => {
          for await (const _key of cache.keys({ signal: controller.signal }))
            if (++seen === 10) controller.abort(new Error("enough"));
        })(),
        /enough/,
      );
      assert.ok(seen >= 10);
    });
  });
}

describeCache("memory", () => new Cache<string>({ backend: "memory://", serializer: "json://", prefix: "app:" }));

describe("keys and ttl: arguments, closed caches, failures", () => {
  it("names a bad match or signal as a ConfigurationError, a closed cache as CacheClosedError", async () => {
    const cache = new Cache<string>({ backend: "memory://", serializer: "json://" });
    assert.throws(() => cache.keys({ match: 7 as unknown as string }), ConfigurationError);
    assert.throws(() => cache.keys({ signal: {} as AbortSignal }), /signal must be an AbortSignal/);
    await cache.close();
    assert.throws(() => cache.keys(), CacheClosedError);
    await assert.rejects(cache.ttl("k"), CacheClosedError);
  });

  it("throws a failed listing even when failed reads are misses, and reports it", async () => {
    const backend = new ScriptedBackend();
    const reported: unknown[] = [];
    await using cache = new Cache<string>({
      backend,
      serializer: "json://",
      failedReads: "miss",
      onError: (event) => reported.push(event),
    });
    await cache.set("k", "v");
    backend.failNext("scan", new BackendError("the store is down"));
    await assert.rejects(collect(cache.keys()), /the store is down/);
    assert.equal(reported.length, 1);
    backend.failNext("ttl", new BackendError("the store is down"));
    assert.equal(await cache.ttl("k"), undefined, "a failed ttl is a miss under failedReads: miss");
  });

  it("lists and times entries of a SyncCache over memory", () => {
    using cache = new SyncCache<string>({ backend: new MemoryBackend(), serializer: "json://", prefix: "p:" });
    cache.set("a", "1", { timeToLive: "10s" });
    cache.set("b", "2");
    assert.deepEqual([...cache.keys()].sort(), ["a", "b"]);
    assert.deepEqual([...cache.keys({ match: "b" })], ["b"]);
    const left = cache.ttl("a");
    assert.ok(typeof left === "number" && left <= 10_000 && left > 5_000);
    assert.equal(cache.ttl("b"), null);
    assert.equal(cache.ttl("c"), undefined);
  });

  it("matches keys as Redis's SCAN MATCH does", { skip: requirement.skip }, async () => {
    // Random keys and patterns over a small alphabet full of glob characters: ours against the server's.
    const alphabet = ["a", "b", "-", "^", "*", "?", "[", "]", "\\", "é"];
    const pick = (length: number): string =>
      Array.from({ length }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join("");
    const keys = [...new Set(Array.from({ length: 300 }, () => pick(1 + Math.floor(Math.random() * 4))))];
    const url = server?.url(9) ?? "";
    await using cache = new Cache<string>({ backend: url, serializer: "json://" });
    await cache.clear();
    await cache.setMany(keys.map((key) => [key, "v"] as const));
    for (let round = 0; round < 200; round++) {
      const pattern = pick(1 + Math.floor(Math.random() * 5));
      const expected = await collect(cache.keys({ match: pattern }));
      let ours: string[];
      try {
        const matches = globMatcher(pattern);
        ours = keys.filter((key) => matches(key)).sort();
      } catch (error) {
        assert.fail(`pattern ${JSON.stringify(pattern)}: ${String(error)}`);
      }
      assert.deepEqual(ours, expected, `pattern ${JSON.stringify(pattern)}`);
    }
  });
});

if (server === undefined || cluster === undefined) {
  it("keys and ttl over Redis", requirement, () => {});
} else {
  describeCache("redis://", () => new Cache<string>({ backend: server.url(5), serializer: "json://", prefix: "app:" }));
  describeCache(
    "redis+cluster://",
    () => new Cache<string>({ backend: `${cluster.url()}?timeout=5000`, serializer: "json://", prefix: "app:" }),
  );

  describe("SyncCache.keys and ttl over the worker", () => {
    it("lists and times entries on Redis", () => {
      using cache = new SyncCache<string>({
        backend: new SyncRedisBackend({ url: server.url(6) }),
        serializer: "json://",
        prefix: "s:",
      });
      cache.clear();
      for (let index = 0; index < 2500; index++) cache.set(`k${String(index)}`, "v");
      cache.set("timed", "v", { timeToLive: "30s" });
      const keys = [...cache.keys()];
      assert.equal(new Set(keys).size, 2501);
      assert.deepEqual([...cache.keys({ match: "k249?" })].sort(), [
        "k2490",
        "k2491",
        "k2492",
        "k2493",
        "k2494",
        "k2495",
        "k2496",
        "k2497",
        "k2498",
        "k2499",
      ]);
      const left = cache.ttl("timed");
      assert.ok(typeof left === "number" && left <= 30_000 && left > 20_000);
      assert.equal(cache.ttl("k1"), null);
      assert.equal(cache.ttl("absent"), undefined);
    });
  });
}
