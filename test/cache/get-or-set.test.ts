/**
 * getOrSet's state table (docs/get-or-set.md), one test per cell, each on memory (values as they are,
 * and JSON bytes), on Redis, and on Redis with a near tier; then G1 (1 000 callers on a stale entry), G3
 * (soft and hard timeouts), the options' checks, cached() and cachedSync() with the same options, the
 * envelope's rules, SyncCache.getOrSet, and a property test that nothing older than
 * timeToLive + staleWhileRevalidate + grace is ever served. Times are short and one-sided: a state is
 * reached by waiting past its end, never by hitting a window.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { Cache } from "../../src/cache/cache.js";
import { SyncCache } from "../../src/cache/sync-cache.js";
import type { CacheErrorEvent } from "../../src/cache/options.js";
import type { GetOrSetOptions } from "../../src/cache/get-or-set-options.js";
import { CacheTimeoutError, ConfigurationError } from "../../src/errors.js";
import { envelope, openEnvelope, payloadOf } from "../../src/cache/envelope.js";
import { cached } from "../../src/memoize/cached.js";
import { cachedSync } from "../../src/memoize/cached-sync.js";
import { sleep } from "../support/fault-guard.js";
import { ScriptedBackend } from "../support/scripted-backend.js";
import { redisUnavailableReason, RedisServer } from "../support/redis-server.js";

const unavailable = redisUnavailableReason();
const server = unavailable === undefined ? await RedisServer.start() : undefined;
after(async () => {
  await server?.stop();
});

interface Flavour {
  readonly name: string;
  readonly skip?: string;
  readonly create: (options?: { onError?: (error: Error, event: CacheErrorEvent) => void }) => Promise<Cache>;
}

let nextDatabase = 0;
async function redisCache(near: boolean, options: { onError?: (error: Error, event: CacheErrorEvent) => void }) {
  if (server === undefined) throw new Error("no redis-server");
  const cache = new Cache<unknown>({
    backend: server.url(nextDatabase++ % 16),
    serializer: near ? "json://" : "msgpack://",
    ...(near ? { near: true } : {}),
    ...options,
  });
  await cache.clear();
  return cache;
}

const flavours: Flavour[] = [
  {
    name: "memory (values as they are)",
    create: async (options = {}) => new Cache<unknown>({ backend: "memory://", serializer: "noop://", ...options }),
  },
  {
    name: "memory (JSON)",
    create: async (options = {}) => new Cache<unknown>({ backend: "memory://", serializer: "json://", ...options }),
  },
  {
    // A compressing chain decodes off the event loop: every read takes the promise path.
    name: "memory (JSON + gzip, decoded asynchronously)",
    create: async (options = {}) =>
      new Cache<unknown>({ backend: "memory://", serializer: "json+gzip://", ...options }),
  },
  {
    name: "Redis",
    ...(unavailable === undefined ? {} : { skip: unavailable }),
    create: (options = {}) => redisCache(false, options),
  },
  {
    name: "Redis with a near tier",
    ...(unavailable === undefined ? {} : { skip: unavailable }),
    create: (options = {}) => redisCache(true, options),
  },
];

/** A factory that counts its calls, answers `value(n)` for the n-th, after `delayMs`. */
function factory(delayMs = 0, value: (call: number) => unknown = (call) => ({ call })) {
  const state = { calls: 0, aborted: 0 };
  const run = async ({ signal }: { signal: AbortSignal }): Promise<unknown> => {
    const call = ++state.calls;
    signal.addEventListener("abort", () => state.aborted++);
    if (delayMs > 0) await sleep(delayMs);
    return value(call);
  };
  return { run, state };
}

function failing(message = "the database is down") {
  const state = { calls: 0 };
  const run = async (): Promise<never> => {
    state.calls++;
    await sleep(1);
    throw new Error(message);
  };
  return { run, state };
}

/** Stores a value for `key` through getOrSet with `options`, then waits `wait` ms so that it ages into a state. */
async function storeAndAge(cache: Cache, key: string, options: GetOrSetOptions, wait: number): Promise<void> {
  await cache.getOrSet(key, () => ({ call: 0 }), options);
  await sleep(wait);
}

/** Waits until `check` holds (background work settles), at most `limitMs`. */
async function eventually(check: () => boolean | Promise<boolean>, limitMs = 2000): Promise<void> {
  const until = performance.now() + limitMs;
  while (!(await check())) {
    if (performance.now() > until) throw new Error("the condition did not come true in time");
    await sleep(5);
  }
}

const STALE = { timeToLive: 20, staleWhileRevalidate: 60_000 } as const;
const GRACE = { timeToLive: 20, grace: 60_000 } as const;
const GONE = { timeToLive: 10, staleWhileRevalidate: 10, grace: 10 } as const;

for (const flavour of flavours) {
  describe(
    `getOrSet's state table over ${flavour.name}`,
    flavour.skip === undefined ? {} : { skip: flavour.skip },
    () => {
      it("S1 absent: computes once for every concurrent caller, stores, then serves it", async () => {
        await using cache = await flavour.create();
        const { run, state } = factory(20);
        const answers = await Promise.all(
          Array.from({ length: 50 }, () => cache.getOrSet("k", run, { timeToLive: "1m" })),
        );
        assert.equal(state.calls, 1);
        assert.ok(answers.every((answer) => (answer as { call: number }).call === 1));
        assert.deepEqual(await cache.getOrSet("k", run, { timeToLive: "1m" }), { call: 1 });
        assert.deepEqual(await cache.get("k"), { call: 1 });
        assert.equal(state.calls, 1);
      });

      it("S2 absent, the factory throws: every waiter rejects with its error, nothing is stored", async () => {
        await using cache = await flavour.create();
        const { run, state } = failing("no such user");
        const results = await Promise.allSettled(Array.from({ length: 10 }, () => cache.getOrSet("k", run, GRACE)));
        assert.equal(state.calls, 1);
        for (const result of results) {
          assert.equal(result.status, "rejected");
          assert.equal((result.reason as Error).message, "no such user");
        }
        assert.equal(await cache.has("k"), false);
      });

      it("S3 absent, slower than timeout.soft: there is no stale value, so the caller waits", async () => {
        await using cache = await flavour.create();
        const { run } = factory(60);
        const started = performance.now();
        assert.deepEqual(await cache.getOrSet("k", run, { ...GRACE, timeout: { soft: 5 } }), { call: 1 });
        assert.ok(performance.now() - started >= 55);
      });

      it("S4 absent, slower than timeout.hard: CacheTimeoutError for every waiter, signal aborted, nothing stored, the next call starts afresh", async () => {
        await using cache = await flavour.create();
        const { run, state } = factory(300);
        const results = await Promise.allSettled(
          Array.from({ length: 5 }, () => cache.getOrSet("k", run, { timeToLive: "1m", timeout: { hard: 30 } })),
        );
        for (const result of results) {
          assert.equal(result.status, "rejected");
          assert.ok(result.reason instanceof CacheTimeoutError, String(result.reason));
          assert.match((result.reason as Error).message, /timeout\.hard \(30 ms\)/);
        }
        assert.equal(state.aborted, 1);
        const quick = factory(0, () => "second");
        assert.equal(await cache.getOrSet("k", quick.run, { timeToLive: "1m" }), "second");
        await sleep(320);
        // The first computation ended after its callers were released: it did not replace the second.
        assert.equal(await cache.get("k"), "second");
        assert.equal(state.calls, 1);
      });

      it("S5 fresh: the value, no call", async () => {
        await using cache = await flavour.create();
        await storeAndAge(cache, "k", STALE, 0);
        const { run, state } = factory();
        assert.deepEqual(await cache.getOrSet("k", run, STALE), { call: 0 });
        assert.equal(state.calls, 0);
        assert.equal(cache.stats.staleHits, 0);
      });

      it("S6 fresh with earlyRefresh: the value at once, and refreshes ahead of expiry in the background", async () => {
        await using cache = await flavour.create();
        // A factory that took 200 ms, 300 ms from expiry, beta 100: each read draws a refresh with a
        // probability of 1 - e^(-300/20000), 98.5 %; five reads miss it with odds of 1 in 10^9.
        const early = { timeToLive: 300, earlyRefresh: 100 };
        await cache.getOrSet("k", async () => (await sleep(200), { call: 0 }), early);
        const { run, state } = factory();
        for (let read = 0; read < 5; read++) {
          const answer = (await cache.getOrSet("k", run, early)) as { call: number };
          assert.ok(answer.call === 0 || answer.call === 1);
        }
        // Its own computation took no time: the new value is not refreshed early again.
        await eventually(async () => state.calls === 1 && (await cache.get("k")) !== undefined);
        assert.deepEqual(await cache.get("k"), { call: 1 });
        assert.equal(cache.stats.refreshes, 1);
        assert.equal(cache.stats.staleHits, 0);
      });

      it("S7 stale: the stale value at once to every caller, one background refresh, then the fresh value", async () => {
        await using cache = await flavour.create();
        await storeAndAge(cache, "k", STALE, 30);
        const { run, state } = factory(400);
        const started = performance.now();
        const answers = await Promise.all(Array.from({ length: 100 }, () => cache.getOrSet("k", run, STALE)));
        assert.ok(performance.now() - started < 350, "no caller waited for the factory");
        assert.ok(answers.every((answer) => (answer as { call: number }).call === 0));
        assert.equal(cache.stats.staleHits, 100);
        await eventually(async () => ((await cache.get("k")) as { call: number } | undefined)?.call === 1);
        assert.deepEqual(await cache.getOrSet("k", run, STALE), { call: 1 });
        assert.equal(state.calls, 1);
        assert.equal(cache.stats.refreshes, 1);
      });

      it("S8 stale, the background refresh throws: the stale value still, the error reported, the next call tries again", async () => {
        const reported: string[] = [];
        await using cache = await flavour.create({ onError: (error) => reported.push(error.message) });
        await storeAndAge(cache, "k", STALE, 30);
        const { run, state } = failing();
        assert.deepEqual(await cache.getOrSet("k", run, STALE), { call: 0 });
        await eventually(() => reported.length === 1);
        assert.match(reported[0] ?? "", /the refresh of key "k" failed: the database is down/);
        assert.deepEqual(await cache.getOrSet("k", run, STALE), { call: 0 });
        await eventually(() => state.calls === 2);
      });

      it("S9 grace: the caller waits for the refresh and gets its value", async () => {
        await using cache = await flavour.create();
        await storeAndAge(cache, "k", GRACE, 30);
        const { run, state } = factory(20);
        assert.deepEqual(await cache.getOrSet("k", run, GRACE), { call: 1 });
        assert.equal(state.calls, 1);
        assert.equal(cache.stats.staleHits, 0);
        assert.equal(cache.stats.refreshes, 1);
      });

      it("S10 grace, the factory throws: the stale value, counted as a stale hit, the error reported", async () => {
        const reported: string[] = [];
        await using cache = await flavour.create({ onError: (error) => reported.push(error.message) });
        await storeAndAge(cache, "k", GRACE, 30);
        const { run } = failing();
        const answers = await Promise.all(Array.from({ length: 10 }, () => cache.getOrSet("k", run, GRACE)));
        assert.ok(answers.every((answer) => (answer as { call: number }).call === 0));
        assert.equal(cache.stats.staleHits, 10);
        assert.equal(reported.length, 1);
      });

      it("S11 grace, slower than timeout.soft: the stale value at the soft timeout; the refresh goes on and is stored", async () => {
        await using cache = await flavour.create();
        await storeAndAge(cache, "k", GRACE, 30);
        const { run, state } = factory(500);
        const started = performance.now();
        assert.deepEqual(await cache.getOrSet("k", run, { ...GRACE, timeout: { soft: 20 } }), { call: 0 });
        const waited = performance.now() - started;
        assert.ok(waited >= 15 && waited < 450, `answered after ${String(waited)} ms`);
        await eventually(async () => ((await cache.get("k")) as { call: number } | undefined)?.call === 1);
        assert.equal(state.calls, 1);
      });

      it("S12 grace, slower than timeout.hard: the stale value at the hard timeout, the signal aborted", async () => {
        await using cache = await flavour.create();
        await storeAndAge(cache, "k", GRACE, 30);
        const { run, state } = factory(300);
        assert.deepEqual(await cache.getOrSet("k", run, { ...GRACE, timeout: { hard: 20 } }), { call: 0 });
        assert.equal(state.aborted, 1);
        assert.equal(cache.stats.staleHits, 1);
      });

      it("S13 past grace: a miss; the factory's error reaches the caller", async () => {
        await using cache = await flavour.create();
        await storeAndAge(cache, "k", GONE, 60);
        const { run } = failing("still down");
        await assert.rejects(cache.getOrSet("k", run, GONE), /still down/);
        const ok = factory();
        assert.deepEqual(await cache.getOrSet("k", ok.run, GONE), { call: 1 });
      });

      it("S14 a plain entry (written by set): fresh for as long as it is stored", async () => {
        await using cache = await flavour.create();
        await cache.set("k", "plain", { timeToLive: "1m" });
        const { run, state } = factory();
        assert.equal(await cache.getOrSet("k", run, STALE), "plain");
        assert.equal(state.calls, 0);
      });

      it("S15 a delete while computing: the callers get the value, the cache does not keep it", async () => {
        await using cache = await flavour.create();
        const { run, state } = factory(40);
        const answer = cache.getOrSet("k", run, { timeToLive: "1m" });
        // Deleted once the computation has begun (on Redis the read of the miss comes first).
        await eventually(() => state.calls === 1);
        await cache.delete("k");
        assert.deepEqual(await answer, { call: 1 });
        assert.equal(await cache.has("k"), false);
      });

      it("a plain get returns the value of a fresh or stale enveloped entry, never the envelope", async () => {
        await using cache = await flavour.create();
        await storeAndAge(cache, "k", STALE, 30);
        assert.deepEqual(await cache.get("k"), { call: 0 });
        assert.deepEqual(await cache.getMany("k"), new Map([["k", { call: 0 }]]));
      });
    },
  );
}

describe("getOrSet: G1, 1 000 concurrent callers on a stale entry", () => {
  it("every caller gets the stale value at once; exactly one background refresh; the next call is fresh", async () => {
    await using cache = new Cache<unknown>({ backend: "memory://", serializer: "json://" });
    await storeAndAge(cache, "k", STALE, 30);
    const { run, state } = factory(500);
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 1000 }, () => cache.getOrSet("k", run, STALE)));
    const elapsed = performance.now() - started;
    console.log(`# G1: 1 000 callers had the stale value in ${elapsed.toFixed(1)} ms; the refresh takes 500 ms`);
    assert.ok(elapsed < 450, "no caller waited for the factory");
    assert.equal(answers.filter((answer) => (answer as { call: number }).call === 0).length, 1000);
    await eventually(() => state.calls === 1 && cache.stats.refreshes === 1);
    await eventually(async () => ((await cache.get("k")) as { call: number }).call === 1);
    assert.deepEqual(await cache.getOrSet("k", run, STALE), { call: 1 });
    assert.equal(state.calls, 1);
  });
});

describe("getOrSet with lock distributed over a backend without locks", () => {
  it("computes once per process and warns once (CACHETORY_NO_LOCKS); over memory it says nothing", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error & { code?: string }): void => {
      if (warning.code === "CACHETORY_NO_LOCKS") warnings.push(warning.message);
    };
    process.on("warning", onWarning);
    try {
      await using remote = new Cache<unknown>({ backend: new ScriptedBackend(), serializer: "json://" });
      await using memory = new Cache<unknown>({ backend: "memory://", serializer: "json://" });
      for (const cache of [remote, memory]) {
        const { run, state } = factory(10);
        const options = { timeToLive: "1m", lock: "distributed" } as const;
        await Promise.all([1, 2, 3].map((n) => cache.getOrSet(`k${String(n % 2)}`, run, options)));
        await cache.getOrSet("k9", run, options);
        assert.equal(state.calls, 3);
      }
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(warnings.length, 1);
      assert.match(
        warnings[0] ?? "",
        /needs a backend with locks .* ScriptedBackend has none, so each process computes once instead/,
      );
    } finally {
      process.off("warning", onWarning);
    }
  });
});

describe("getOrSet's options", () => {
  const cache = new Cache<unknown>({ backend: "memory://", serializer: "json://" });
  after(() => cache.close());
  const bad: [string, unknown, RegExp][] = [
    ["an unknown option", { ttl: 5 }, /unknown option "ttl" for getOrSet\(\)/],
    ["a window without timeToLive", { grace: "1h" }, /give a timeToLive too/],
    ["a bad duration", { timeToLive: "5 minutes" }, /timeToLive of getOrSet\(\)/],
    [
      "a soft timeout not below the hard",
      { timeToLive: 1, timeout: { soft: "2s", hard: "1s" } },
      /shorter than timeout\.hard/,
    ],
    ["an unknown timeout", { timeout: { medium: 1 } }, /unknown option "medium" for timeout of getOrSet\(\)/],
    ["a bad lock", { lock: "cluster" }, /lock of getOrSet\(\) must be "process" or "distributed", got "cluster"/],
    ["a negative earlyRefresh", { timeToLive: 1, earlyRefresh: -1 }, /earlyRefresh .* a number ≥ 0/],
    ["tags that are not an array", { tags: "user:1" }, /tags of getOrSet\(\) must be an array of strings/],
    ["an empty tag", { tags: [""] }, /non-empty strings/],
    ["too many tags", { tags: Array.from({ length: 1001 }, (_, index) => `t${String(index)}`) }, /at most 1000 tags/],
    ["options that are not an object", 5000, /getOrSet\(\) takes an options object/],
  ];
  for (const [what, options, message] of bad) {
    it(`refuses ${what} with a ConfigurationError that names it`, async () => {
      await assert.rejects(
        cache.getOrSet("k", () => 1, options as GetOrSetOptions),
        (error: unknown) => error instanceof ConfigurationError && message.test(error.message),
      );
    });
  }

  it("refuses a factory that is not a function, and a closed cache", async () => {
    await assert.rejects(cache.getOrSet("k", 5 as never), TypeError);
    const closed = new Cache<unknown>({ backend: "memory://", serializer: "json://" });
    await closed.close();
    await assert.rejects(
      closed.getOrSet("k", () => 1),
      { code: "CACHETORY_CACHE_CLOSED" },
    );
  });

  it("keeps 1 000 tags, duplicates dropped, and the value reads back", async () => {
    const tags = Array.from({ length: 1000 }, (_, index) => `tag:${String(index)}:{x}*ü`);
    assert.equal(await cache.getOrSet("tagged", () => "v", { timeToLive: "1m", tags: [...tags, ...tags] }), "v");
    assert.equal(await cache.get("tagged"), "v");
  });

  it("a value that cannot be encoded is returned, and reported, not stored", async () => {
    const reported: string[] = [];
    const strict = new Cache<unknown>({
      backend: "memory://",
      serializer: "json://",
      onError: (error) => reported.push(error.name),
    });
    assert.equal(await strict.getOrSet("big", () => 10n, { timeToLive: "1m" }), 10n);
    assert.deepEqual(reported, ["SerializationError"]);
    assert.equal(await strict.has("big"), false);
    await strict.close();
  });
});

describe("the envelope", () => {
  const stamps = ["0123456789abcdef".repeat(2), "fedcba9876543210".repeat(2)];
  const metadata = {
    fence: 7,
    freshUntil: 1000,
    staleUntil: 2000,
    graceUntil: 3000,
    staleFor: 1000,
    graceFor: 1000,
    computeMs: 42,
    tags: ["a", "ü"],
    stamps,
  };

  it("is bytes with the documented layout for a store of bytes, and opens back into its parts", () => {
    const bytes = envelope('{"a":1}', metadata) as Buffer;
    assert.deepEqual([...bytes.subarray(0, 6)], [0x00, 0x63, 0x74, 0x79, 0x65, 0x02]);
    assert.equal(bytes[6], 1, "the payload was text");
    assert.equal(bytes.subarray(7, 23).toString(), "0000000000000007");
    assert.equal(bytes.readDoubleBE(23), 1000);
    assert.equal(bytes.readDoubleBE(31), 1000, "the stale window's length");
    assert.equal(bytes.readDoubleBE(39), 1000, "the grace window's length");
    assert.equal(bytes.readUInt32BE(47), 42);
    assert.equal(bytes.readUInt16BE(51), 2);
    assert.equal(bytes.readUInt16BE(53), 1);
    assert.equal(bytes.subarray(55, 56).toString(), "a");
    assert.equal(bytes.subarray(56, 88).toString(), stamps[0]);
    assert.equal(bytes.subarray(-7).toString(), '{"a":1}');
    assert.deepEqual(openEnvelope(bytes), { payload: '{"a":1}', metadata });
    assert.equal(payloadOf(bytes), '{"a":1}');
    const raw = envelope(Buffer.from([1, 2, 3]), { ...metadata, tags: [], stamps: [] }) as Buffer;
    assert.deepEqual(payloadOf(raw), Buffer.from([1, 2, 3]));
  });

  it("reads version 1 (the ends of the windows as times, tags without stamps): its tagged entries match no tag state", () => {
    const tag = Buffer.from("a");
    const header = Buffer.alloc(53);
    Buffer.from([0x00, 0x63, 0x74, 0x79, 0x65, 0x01]).copy(header);
    header[6] = 1;
    header.write("0000000000000007", 7, "latin1");
    header.writeDoubleBE(1000, 23);
    header.writeDoubleBE(2000, 31);
    header.writeDoubleBE(3000, 39);
    header.writeUInt32BE(42, 47);
    header.writeUInt16BE(1, 51);
    const version1 = Buffer.concat([header, Buffer.from([0, 1]), tag, Buffer.from('"v"')]);
    assert.deepEqual(openEnvelope(version1), {
      payload: '"v"',
      metadata: { ...metadata, tags: ["a"], stamps: [""] },
    });
    assert.equal(payloadOf(version1), '"v"');
  });

  it("stores plain values without freshness options (Python reads them as before), and an envelope with them", async () => {
    await using cache = new Cache<unknown>({ backend: "memory://", serializer: "json://" });
    await cache.getOrSet("plain", () => ({ a: 1 }), { timeToLive: "1m" });
    await cache.getOrSet("enveloped", () => ({ a: 1 }), { timeToLive: "1m", grace: "1h" });
    assert.equal(await cache.backend.get("plain"), '{"a":1}');
    // The memory backend stores any value: the envelope is an object there, its value not copied.
    const enveloped = await cache.backend.get("enveloped");
    assert.equal(typeof enveloped, "object");
    assert.equal(payloadOf(enveloped), '{"a":1}');
  });

  it("a plain value whose bytes look like an envelope reads back as itself", async () => {
    await using cache = new Cache<Uint8Array>({ backend: "memory://", serializer: "noop://" });
    const lookalike = Buffer.concat([Buffer.from([0x00, 0x63, 0x74, 0x79, 0x65, 0x01]), Buffer.alloc(80, 7)]);
    await cache.set("k", lookalike);
    assert.deepEqual(await cache.get("k"), lookalike);
    // And getOrSet takes it as a plain value: fresh, never refreshed.
    assert.deepEqual(await cache.getOrSet("k", () => Buffer.from("other"), STALE), lookalike);
  });

  it("an envelope cut short is an undecodable value: a miss, counted, deleted", async () => {
    await using cache = new Cache<unknown>({ backend: "memory://", serializer: "json://" });
    const truncated = (envelope('"v"', { ...metadata, tags: ["a-long-tag-name"], stamps: [] }) as Buffer).subarray(
      0,
      56,
    );
    await cache.backend.set("k", truncated, {});
    assert.equal(await cache.get("k"), undefined);
    assert.equal(cache.stats.undecodableValues, 1);
    assert.equal(await cache.backend.has("k"), false, "deleted");
    await cache.backend.set("k", truncated, {});
    assert.equal(await cache.getOrSet("k", () => "recomputed", { timeToLive: "1m" }), "recomputed");
  });

  it("counts an object envelope by its size in a byte-bounded memory backend", async () => {
    await using cache = new Cache<unknown>({ backend: "memory://?max-size=2000", serializer: "json://" });
    await cache.getOrSet("big", () => "x".repeat(1500), { timeToLive: "1m", grace: "1h" });
    await cache.getOrSet("second", () => "y".repeat(1500), { timeToLive: "1m", grace: "1h" });
    assert.equal(await cache.has("big"), false, "evicted: the two do not fit in 2 000 bytes");
    assert.equal(await cache.has("second"), true);
  });
});

describe("cached() and cachedSync() with getOrSet's options", () => {
  it("cached() serves a stale result at once and refreshes it once in the background", async () => {
    await using cache = new Cache<unknown>({ backend: "memory://", serializer: "json://" });
    let calls = 0;
    const find = cached(cache, { timeToLive: 20, staleWhileRevalidate: "1m", name: "find" })(async (id: number) => {
      calls++;
      await sleep(30);
      return { id, calls };
    });
    assert.deepEqual(await find(1), { id: 1, calls: 1 });
    await sleep(30);
    assert.deepEqual(await find(1), { id: 1, calls: 1 });
    await eventually(() => calls === 2);
    await eventually(async () => ((await find(1)) as { calls: number }).calls === 2);
    assert.equal(calls, 2);
  });

  it("cached() with grace returns the stale result when the function throws, and a timeToLive per key", async () => {
    await using cache = new Cache<unknown>({ backend: "memory://", serializer: "json://" });
    let fail = false;
    const find = cached(cache, { timeToLive: () => 20, grace: "1m", name: "find" })(async (id: number) => {
      if (fail) throw new Error("down");
      return id * 2;
    });
    assert.equal(await find(4), 8);
    fail = true;
    await sleep(30);
    assert.equal(await find(4), 8);
    await assert.rejects(find(5), /down/);
  });

  it("cached() refuses ifNotExists and waitTimeout with the freshness options", () => {
    const cache = new Cache<unknown>({ backend: "memory://", serializer: "json://" });
    assert.throws(
      () => cached(cache, { grace: "1m", timeToLive: 1, ifNotExists: true }),
      /a refresh must replace the stale value/,
    );
    assert.throws(() => cached(cache, { grace: "1m", timeToLive: 1, waitTimeout: 5 }), /use timeout\.hard/);
    void cache.close();
  });

  it("cachedSync() takes tags and refuses the options that need background work", () => {
    using cache = SyncCache.memory<number>();
    let calls = 0;
    const square = cachedSync(cache, { tags: ["squares"], name: "square" })((n: number) => (calls++, n * n));
    assert.equal(square(3), 9);
    assert.equal(square(3), 9);
    assert.equal(calls, 1);
    assert.throws(
      () => cachedSync(cache, { staleWhileRevalidate: "1m" } as never),
      /need background work and promises/,
    );
  });
});

describe("SyncCache.getOrSet", () => {
  it("computes, stores and serves; tags travel in the envelope; a stale async entry is recomputed here", async () => {
    using cache = SyncCache.memory();
    let calls = 0;
    assert.equal(
      cache.getOrSet("k", () => ++calls, { timeToLive: "1m", tags: ["t"] }),
      1,
    );
    assert.equal(
      cache.getOrSet("k", () => ++calls),
      1,
    );
    assert.equal(cache.get("k"), 1);
    assert.throws(() => cache.getOrSet("k", () => 1, { grace: "1m" } as never), ConfigurationError);
    assert.throws(
      () =>
        cache.getOrSet("absent", () => {
          throw new Error("no");
        }),
      /no/,
    );
    assert.equal(cache.has("absent"), false);
  });
});

describe("getOrSet never serves a value older than timeToLive + staleWhileRevalidate + grace", () => {
  it("holds over random windows, factories that fail or stall, and random pauses", async () => {
    await using cache = new Cache<unknown>({ backend: "memory://", serializer: "json://" });
    let seed = 12345;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 40; round++) {
      const options = {
        timeToLive: 5 + Math.floor(random() * 20),
        staleWhileRevalidate: Math.floor(random() * 20),
        grace: Math.floor(random() * 30),
        timeout: { soft: 3 + Math.floor(random() * 5) },
      };
      const bound = options.timeToLive + options.staleWhileRevalidate + options.grace;
      const key = `k${String(round)}`;
      for (let step = 0; step < 12; step++) {
        const mode = random();
        const value = await cache
          .getOrSet(
            key,
            async () => {
              if (mode < 0.3) throw new Error("fails");
              if (mode < 0.5) await sleep(15);
              // Taken as the computation ends: the value is stored right after.
              return { computedAt: Date.now() };
            },
            options,
          )
          .catch(() => undefined);
        if (value !== undefined) {
          const age = Date.now() - (value as { computedAt: number }).computedAt;
          // Date.now() counts whole milliseconds: one of rounding either way.
          assert.ok(age <= bound + 2, `served a value ${String(age)} ms old; bound ${String(bound)} ms`);
        }
        await sleep(Math.floor(random() * 15));
      }
    }
  });
});
