/**
 * Options as plain JavaScript passes them: the keyv and cache-manager forms (`set(k, v, 5000)`,
 * `{ ttl: 5000 }`), constructor options from unset environment variables, and durations past what a
 * backend can hold. Each is a typed error that names the problem, before anything is written.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { createClient } from "redis";
import { RedisBackend } from "../../src/backends/redis/backend.js";
import { MemoryBackend } from "../../src/backends/memory/backend.js";
import { RedisBackend as SyncRedisBackend } from "../../src/backends/redis/sync-backend.js";
import { Cache, cached, cachedSync, SyncCache } from "../../src/index.js";
import { needsRedis, RedisServer } from "../support/redis-server.js";

/** The caches as a JavaScript caller sees them: no types to stop a wrong argument. */
type Loose = Record<string, (...args: unknown[]) => unknown>;

describe("per-call options from JavaScript", () => {
  const wrongForms: [string, [string, ...unknown[]], RegExp][] = [
    [
      "set(k, v, 5000)",
      ["set", "k", 1, 5000],
      /set\(\) takes an options object such as \{ timeToLive: "5m" \}.*got number 5000/,
    ],
    ['set(k, v, "5m")', ["set", "k", 1, "5m"], /set\(\) takes an options object.*got "5m"/],
    [
      "set(k, v, { ttl: 5000 })",
      ["set", "k", 1, { ttl: 5000 }],
      /unknown option "ttl" for set\(\); known: timeToLive, ifNotExists/,
    ],
    ["set(k, v, null)", ["set", "k", 1, null], /set\(\) takes an options object.*got null/],
    [
      "setMany(entries, 5000)",
      ["setMany", { a: 1 }, 5000],
      /setMany\(\) takes an options object such as \{ timeToLive: "5m" \}, got number 5000/,
    ],
    [
      "setMany(entries, { ttl })",
      ["setMany", { a: 1 }, { ttl: 5 }],
      /unknown option "ttl" for setMany\(\); known: timeToLive/,
    ],
    [
      "setMany(entries, { ifNotExists })",
      ["setMany", { a: 1 }, { ifNotExists: true }],
      /unknown option "ifNotExists" for setMany\(\)/,
    ],
  ];

  for (const [form, [method, ...args], message] of wrongForms) {
    it(`${form} is a TypeError showing the right form, and writes nothing`, async () => {
      const cache = new Cache({ backend: "memory://", serializer: "json://" });
      await assert.rejects(
        Promise.resolve().then(() => (cache as unknown as Loose)[method]?.(...args)),
        (error: unknown) => error instanceof TypeError && message.test(error.message),
      );
      assert.deepEqual([...(await cache.getMany("k", "a"))], []);
      const syncCache = new SyncCache({ backend: "memory://", serializer: "json://" });
      assert.throws(
        () => (syncCache as unknown as Loose)[method]?.(...args),
        (error: unknown) => error instanceof TypeError && message.test(error.message),
      );
      assert.deepEqual([...syncCache.getMany("k", "a")], []);
    });
  }

  it("still takes no options, undefined, and the right ones", async () => {
    const cache = new Cache({ backend: "memory://", serializer: "json://" });
    assert.equal(await cache.set("a", 1), true);
    assert.equal(await cache.set("b", 1, undefined), true);
    assert.equal(await cache.set("c", 1, { timeToLive: "5m", ifNotExists: true }), true);
    await cache.setMany({ d: 1 }, { timeToLive: 5000 });
    assert.equal((await cache.getMany("a", "b", "c", "d")).size, 4);
  });
});

describe("constructor options from JavaScript", () => {
  const cases: [string, unknown, RegExp][] = [
    [
      "no options",
      undefined,
      /new Cache\(\) needs options such as \{ backend: "memory:\/\/", serializer: "json:\/\/" \}/,
    ],
    ["{}", {}, /the backend option of Cache must be a URL .*got undefined \(an unset environment variable\?\)/],
    ["backend: undefined", { backend: undefined, serializer: "json://" }, /backend option of Cache.*got undefined/],
    ["backend: 123", { backend: 123, serializer: "json://" }, /backend option of Cache.*got number 123/],
    [
      "backend: {}",
      { backend: {}, serializer: "json://" },
      /backend option of Cache is an object without get\(\), getMany\(\)/,
    ],
    [
      "no serializer",
      { backend: "memory://" },
      /the serializer option of Cache must be a URL such as "json:\/\/".*got undefined/,
    ],
    [
      "serializer: {}",
      { backend: "memory://", serializer: {} },
      /serializer option of Cache is an object without serialize\(\), deserialize\(\)/,
    ],
    [
      'onError: "log"',
      { backend: "memory://", serializer: "json://", onError: "log" },
      /the onError option of Cache must be a function.*got "log"/,
    ],
    [
      "prefix: 7",
      { backend: "memory://", serializer: "json://", prefix: 7 },
      /the prefix option of Cache must be a string, got number 7/,
    ],
    [
      "an unknown name",
      { backend: "memory://", serializer: "json://", ttl: 5 },
      /unknown option "ttl" for new Cache\(\); known: backend, serializer, prefix/,
    ],
    ['options: "memory://"', "memory://", /new Cache\(\) takes an options object.*got "memory:\/\/"/],
  ];
  for (const [name, options, message] of cases) {
    it(`${name} is a ConfigurationError naming the option, at construction`, () => {
      const Loose = Cache as unknown as new (options: unknown) => Cache;
      assert.throws(() => new Loose(options), { name: "ConfigurationError", message });
      const LooseSync = SyncCache as unknown as new (options: unknown) => SyncCache;
      assert.throws(() => new LooseSync(options), {
        name: "ConfigurationError",
        message: new RegExp(message.source.replaceAll("Cache", "SyncCache")),
      });
    });
  }
});

describe("one upper bound on durations (2^53 ms), before anything is sent", () => {
  const servers: RedisServer[] = [];
  after(async () => {
    for (const server of servers) await server.stop();
  });

  it("memory and Redis refuse 1e20 and 1e300 ms with the same RangeError, and take 2^53", needsRedis(), async () => {
    const server = await RedisServer.start();
    servers.push(server);
    const probe = createClient({ url: server.url() });
    await probe.connect();
    try {
      for (const backend of ["memory://", server.url()]) {
        const cache = new Cache<number>({ backend, serializer: "json://" });
        for (const timeToLive of [1e20, 1e300, 2 ** 53 + 2]) {
          await assert.rejects(cache.set("k", 1, { timeToLive }), {
            name: "RangeError",
            message: /must be at most 9007199254740992 ms/,
          });
          await assert.rejects(cache.setMany({ k: 1 }, { timeToLive }), { name: "RangeError" });
          await assert.rejects(cache.expireIn("k", timeToLive), { name: "RangeError" });
        }
        assert.equal(await cache.get("k"), undefined);
        assert.equal(await cache.set("k", 1, { timeToLive: 2 ** 53 }), true);
        assert.equal(await cache.get("k"), 1);
        await cache.close();
      }
      // Nothing but the good write reached Redis.
      const stats = await probe.sendCommand<string>(["INFO", "commandstats"]);
      assert.match(stats, /cmdstat_set:calls=1,/);
    } finally {
      probe.destroy();
    }
  });
});

describe("the options of memoizers and backends from JavaScript", () => {
  it("each refuses a non-object and an unknown name with a ConfigurationError that names it", () => {
    const loose = (fn: (options: never) => unknown) => fn as (options: unknown) => unknown;
    const cache = new Cache({ backend: "memory://", serializer: "json://" });
    const syncCache = SyncCache.memory();
    const cases: [string, () => unknown, RegExp][] = [
      ["cached", () => cached(cache, { ttl: 5 } as never), /unknown option "ttl" for cached\(\); known: makeKey/],
      ["cached", () => loose((options: never) => cached(cache, options))(5000), /cached\(\) takes an options object/],
      [
        "cachedSync",
        () => cachedSync(syncCache, { waitTimeout: 5 } as never),
        /unknown option "waitTimeout" for cachedSync\(\)/,
      ],
      ["MemoryBackend", () => new MemoryBackend({ max: 5 } as never), /unknown option "max" for MemoryBackend/],
      [
        "RedisBackend",
        () => new RedisBackend({ url: "redis://127.0.0.1:1/0", ttl: 5 } as never),
        /unknown option "ttl" for RedisBackend; known: url, client, closeClient, notifyChanges, timeout/,
      ],
      [
        "sync RedisBackend",
        () => new SyncRedisBackend({ url: "redis://127.0.0.1:1/0", connectTimeOut: 5 } as never),
        /unknown option "connectTimeOut" for the synchronous RedisBackend/,
      ],
    ];
    for (const [name, build, message] of cases) {
      assert.throws(build, { name: "ConfigurationError", message }, name);
    }
  });

  it("checks a RedisBackend option against the same range as its URL parameter", () => {
    for (const [options, message] of [
      [{ reconnectMaxDelay: 1 }, /reconnectMaxDelay must be an integer 10–600000, got 1/],
      [{ maxInFlight: 2 ** 30 }, /maxInFlight must be an integer 1–10000000/],
      [{ breakerThreshold: 2_000_000 }, /breakerThreshold must be an integer 0–1000000/],
    ] as const) {
      assert.throws(() => new RedisBackend({ url: "redis://127.0.0.1:1/0", ...options }), {
        name: "ConfigurationError",
        message,
      });
      const query = Object.entries(options)
        .map(([name, value]) => `${name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}=${String(value)}`)
        .join("&");
      assert.throws(() => new RedisBackend({ url: `redis://127.0.0.1:1/0?${query}` }), { name: "ConfigurationError" });
    }
  });
});
