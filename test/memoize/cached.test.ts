import type { Duration } from "../../src/duration.js";
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import ts from "typescript";
import { createClient } from "redis";
import { RedisBackend } from "../../src/backends/redis/backend.js";
import { Cache } from "../../src/cache/cache.js";
import type { CacheErrorEvent } from "../../src/cache/options.js";
import { CacheTimeoutError, ConfigurationError } from "../../src/errors.js";
import { cached } from "../../src/memoize/cached.js";
import { type MakeKey, makeDefaultHashedKey, makeDefaultKey } from "../../src/memoize/keys.js";
import { purgeCached } from "../../src/memoize/purge-cached.js";
import { sleep } from "../support/fault-guard.js";
import { redisUnavailableReason, RedisServer } from "../support/redis-server.js";

const unavailable = redisUnavailableReason();
const server = unavailable === undefined ? await RedisServer.start() : undefined;
after(async () => {
  await server?.stop();
});

interface Flavour {
  readonly name: string;
  readonly skip?: string;
  /** A fresh, empty cache of this flavour. */
  readonly create: (options?: { onError?: (error: Error, event: CacheErrorEvent) => void }) => Promise<Cache>;
}

let nextDatabase = 0;
const flavours: Flavour[] = [
  {
    name: "memory",
    create: async (options = {}) => new Cache<unknown>({ backend: "memory://", serializer: "noop://", ...options }),
  },
  {
    name: "Redis",
    ...(unavailable === undefined ? {} : { skip: unavailable }),
    create: async (options = {}) => {
      if (server === undefined) throw new Error("no redis-server");
      const cache = new Cache<unknown>({
        backend: server.url(nextDatabase++ % 16),
        serializer: "json://",
        ...options,
      });
      await cache.clear();
      return cache;
    },
  },
];

/** A slow "database" call that counts how often it runs. */
function counter<A extends unknown[], R>(compute: (...args: A) => R, delayMs = 0) {
  const calls: A[] = [];
  const fn = async (...args: A): Promise<R> => {
    calls.push(args);
    if (delayMs > 0) await sleep(delayMs);
    return compute(...args);
  };
  return { fn, calls };
}

for (const flavour of flavours) {
  describe(`cached() over a ${flavour.name} cache`, flavour.skip === undefined ? {} : { skip: flavour.skip }, () => {
    it("computes once, then serves from the cache; purge says whether a value existed", async () => {
      await using cache = await flavour.create();
      const { fn, calls } = counter((id: number) => ({ id, name: `user ${String(id)}` }));
      const getUser = cached(cache, { name: "getUser" })(fn);
      assert.deepEqual(await getUser(1), { id: 1, name: "user 1" });
      assert.deepEqual(await getUser(1), { id: 1, name: "user 1" });
      assert.deepEqual(await getUser(2), { id: 2, name: "user 2" });
      assert.equal(calls.length, 2);
      assert.equal(await cache.has(makeDefaultKey({ name: "getUser" }, [1])), true);
      assert.equal(await getUser.purge(1), true);
      assert.equal(await getUser.purge(1), false);
      await getUser(1);
      assert.equal(calls.length, 3);
    });

    it("purge overtakes a computation in flight: later calls recompute, and the old result is not stored", async () => {
      await using cache = await flavour.create();
      let version = 0;
      const calls: number[] = [];
      const getConfig = cached(cache, { name: "getConfig" })(async () => {
        const seen = version;
        calls.push(seen);
        await sleep(100);
        return `computed at version ${String(seen)}`;
      });
      const before = getConfig();
      await sleep(20);
      version = 1;
      assert.equal(await getConfig.purge(), false);
      const after = getConfig();
      // The call that began before the purge keeps its own result; nothing after it sees that result.
      assert.equal(await before, "computed at version 0");
      assert.equal(await after, "computed at version 1");
      assert.equal(calls.length, 2);
      assert.equal(await getConfig(), "computed at version 1");
      assert.equal(await cache.get(makeDefaultKey({ name: "getConfig" }, [])), "computed at version 1");
      assert.equal(calls.length, 2);
    });

    it("caches and serves null (the seed recomputes None)", async () => {
      await using cache = await flavour.create();
      const { fn, calls } = counter(() => null);
      const find = cached(cache, { name: "find" })(fn);
      assert.equal(await find(), null);
      assert.equal(await find(), null);
      assert.equal(calls.length, 1);
    });

    it("caches undefined where the serializer can hold it, and recomputes it where it cannot (JSON)", async () => {
      await using cache = await flavour.create();
      const { fn, calls } = counter((): unknown => undefined);
      const nothing = cached(cache, { name: "nothing" })(fn);
      const results = [await nothing(), await nothing()];
      assert.deepEqual(results, [undefined, undefined]);
      assert.equal(calls.length, flavour.name === "memory" ? 1 : 2);
    });

    it("uses timeToLive (a duration or a function of the key, called only when storing)", async () => {
      await using cache = await flavour.create();
      const asked: string[] = [];
      const shortLived = cached(cache, {
        name: "shortLived",
        timeToLive: async (key) => {
          asked.push(key);
          return key.endsWith(":1") ? 150 : null;
        },
      })(counter((n: number) => n).fn);
      await shortLived(1);
      await shortLived(1);
      await shortLived(2);
      assert.deepEqual(asked, ["shortLived:1", "shortLived:2"]);
      await sleep(300);
      assert.equal(await cache.has("shortLived:1"), false);
      assert.equal(await cache.has("shortLived:2"), true);
      const fixed = cached(cache, { name: "fixed", timeToLive: "150ms" })(counter(() => 1).fn);
      await fixed();
      await sleep(300);
      assert.equal(await cache.has("fixed"), false);
    });

    it("skips results that exclude() rejects, and keeps an existing value with ifNotExists", async () => {
      await using cache = await flavour.create();
      const { fn, calls } = counter((n: number) => n * 10);
      const noZeros = cached(cache, { name: "noZeros", exclude: async (_key, value) => value === 0 })(fn);
      await noZeros(0);
      await noZeros(0);
      await noZeros(1);
      await noZeros(1);
      assert.equal(calls.length, 3);
      // Another writer stores the key while the function computes: ifNotExists keeps that value.
      const kept = cached(cache, { name: "kept", ifNotExists: true })(async () => {
        await cache.set("kept", "theirs");
        return "mine";
      });
      assert.equal(await kept(), "mine");
      assert.equal(await cache.get("kept"), "theirs");
      const overwritten = cached(cache, { name: "overwritten" })(async () => {
        await cache.set("overwritten", "theirs");
        return "mine";
      });
      await overwritten();
      assert.equal(await cache.get("overwritten"), "mine");
    });

    it("chooses the cache per call, and a null choice skips caching", async () => {
      await using cache = await flavour.create();
      const { fn, calls } = counter((id: number) => id);
      const choices: string[] = [];
      const picky = cached<unknown>(
        async (memoized, ...args) => {
          choices.push(`${memoized.name}(${String(args[0])})`);
          return args[0] === 0 ? null : cache;
        },
        { name: "picky" },
      )(fn);
      await picky(0);
      await picky(0);
      await picky(1);
      await picky(1);
      assert.equal(calls.length, 3);
      assert.deepEqual(choices, ["picky(0)", "picky(0)", "picky(1)", "picky(1)"]);
    });

    it("uses makeKey when given, e.g. the hashed key", async () => {
      await using cache = await flavour.create();
      const hashed = cached(cache, { name: "hashed", makeKey: makeDefaultHashedKey })(counter((n: number) => n).fn);
      await hashed(7);
      assert.equal(await cache.has(makeDefaultHashedKey({ name: "hashed" }, [7])), true);
    });

    for (const callers of [100, 1_000, 10_000]) {
      it(`L1: ${String(callers)} concurrent callers of one missing key share one computation`, async () => {
        await using cache = await flavour.create();
        const { fn, calls } = counter(() => ({ at: performance.now() }), 300);
        const slow = cached(cache, { name: "slow" })(fn);
        const results = await Promise.all(Array.from({ length: callers }, () => slow()));
        assert.equal(calls.length, 1);
        assert.ok(results.every((result) => JSON.stringify(result) === JSON.stringify(results[0])));
        await slow();
        assert.equal(calls.length, 1, "and it was stored");
      });
    }

    for (const failure of ["rejects", "throws synchronously"] as const) {
      it(`L2: a leader that ${failure} fails every waiter with its error, caches nothing, and the next call recomputes`, async () => {
        await using cache = await flavour.create();
        let calls = 0;
        const failOnce = new Error("the database is down");
        const flaky = cached(cache, { name: "flaky" })(function flaky(): Promise<string> {
          calls++;
          if (calls === 1) {
            if (failure === "throws synchronously") throw failOnce;
            return sleep(50).then(() => Promise.reject(failOnce));
          }
          return Promise.resolve("fine");
        });
        const outcomes = await Promise.allSettled(Array.from({ length: 100 }, () => flaky()));
        assert.ok(outcomes.every((outcome) => outcome.status === "rejected" && outcome.reason === failOnce));
        assert.equal(await cache.has("flaky"), false);
        assert.equal(await flaky(), "fine");
        assert.equal(calls, 2);
      });
    }

    it("L3: waiters of a hung leader give up after waitTimeout, and a later call starts afresh", async () => {
      await using cache = await flavour.create();
      let calls = 0;
      const hangsOnce = cached(cache, { name: "hangsOnce", waitTimeout: 100 })(async () => {
        calls++;
        if (calls === 1) return new Promise<string>(() => {});
        return "recovered";
      });
      void hangsOnce();
      await sleep(10);
      const started = performance.now();
      const waiters = await Promise.allSettled(Array.from({ length: 10 }, () => hangsOnce()));
      const waited = performance.now() - started;
      assert.ok(
        waiters.every((outcome) => outcome.status === "rejected" && outcome.reason instanceof CacheTimeoutError),
      );
      assert.ok(waited < 1000, `waited ${String(waited)} ms`);
      assert.equal(await hangsOnce(), "recovered");
      assert.equal(calls, 2);
    });

    it("preserves this for methods and names them Class.method in keys (a TC39 decorator)", async () => {
      await using cache = await flavour.create();
      class Repository {
        calls = 0;
        constructor(readonly table: string) {}

        @cached(cache)
        async find(id: number): Promise<string> {
          this.calls++;
          return `${this.table}#${String(id)}`;
        }

        @cached(cache, { name: "customName" })
        async named(): Promise<number> {
          return 1;
        }

        async undecorated(): Promise<number> {
          return 2;
        }
      }
      class Special extends Repository {}
      const users = new Repository("users");
      assert.equal(await users.find(1), "users#1");
      assert.equal(await users.find(1), "users#1");
      assert.equal(users.calls, 1);
      assert.equal(users.find.name, "Repository.find");
      assert.equal(await cache.has("Repository.find:1"), true);
      const special = new Special("special");
      assert.equal(await special.find(1), "users#1", "the same class method and arguments share the entry");
      await users.named();
      assert.equal(await cache.has("customName"), true);
      // TypeScript cannot add members to a decorated method's type: purgeCached reaches purge, typed.
      assert.equal(await purgeCached(users, "find", 1), true);
      assert.equal(await cache.has("Repository.find:1"), false);
      assert.equal(await purgeCached(users, "find", 1), false);
      assert.throws(
        () => purgeCached(users, "undecorated"),
        (error: unknown) =>
          error instanceof ConfigurationError && /"undecorated" is not decorated by @cached/.test(error.message),
      );
    });

    it("purgeCached gives the method's makeKey the instance as this, as a call does", async () => {
      await using cache = await flavour.create();
      const makeKey: MakeKey = function (this: unknown, fn, args) {
        return `${(this as Tenant).tenant}:${makeDefaultKey(fn, args)}`;
      };
      class Tenant {
        constructor(readonly tenant: string) {}
        @cached(cache, { makeKey })
        async load(id: number): Promise<string> {
          return `${this.tenant}/${String(id)}`;
        }
      }
      const a = new Tenant("a");
      const b = new Tenant("b");
      await a.load(1);
      await b.load(1);
      assert.equal(await purgeCached(a, "load", 1), true);
      assert.equal(await cache.has("a:Tenant.load:1"), false);
      assert.equal(await cache.has("b:Tenant.load:1"), true, "only the instance's own entry is purged");
    });
  });
}

describe("cached() when the cache fails", { skip: unavailable }, () => {
  it("runs the function, returns its result and reports the failures to onError", async () => {
    const failing = await RedisServer.start();
    const errors: { name: string; operation: string; key: string | undefined }[] = [];
    const cache = new Cache<unknown>({
      backend: new RedisBackend({ url: `${failing.url(0)}?timeout=200` }),
      serializer: "json://",
      onError: (error, { operation, key }) => errors.push({ name: error.name, operation, key }),
    });
    try {
      const { fn, calls } = counter((id: number) => ({ id }));
      const getUser = cached(cache, { name: "getUser" })(fn);
      await getUser(1);
      await failing.crash();
      const started = performance.now();
      assert.deepEqual(await getUser(1), { id: 1 });
      assert.ok(performance.now() - started < 2000);
      assert.equal(calls.length, 2);
      assert.deepEqual(errors, [
        { name: "BackendError", operation: "get", key: "getUser:1" },
        { name: "BackendError", operation: "set", key: "getUser:1" },
      ]);
    } finally {
      await cache.close();
      await failing.stop();
    }
  });

  it("reports values the serializer cannot encode, and still returns them", async () => {
    const errors: string[] = [];
    await using cache = new Cache<unknown>({
      backend: "memory://",
      serializer: "json://",
      onError: (error) => errors.push(error.name),
    });
    const big = cached(cache, { name: "big" })(async () => 10n ** 30n);
    assert.equal(await big(), 10n ** 30n);
    assert.deepEqual(errors, ["SerializationError"]);
  });

  it("recomputes over a stored value that does not decode, reporting it once (the in-process fast path falls back)", async () => {
    const errors: string[] = [];
    await using cache = new Cache<unknown>({
      backend: "memory://",
      serializer: "json://",
      onError: (error, { operation }) => errors.push(`${error.name} ${operation}`),
    });
    const { fn, calls } = counter((id: number) => ({ id }));
    const getUser = cached(cache, { name: "getUser" })(fn);
    await cache.backend.set("getUser:1", "{not json", {});
    assert.deepEqual(await getUser(1), { id: 1 });
    assert.deepEqual(await getUser(1), { id: 1 });
    assert.equal(calls.length, 1, "the second call is a hit on the recomputed value");
    assert.deepEqual(errors, ["SerializationError get"]);
    assert.equal(cache.stats.undecodableValues, 1);
  });

  it("without onError, turns the failure into a process warning, not silence", async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on("warning", onWarning);
    try {
      await using cache = new Cache<unknown>({ backend: "memory://", serializer: "json://" });
      const big = cached(cache, { name: "big" })(async () => 1n);
      await big();
      await big();
      await sleep(10);
      assert.equal(warnings.length, 1, "at most one warning every 10 s");
      assert.equal(warnings[0]?.name, "CachetoryWarning");
      assert.match(warnings[0]?.message ?? "", /cannot serialize the value of key "big"/);
    } finally {
      process.off("warning", onWarning);
    }
  });
});

describe("cached() configuration", () => {
  it("refuses an anonymous function without a name, and decorating what is not a method", async () => {
    await using cache = new Cache<unknown>({ backend: "memory://", serializer: "noop://" });
    assert.throws(
      () => cached(cache)(async () => 1),
      (error: unknown) => {
        assert.ok(error instanceof ConfigurationError);
        assert.match(error.message, /anonymous function.*name/);
        return true;
      },
    );
    assert.throws(
      () => cached(cache)(async () => 1, { kind: "getter", name: "x" } as unknown as ClassMethodDecoratorContext),
      /decorates methods, not getters/,
    );
    assert.throws(() => cached(cache, { timeToLive: "soon" as Duration }), RangeError);
  });

  it("works when the decorator is compiled by tsc, not only by esbuild", async () => {
    const source = `
      export async function run(cached, cache) {
        class Prices {
          computed = 0;
          @cached(cache)
          async quote(symbol) { this.computed++; return symbol.length * 10; }
        }
        const prices = new Prices();
        return [await prices.quote("ABC"), await prices.quote("ABC"), prices.computed, prices.quote.name];
      }
    `;
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
    });
    assert.doesNotMatch(outputText, /@cached/, "tsc lowered the decorator");
    const compiled = (await import(`data:text/javascript,${encodeURIComponent(outputText)}`)) as {
      run: (decorator: typeof cached, cache: Cache) => Promise<unknown[]>;
    };
    await using cache = new Cache<unknown>({ backend: "memory://", serializer: "noop://" });
    assert.deepEqual(await compiled.run(cached, cache), [30, 30, 1, "Prices.quote"]);
  });
});

describe("cached() with a shared Redis", { skip: unavailable }, () => {
  it("stores under the readable key, with the time to live, where other clients see it", async () => {
    if (server === undefined) return;
    const raw = createClient({ url: server.url(15) });
    await raw.connect();
    await using cache = new Cache<unknown>({ backend: server.url(15), serializer: "json://", prefix: "memo:" });
    try {
      const area = cached(cache, { name: "area", timeToLive: "1m" })(
        async (shape: { w: number; h: number }) => shape.w * shape.h,
      );
      await area({ w: 2, h: 3 });
      assert.equal(await raw.get('memo:area:{"h":3,"w":2}'), "6");
      const ttl = await raw.pTTL('memo:area:{"h":3,"w":2}');
      assert.ok(ttl > 50_000 && ttl <= 60_000);
    } finally {
      await raw.flushDb();
      raw.destroy();
    }
  });
});
