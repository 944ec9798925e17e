import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
// The sync Redis backend runs in a worker thread, which starts from the build (see redis-sync.test.ts).
import * as built from "../../dist/esm/index.js";
import { Cache } from "../../src/cache/cache.js";
import { SyncCache } from "../../src/cache/sync-cache.js";
import { cached } from "../../src/memoize/cached.js";
import { ConfigurationError } from "../../src/errors.js";
import { cachedSync } from "../../src/memoize/cached-sync.js";
import { makeDefaultHashedKey } from "../../src/memoize/keys.js";
import { purgeCached } from "../../src/memoize/purge-cached.js";
import { redisUnavailableReason, RedisServer } from "../support/redis-server.js";

const unavailable = redisUnavailableReason();
const server = unavailable === undefined ? await RedisServer.start() : undefined;
after(async () => {
  await server?.stop();
});

describe("cachedSync() over a memory SyncCache", () => {
  it("computes once per argument list, serves null and undefined, and purges", () => {
    using cache = SyncCache.memory();
    const calls: unknown[] = [];
    const lookup = cachedSync(cache)(function lookup(id: number): string | null | undefined {
      calls.push(id);
      return id === 0 ? null : id === 1 ? undefined : `#${String(id)}`;
    });
    for (const id of [0, 0, 1, 1, 2, 2]) lookup(id);
    assert.deepEqual(calls, [0, 1, 2]);
    assert.equal(lookup(0), null);
    assert.equal(lookup(2), "#2");
    assert.equal(lookup.purge(2), true);
    assert.equal(lookup.purge(2), false);
  });

  it("memoizes recursion (each n computed once)", () => {
    using cache = SyncCache.memory<number>();
    let calls = 0;
    // The recursion must call the memoized function, not the inner one: hence an arrow and a name.
    const fibonacci: (n: number) => number = cachedSync(cache, { name: "fibonacci" })((n: number): number => {
      calls++;
      return n < 2 ? n : fibonacci(n - 1) + fibonacci(n - 2);
    });
    assert.equal(fibonacci(70), 190392490709135);
    assert.equal(calls, 71);
  });

  it("honours timeToLive, exclude, ifNotExists, makeKey, name and a per-call cache choice", () => {
    using cache = SyncCache.memory();
    const asked: string[] = [];
    const fn = cachedSync(cache, {
      name: "fn",
      timeToLive: (key) => {
        asked.push(key);
        return "1h";
      },
      exclude: (_key, value) => value === -1,
    })((n: number) => (n < 0 ? -1 : n));
    fn(1);
    fn(1);
    fn(-5);
    assert.deepEqual(asked, ["fn:1"]);
    assert.equal(cache.has("fn:-5"), false);
    const hashed = cachedSync(cache, { name: "hashed", makeKey: makeDefaultHashedKey })((n: number) => n);
    hashed(3);
    assert.equal(cache.has(makeDefaultHashedKey({ name: "hashed" }, [3])), true);
    const kept = cachedSync(cache, { name: "kept", ifNotExists: true })(() => {
      cache.set("kept", "theirs");
      return "mine";
    });
    assert.equal(kept(), "mine");
    assert.equal(cache.get("kept"), "theirs");
    let uncached = 0;
    const choosy = cachedSync<unknown>((_fn, ...args) => (args[0] === "skip" ? null : cache), { name: "choosy" })((
      mode: string,
    ) => {
      uncached++;
      return mode;
    });
    choosy("skip");
    choosy("skip");
    choosy("keep");
    choosy("keep");
    assert.equal(uncached, 3);
  });

  it("decorates methods (TC39), keeping this", () => {
    using cache = SyncCache.memory();
    class Calculator {
      runs = 0;
      constructor(readonly factor: number) {}

      @cachedSync(cache)
      times(n: number): number {
        this.runs++;
        return n * this.factor;
      }
    }
    const calculator = new Calculator(3);
    assert.equal(calculator.times(2), 6);
    assert.equal(calculator.times(2), 6);
    assert.equal(calculator.runs, 1);
    assert.equal(cache.has("Calculator.times:2"), true);
    assert.equal(purgeCached(calculator, "times", 2), true, "purgeCached reaches a sync decorated method");
    assert.equal(cache.has("Calculator.times:2"), false);
    assert.equal(purgeCached(calculator, "times", 2), false);
  });

  it("does not cache a throwing call, and reports unencodable results instead of failing", () => {
    const errors: string[] = [];
    using cache = new SyncCache<unknown>({
      backend: "memory://",
      serializer: "json://",
      onError: (error, { operation }) => errors.push(`${error.name} ${operation}`),
    });
    let calls = 0;
    const flaky = cachedSync(cache, { name: "flaky" })(() => {
      calls++;
      if (calls === 1) throw new Error("boom");
      return "ok";
    });
    assert.throws(() => flaky(), /boom/);
    assert.equal(flaky(), "ok");
    assert.equal(calls, 2);
    const huge = cachedSync(cache, { name: "huge" })(() => 2n ** 70n);
    assert.equal(huge(), 2n ** 70n);
    assert.deepEqual(errors, ["SerializationError set"]);
    assert.throws(() => cachedSync(cache)(() => 1), ConfigurationError);
  });
});

describe("memoizers and the flavour of their cache", () => {
  it("cachedSync refuses an async Cache at wrap time, and cached refuses a SyncCache (as plain JavaScript could pass)", async () => {
    const asyncCache = new Cache<unknown>({ backend: "memory://", serializer: "json://" });
    const syncCache = SyncCache.memory();
    const loose = cachedSync as (cache: unknown, options?: object) => unknown;
    const looseAsync = cached as (cache: unknown, options?: object) => unknown;
    assert.throws(() => loose(asyncCache), {
      name: "ConfigurationError",
      message: "cachedSync() needs a SyncCache, got an async Cache (use cached())",
    });
    assert.throws(() => looseAsync(syncCache), {
      name: "ConfigurationError",
      message: "cached() needs an async Cache, got a SyncCache (use cachedSync())",
    });
    assert.throws(() => loose({ get: () => 1 }), /cachedSync\(\) needs a SyncCache, got an object that is not a cache/);
    // The built package's classes are other copies of the same classes, and still recognised.
    assert.doesNotThrow(() => loose(new built.SyncCache<unknown>({ backend: "memory://", serializer: "json://" })));
    // A chooser is checked at each call, before anything runs.
    let runs = 0;
    const chosenWrongly = cachedSync((() => asyncCache) as unknown as () => SyncCache<number>, { name: "f" })(
      () => ++runs,
    );
    assert.throws(() => chosenWrongly(), /cachedSync\(\) needs a SyncCache, got an async Cache/);
    assert.equal(runs, 0);
    const chosenWronglyAsync = cached((() => syncCache) as unknown as () => Cache<number>, { name: "g" })(
      async () => ++runs,
    );
    await assert.rejects(chosenWronglyAsync(), /cached\(\) needs an async Cache, got a SyncCache/);
    assert.equal(runs, 0);
    await asyncCache.close();
  });
});

describe("cachedSync() over a Redis SyncCache (worker thread)", { skip: unavailable }, () => {
  it("memoizes through Redis, and a Redis that is down does not fail the call", async () => {
    if (server === undefined) return;
    const errors: string[] = [];
    const cache = new built.SyncCache<unknown>({
      backend: `${server.url(3)}?timeout=200`,
      serializer: "json://",
      onError: (error, { operation }) => errors.push(`${error.name} ${operation}`),
    });
    try {
      cache.clear();
      let calls = 0;
      const square = built.cachedSync(cache)(function square(n: number): number {
        calls++;
        return n * n;
      });
      assert.equal(square(12), 144);
      assert.equal(square(12), 144);
      assert.equal(calls, 1);
      await server.crash();
      assert.equal(square(12), 144);
      assert.equal(calls, 2);
      assert.deepEqual(errors, ["BackendError get", "BackendError set"]);
    } finally {
      cache.close();
      await server.restart();
    }
  });
});
