/**
 * `cache.namespace(name)`: a view under `name:` over the same backend, near tier, serializer and options;
 * its own `clear()`; nesting; closing; shared computations with the cache it views. On memory, Redis and
 * Redis with a near tier.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { Cache } from "../../src/cache/cache.js";
import { CacheClosedError, ConfigurationError } from "../../src/errors.js";
import { sleep } from "../support/fault-guard.js";
import { redisUnavailableReason, RedisServer } from "../support/redis-server.js";

const unavailable = redisUnavailableReason();
const server = unavailable === undefined ? await RedisServer.start() : undefined;
after(async () => {
  await server?.stop();
});

let nextDatabase = 0;
const flavours: { name: string; skip?: string; create: () => Promise<Cache> }[] = [
  {
    name: "memory",
    create: async () => new Cache<unknown>({ backend: "memory://", serializer: "json://", prefix: "app:" }),
  },
  ...[false, true].map((near) => ({
    name: near ? "Redis with a near tier" : "Redis",
    ...(unavailable === undefined ? {} : { skip: unavailable }),
    create: async () => {
      if (server === undefined) throw new Error("no redis-server");
      const cache = new Cache<unknown>({
        backend: server.url(nextDatabase++ % 16),
        serializer: "json://",
        prefix: "app:",
        ...(near ? { near: true } : {}),
      });
      await cache.clear();
      return cache;
    },
  })),
];

for (const flavour of flavours) {
  describe(`namespaces over ${flavour.name}`, flavour.skip === undefined ? {} : { skip: flavour.skip }, () => {
    it("keys go under name:, nest, and clear() removes only the namespace's own entries", async () => {
      await using cache = await flavour.create();
      const users = cache.namespace("users");
      const admins = users.namespace("admins");
      assert.equal(users.prefix, "app:users:");
      assert.equal(admins.prefix, "app:users:admins:");
      await cache.set("top", 0);
      await users.set("1", 1);
      await admins.set("1", 2);
      await cache.namespace("orders").set("1", 3);
      assert.equal(await cache.get("users:1"), 1);
      assert.equal(await cache.get("users:admins:1"), 2);
      assert.equal(await users.get("admins:1"), 2);
      await admins.clear();
      assert.equal(await admins.get("1"), undefined);
      assert.equal(await users.get("1"), 1);
      await users.clear();
      assert.equal(await users.get("1"), undefined);
      assert.equal(await cache.get("top"), 0);
      assert.equal(await cache.get("orders:1"), 3);
    });

    it("shares the serializer, options and computations; closing a view leaves the cache open, closing the cache closes its views", async () => {
      const cache = await flavour.create();
      const users = cache.namespace("users");
      assert.equal(users.serializer, cache.serializer);
      let calls = 0;
      const factory = async () => (calls++, await sleep(20), "computed");
      const both = await Promise.all([users.getOrSet("1", factory), users.getOrSet("1", factory)]);
      assert.deepEqual(both, ["computed", "computed"]);
      assert.equal(calls, 1);
      // A delete through the cache detaches the view's running computation of the same key.
      const running = users.getOrSet("2", factory);
      // Once the computation has begun (on Redis the miss is read first).
      while (calls < 2) await sleep(1);
      await cache.delete("users:2");
      assert.equal(await running, "computed");
      assert.equal(await users.has("2"), false);
      await users.close();
      await assert.rejects(users.get("1"), CacheClosedError);
      assert.equal(await cache.get("users:1"), "computed");
      const orders = cache.namespace("orders");
      await cache.close();
      await assert.rejects(orders.get("1"), CacheClosedError);
      assert.throws(() => cache.namespace("late"), CacheClosedError);
    });
  });
}

describe("namespace() names", () => {
  it("refuses a name that is not a non-empty string", async () => {
    await using cache = new Cache<unknown>({ backend: "memory://", serializer: "json://" });
    assert.throws(() => cache.namespace(""), ConfigurationError);
    assert.throws(() => cache.namespace(7 as never), ConfigurationError);
    assert.equal(cache.namespace("a:b").prefix, "a:b:");
    assert.equal(cache.namespace("ü*{x}").prefix, "ü*{x}:");
  });
});
