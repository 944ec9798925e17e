import type { Duration } from "../../src/duration.js";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AsyncBackend } from "../../src/backends/contract.js";
import { MemoryBackend } from "../../src/backends/memory/backend.js";
import { Cache } from "../../src/cache/cache.js";
import { dummyCache, memoryCache } from "../../src/cache/shortcuts.js";
import type { CacheStats } from "../../src/cache/failure-policy.js";
import type { CacheErrorEvent } from "../../src/cache/options.js";
import { SyncCache } from "../../src/cache/sync-cache.js";
import {
  BackendError,
  CacheClosedError,
  CacheMissError,
  ConfigurationError,
  SerializationError,
} from "../../src/errors.js";
import { MemoryBackend as SyncMemoryBackend } from "../../src/backends/memory/sync-backend.js";
import { SyncBackendAdapter } from "../../src/backends/sync-adapter.js";
import { ManualClock } from "../support/clock.js";

/** The async API, whichever cache flavour is under it. */
interface AnyCache<V> {
  get(key: string, fallback?: unknown): Promise<unknown>;
  getMany(...keys: string[]): Promise<Map<string, V>>;
  set(key: string, value: V, options?: Parameters<Cache<V>["set"]>[2]): Promise<boolean>;
  setMany(entries: Parameters<Cache<V>["setMany"]>[0], options?: Parameters<Cache<V>["setMany"]>[1]): Promise<void>;
  expireIn(key: string, timeToLive?: Parameters<Cache<V>["expireIn"]>[1]): Promise<boolean>;
  delete(key: string): Promise<boolean>;
  deleteMany(...keys: string[]): Promise<number>;
  has(key: string): Promise<boolean>;
  clear(): Promise<void>;
  close(): Promise<void>;
  readonly stats: CacheStats;
}

function promised<V>(cache: SyncCache<V>): AnyCache<V> {
  return new Proxy(cache, {
    get(target, property) {
      const member = Reflect.get(target, property, target) as unknown;
      if (typeof member !== "function") return member;
      return async (...args: unknown[]) => (member as (...a: unknown[]) => unknown).apply(target, args);
    },
  }) as unknown as AnyCache<V>;
}

/** A memory backend of the flavour's kind, to share between caches and to plant raw bytes in. */
interface SharedBackend {
  readonly backend: unknown;
  plant(key: string, wire: unknown): Promise<void>;
  has(key: string): Promise<boolean>;
}

interface CreateOptions {
  serializer: string;
  prefix?: string;
  clock?: ManualClock;
  shared?: SharedBackend;
  undecodableValues?: "delete" | "keep" | "throw";
  onError?: (error: Error, event: CacheErrorEvent) => void;
}

interface Flavour {
  readonly name: string;
  shared(): SharedBackend;
  create<V>(options: CreateOptions): AnyCache<V>;
}

const clockOption = (options: CreateOptions) => (options.clock ? { clock: options.clock } : {});
/** The options that are the cache's (the clock and the shared backend are the test's). */
const cacheOptions = ({ clock: _clock, shared: _shared, ...options }: CreateOptions) => options;

const FLAVOURS: Flavour[] = [
  {
    name: "Cache",
    shared: () => {
      const backend = new MemoryBackend();
      return {
        backend,
        plant: async (key, wire) => {
          await backend.set(key, wire, {});
        },
        has: (key) => backend.has(key),
      };
    },
    create: <V>(options: CreateOptions) =>
      // The overloads of `get` do not line up with AnyCache's single signature; the calls are the same.
      new Cache<V>({
        ...cacheOptions(options),
        backend: (options.shared?.backend as MemoryBackend | undefined) ?? new MemoryBackend(clockOption(options)),
      }) as unknown as AnyCache<V>,
  },
  {
    name: "SyncCache",
    shared: () => {
      const backend = new SyncMemoryBackend();
      return {
        backend,
        plant: async (key, wire) => void backend.set(key, wire, {}),
        has: async (key) => backend.has(key),
      };
    },
    create: <V>(options: CreateOptions) =>
      promised(
        new SyncCache<V>({
          ...cacheOptions(options),
          backend:
            (options.shared?.backend as SyncMemoryBackend | undefined) ?? new SyncMemoryBackend(clockOption(options)),
        }),
      ),
  },
];

for (const flavour of FLAVOURS) {
  describe(`${flavour.name} operations`, () => {
    it("gets with and without a fallback", async () => {
      const cache = flavour.create<number>({ serializer: "json://" });
      assert.equal(await cache.get("absent"), undefined);
      assert.equal(await cache.get("absent", 7), 7);
      await cache.set("present", 42);
      assert.equal(await cache.get("present", 7), 42);
      await cache.set("zero", 0);
      assert.equal(await cache.get("zero", 7), 0);
    });

    it("answers getMany with the caller's keys, without the prefix", async () => {
      const shared = flavour.shared();
      const cache = flavour.create<number>({ serializer: "msgpack://", prefix: "app:", shared });
      await cache.setMany({ a: 1, b: 2 });
      assert.deepEqual(
        await cache.getMany("a", "b", "c", "a"),
        new Map([
          ["a", 1],
          ["b", 2],
        ]),
      );
      assert.deepEqual(await cache.getMany(), new Map());
      assert.equal(await shared.has("app:a"), true, "the backend holds the prefixed key");
    });

    it("accepts setMany entries as an object, a Map or an iterable, with one expiry", async () => {
      const clock = new ManualClock();
      const cache = flavour.create<string>({ serializer: "json://", clock });
      await cache.setMany({ a: "1" });
      await cache.setMany(new Map([["b", "2"]]), { timeToLive: "1s" });
      await cache.setMany(
        (function* () {
          yield ["c", "3"] as const;
        })(),
        { timeToLive: 500 },
      );
      await cache.setMany([]);
      assert.equal((await cache.getMany("a", "b", "c")).size, 3);
      clock.advance(1001);
      assert.deepEqual([...(await cache.getMany("a", "b", "c")).keys()], ["a"]);
    });

    it("sets with ifNotExists and timeToLive, and reports whether it stored", async () => {
      const clock = new ManualClock();
      const cache = flavour.create<string>({ serializer: "json://", clock });
      assert.equal(await cache.set("lock", "a", { ifNotExists: true, timeToLive: "30s" }), true);
      assert.equal(await cache.set("lock", "b", { ifNotExists: true }), false);
      assert.equal(await cache.get("lock"), "a");
      clock.advance(30_001);
      assert.equal(await cache.set("lock", "c", { ifNotExists: true }), true);
      assert.equal(await cache.get("lock"), "c");
      await assert.rejects(cache.set("bad", "x", { timeToLive: "soon" as Duration }), /invalid duration "soon"/);
      await assert.rejects(cache.set("bad", "x", { timeToLive: 0 }), RangeError);
      assert.equal(await cache.has("bad"), false);
    });

    it("expires, deletes and checks presence", async () => {
      const clock = new ManualClock();
      const cache = flavour.create<number>({ serializer: "json://", clock });
      await cache.setMany({ a: 1, b: 2, c: 3 });
      assert.equal(await cache.expireIn("a", "1m"), true);
      assert.equal(await cache.expireIn("absent", "1m"), false);
      await cache.set("d", 4, { timeToLive: "1m" });
      assert.equal(await cache.expireIn("d"), true, "no duration: never expires");
      clock.advance(60_001);
      assert.equal(await cache.has("a"), false);
      assert.equal(await cache.has("d"), true);
      assert.equal(await cache.delete("b"), true);
      assert.equal(await cache.delete("b"), false);
      assert.equal(await cache.deleteMany("b", "c", "c", "d"), 2);
      assert.equal(await cache.deleteMany(), 0);
    });

    it("clears only its own keys when it has a prefix", async () => {
      const shared = flavour.shared();
      const first = flavour.create<number>({ serializer: "json://", prefix: "one:", shared });
      const second = flavour.create<number>({ serializer: "json://", prefix: "two:", shared });
      await first.set("k", 1);
      await second.set("k", 2);
      await first.clear();
      assert.equal(await first.get("k"), undefined);
      assert.equal(await second.get("k"), 2);
      const whole = flavour.create<number>({ serializer: "json://", shared });
      await whole.clear();
      assert.equal(await second.get("k"), undefined);
    });

    it("names the key when a value cannot be encoded, and writes nothing", async () => {
      const cache = flavour.create<unknown>({ serializer: "json://" });
      await assert.rejects(
        cache.set("big-number", 1n),
        (error: unknown) =>
          error instanceof SerializationError &&
          error.key === "big-number" &&
          /cannot serialize the value of key "big-number" with json:\/\//.test(error.message),
      );
      assert.equal(await cache.has("big-number"), false);
      await assert.rejects(cache.setMany({ fine: 1, bad: 1n }), SerializationError);
      assert.equal(await cache.has("fine"), false, "a batch with one bad value writes nothing");
    });

    it("in strict mode, names the key when stored bytes cannot be decoded", async () => {
      const shared = flavour.shared();
      const cache = flavour.create<unknown>({ serializer: "msgpack+zlib://", shared, undecodableValues: "throw" });
      await shared.plant("corrupt", Buffer.from("not zlib at all"));
      await assert.rejects(
        cache.get("corrupt"),
        (error: unknown) =>
          error instanceof SerializationError && error.key === "corrupt" && error.cause instanceof Error,
      );
      assert.equal(await shared.has("corrupt"), true, "strict mode deletes nothing");
    });

    it("treats a value that does not decode as a miss, counts, reports and deletes it (B1)", async () => {
      const shared = flavour.shared();
      const reported: string[] = [];
      const cache = flavour.create<unknown>({
        serializer: "msgpack+zlib://",
        shared,
        onError: (error, { operation, key }) => reported.push(`${error.name} ${operation} ${String(key)}`),
      });
      await cache.set("good", { fine: true });
      await shared.plant("corrupt", Buffer.from("not zlib at all"));
      await shared.plant("also-corrupt", Buffer.from([0x78, 0x9c, 0xff]));
      assert.equal(await cache.get("corrupt", "fallback"), "fallback");
      assert.equal(await shared.has("corrupt"), false, "deleted by default");
      assert.deepEqual(await cache.getMany("good", "also-corrupt"), new Map([["good", { fine: true }]]));
      assert.equal(await shared.has("also-corrupt"), false);
      assert.equal(cache.stats.undecodableValues, 2);
      assert.deepEqual(reported, ["SerializationError get corrupt", "SerializationError get also-corrupt"]);
      assert.deepEqual(await cache.get("good"), { fine: true }, "other keys are unaffected");
    });

    it("keeps undecodable values when asked, still answering a miss", async () => {
      const shared = flavour.shared();
      const cache = flavour.create<unknown>({
        serializer: "json://",
        shared,
        undecodableValues: "keep",
        onError: () => {},
      });
      await shared.plant("corrupt", "{not json");
      assert.equal(await cache.get("corrupt"), undefined);
      assert.equal(await shared.has("corrupt"), true);
    });

    it("rejects every operation once closed, and closes idempotently", async () => {
      const cache = flavour.create<number>({ serializer: "json://" });
      await cache.set("a", 1);
      await cache.close();
      await cache.close();
      await assert.rejects(cache.get("a"), CacheClosedError);
      await assert.rejects(cache.set("a", 1), CacheClosedError);
      await assert.rejects(cache.clear(), CacheClosedError);
    });
  });
}

describe("Cache construction", () => {
  it("takes URLs for the backend and the serializer", async () => {
    await using cache = new Cache<number>({ backend: "memory://?max-entries=10", serializer: "msgpack+zstd://" });
    assert.ok(cache.backend instanceof MemoryBackend);
    await cache.set("a", 1);
    assert.equal(await cache.get("a"), 1);
  });

  it("fails clearly for unknown schemes", () => {
    assert.throws(
      () => new Cache({ backend: "nosuchstore://localhost", serializer: "json://" }),
      (error: unknown) =>
        error instanceof ConfigurationError &&
        /known schemes: dummy:\/\/, file:\/\/, memcached:\/\/, memory:\/\//.test(error.message),
    );
    assert.throws(() => new SyncCache({ backend: "memory://", serializer: "xml://" }), ConfigurationError);
  });

  it("wraps a failing backend's error in a BackendError naming the operation and key", async () => {
    // Its operations are replaced, so it is no longer what a synchronous view would read: no capabilities.
    const failing = Object.assign(new SyncBackendAdapter(SyncCache.memory().backend), {
      capabilities: {},
    }) as unknown as AsyncBackend;
    failing.get = async () => {
      throw new Error("connection lost");
    };
    const cache = new Cache<number>({ backend: failing, serializer: "json://" });
    await assert.rejects(
      cache.get("user:1"),
      (error: unknown) =>
        error instanceof BackendError &&
        error.key === "user:1" &&
        error.message === 'get of key "user:1" failed: connection lost' &&
        (error.cause as Error).message === "connection lost",
    );
  });

  it('answers failed reads as misses with failedReads: "miss", and still rejects failed writes', async () => {
    // Its operations are replaced, so it is no longer what a synchronous view would read: no capabilities.
    const failing = Object.assign(new SyncBackendAdapter(SyncCache.memory().backend), {
      capabilities: {},
    }) as unknown as AsyncBackend;
    for (const operation of ["get", "getMany", "has", "set", "delete"] as const) {
      (failing as unknown as Record<string, () => Promise<never>>)[operation] = async () => {
        throw new Error("connection lost");
      };
    }
    const reported: string[] = [];
    const cache = new Cache<number>({
      backend: failing,
      serializer: "json://",
      failedReads: "miss",
      onError: (error, { operation }) => reported.push(`${error.name} ${operation}`),
    });
    assert.equal(await cache.get("a", 7), 7);
    assert.deepEqual(await cache.getMany("a", "b"), new Map());
    assert.equal(await cache.has("a"), false);
    await assert.rejects(cache.set("a", 1), BackendError);
    await assert.rejects(cache.delete("a"), BackendError);
    assert.deepEqual(cache.stats, {
      failedReads: 3,
      failedWrites: 2,
      undecodableValues: 0,
      staleHits: 0,
      refreshes: 0,
      // A failed read answered as a miss is a miss, of each key asked.
      hits: 0,
      misses: 3,
      nearHits: 0,
      backendHits: 0,
      writes: 1,
      deletes: 1,
      hitRatio: 0,
    });
    assert.deepEqual(reported, [
      "BackendError get",
      "BackendError getMany",
      "BackendError has",
      "BackendError set",
      "BackendError delete",
    ]);
    assert.throws(
      () => new Cache<number>({ backend: failing, serializer: "json://", failedReads: "maybe" as "miss" }),
      /failedReads must be "throw" or "miss", got "maybe"/,
    );
  });

  it("closes at the end of an `await using` scope", async () => {
    let outer: Cache<number> | undefined;
    {
      await using cache = memoryCache<number>();
      outer = cache;
      await cache.set("a", 1);
    }
    await assert.rejects(outer.get("a"), CacheClosedError);
  });
});

describe("shortcuts", () => {
  it("memoryCache keeps values as they are; dummyCache keeps nothing", async () => {
    const value = { mutable: true };
    const memory = memoryCache<typeof value>({ maxEntries: 10, prefix: "p:" });
    await memory.set("a", value);
    assert.equal(await memory.get("a"), value);
    const dummy = dummyCache<number>();
    assert.equal(await dummy.set("a", 1), true);
    assert.equal(await dummy.get("a"), undefined);
  });

  it("SyncCache.memory and SyncCache.dummy, getOrThrow and `using`", () => {
    let outer: SyncCache<number> | undefined;
    {
      using cache = SyncCache.memory<number>({ prefix: "p:" });
      outer = cache;
      cache.set("a", 1);
      assert.equal(cache.getOrThrow("a"), 1);
      assert.throws(
        () => cache.getOrThrow("absent"),
        (error: unknown) => error instanceof CacheMissError && error.key === "absent",
      );
    }
    assert.throws(() => outer.get("a"), CacheClosedError);
    const dummy = SyncCache.dummy<number>();
    assert.equal(dummy.set("a", 1), true);
    assert.throws(() => dummy.getOrThrow("a"), CacheMissError);
  });

  it("getOrThrow tells a stored undefined from a miss", () => {
    const cache = SyncCache.memory<null | undefined>();
    cache.set("nothing", undefined);
    assert.equal(cache.has("nothing"), true);
    assert.equal(cache.getOrThrow("nothing") ?? "stored undefined", "stored undefined");
  });
});
