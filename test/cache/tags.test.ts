/**
 * Tags: `tags` on set, setMany, getOrSet and cached; deleteByTag and expireByTag; the semantics table of
 * docs/tags.md, case by case, on memory (text and object envelopes), Redis and Redis with a near tier;
 * bounds and bad input; a missing or evicted tag state failing safe; SyncCache.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { Cache } from "../../src/cache/cache.js";
import { SyncCache } from "../../src/cache/sync-cache.js";
import { ConfigurationError } from "../../src/errors.js";
import { cached } from "../../src/memoize/cached.js";
import { stateKeys } from "../../src/tags/tag-state.js";
import { sleep } from "../support/fault-guard.js";
import { redisUnavailableReason, RedisServer } from "../support/redis-server.js";

const unavailable = redisUnavailableReason();
const server = unavailable === undefined ? await RedisServer.start() : undefined;
after(async () => {
  await server?.stop();
});

let nextDatabase = 0;
const flavours: { name: string; skip?: string; create: () => Promise<Cache<string>> }[] = [
  {
    name: "memory (json)",
    create: async () => new Cache<string>({ backend: "memory://", serializer: "json://", prefix: "app:" }),
  },
  {
    name: "memory (noop)",
    create: async () => new Cache<string>({ backend: "memory://", serializer: "noop://", prefix: "app:" }),
  },
  ...[false, true].map((near) => ({
    name: near ? "Redis with a near tier" : "Redis",
    ...(unavailable === undefined ? {} : { skip: unavailable }),
    create: async () => {
      if (server === undefined) throw new Error("no redis-server");
      const cache = new Cache<string>({
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

const failing = (): never => {
  throw new Error("the source is down");
};

for (const flavour of flavours) {
  describe(`tags over ${flavour.name}`, flavour.skip === undefined ? {} : { skip: flavour.skip }, () => {
    it("deleteByTag: every entry carrying the tag is gone for get, getMany and getOrSet; others untouched", async () => {
      await using cache = await flavour.create();
      await cache.set("a", "A", { tags: ["org:7", "user:1"] });
      await cache.setMany({ b: "B", c: "C" }, { tags: ["org:7"], timeToLive: "1h" });
      await cache.getOrSet("d", () => "D", { timeToLive: "1h", tags: ["user:2", "org:7"] });
      await cache.set("other", "O", { tags: ["org:8"] });
      await cache.set("untagged", "U");
      assert.equal(await cache.get("a"), "A");
      assert.deepEqual(
        await cache.getMany("b", "c", "d"),
        new Map([
          ["b", "B"],
          ["c", "C"],
          ["d", "D"],
        ]),
      );
      await cache.deleteByTag("org:7");
      assert.equal(await cache.get("a"), undefined);
      assert.deepEqual(
        await cache.getMany("a", "b", "c", "d", "other", "untagged"),
        new Map([
          ["other", "O"],
          ["untagged", "U"],
        ]),
      );
      let calls = 0;
      assert.equal(await cache.getOrSet("d", () => (calls++, "D2"), { timeToLive: "1h", tags: ["org:7"] }), "D2");
      assert.equal(calls, 1, "recomputed");
      assert.equal(await cache.get("other"), "O");
      assert.equal(await cache.get("untagged"), "U");
    });

    it("deleteByTag: no stale or grace read either", async () => {
      await using cache = await flavour.create();
      const options = { timeToLive: "1h", staleWhileRevalidate: "1h", grace: "1h", tags: ["t"] } as const;
      await cache.getOrSet("k", () => "old", options);
      await cache.deleteByTag("t");
      await assert.rejects(cache.getOrSet("k", failing, options), /the source is down/);
      assert.equal(await cache.get("k"), undefined);
      assert.equal(await cache.getOrSet("k", () => "new", options), "new");
    });

    it("an entry written after the call is unaffected, as is one with none of the tags", async () => {
      await using cache = await flavour.create();
      await cache.set("k", "before", { tags: ["t"] });
      await cache.deleteByTag("t");
      await cache.set("k", "after", { tags: ["t"] });
      assert.equal(await cache.get("k"), "after");
      await cache.getOrSet("g", () => "computed after", { timeToLive: "1h", tags: ["t"] });
      assert.equal(await cache.getOrSet("g", failing, { timeToLive: "1h", tags: ["t"] }), "computed after");
      await cache.deleteByTag("unrelated", "t2");
      assert.equal(await cache.get("k"), "after");
    });

    it("expireByTag: a value with staleWhileRevalidate is served stale once while it refreshes", async () => {
      await using cache = await flavour.create();
      const options = { timeToLive: "1h", staleWhileRevalidate: "1h", tags: ["t"] } as const;
      await cache.getOrSet("k", () => "v1", options);
      await cache.expireByTag("t");
      assert.equal(await cache.get("k"), "v1", "a plain get returns it while its windows last");
      let refreshed = 0;
      assert.equal(await cache.getOrSet("k", () => (refreshed++, "v2"), options), "v1");
      assert.equal(cache.stats.staleHits, 1);
      for (let round = 0; round < 200 && (await cache.get("k")) !== "v2"; round++) await sleep(5);
      assert.equal(await cache.get("k"), "v2");
      assert.equal(refreshed, 1);
      assert.equal(await cache.getOrSet("k", failing, options), "v2", "the refreshed value is fresh");
    });

    it("expireByTag: within grace, the stale value answers only when the refresh fails", async () => {
      await using cache = await flavour.create();
      const options = { timeToLive: "1h", grace: "1h", tags: ["t"] } as const;
      await cache.getOrSet("k", () => "v1", options);
      await cache.expireByTag("t");
      assert.equal(await cache.getOrSet("k", failing, options), "v1");
      assert.equal(await cache.getOrSet("k", () => "v2", options), "v2");
    });

    it("expireByTag: without windows the entry reads as gone; the windows count from the expiry", async () => {
      await using cache = await flavour.create();
      await cache.set("plain", "P", { timeToLive: "1h", tags: ["t"] });
      await cache.getOrSet("short", () => "S", { timeToLive: "1h", staleWhileRevalidate: "150ms", tags: ["t"] });
      await cache.expireByTag("t");
      assert.equal(await cache.get("plain"), undefined);
      assert.equal(await cache.get("short"), "S");
      await sleep(300);
      assert.equal(await cache.get("short"), undefined, "its stale window ended 150 ms after the expiry");
      await assert.rejects(
        cache.getOrSet("short", failing, { timeToLive: "1h", staleWhileRevalidate: "150ms", tags: ["t"] }),
        /the source is down/,
      );
    });

    it("a missing or evicted tag state fails safe: its entries read as gone, even once it exists again", async () => {
      await using cache = await flavour.create();
      await cache.set("k", "v", { tags: ["t", "u"] });
      await cache.set("u-only", "w", { tags: ["u"] });
      const [generation, expiry] = stateKeys("app:", ["t"]);
      await cache.backend.delete(generation as string);
      assert.equal(await cache.get("k"), undefined);
      await cache.set("new", "n", { tags: ["t"] });
      assert.equal(await cache.get("new"), "n", "the state is created anew");
      assert.equal(await cache.get("k"), undefined, "and matches no entry written before");
      await cache.backend.delete(expiry as string);
      assert.equal(await cache.get("new"), undefined, "a missing expiry too");
      assert.equal(await cache.get("u-only"), "w");
      await cache.backend.set(generation as string, "not a state", {});
      await cache.set("again", "a", { tags: ["t"] });
      assert.equal(await cache.get("again"), undefined, "an unreadable state stamps nothing that matches");
    });

    it("a computation running when its tag is deleted returns its value but does not store it", async () => {
      await using cache = await flavour.create();
      let release!: () => void;
      let started = false;
      const running = cache.getOrSet(
        "k",
        async () => {
          started = true;
          await new Promise<void>((resolve) => (release = resolve));
          return "computed before the delete";
        },
        { timeToLive: "1h", tags: ["t"] },
      );
      while (!started) await sleep(1);
      await cache.deleteByTag("t");
      release();
      assert.equal(await running, "computed before the delete");
      await sleep(20);
      assert.equal(await cache.get("k"), undefined);
    });

    it("cached() with tags: a deleteByTag recomputes", async () => {
      await using cache = await flavour.create();
      let calls = 0;
      const profile = cached(cache, { name: "profile", tags: ["profiles"], timeToLive: "1h" })(async (id: number) => {
        calls++;
        return `profile ${String(id)}`;
      });
      assert.equal(await profile(1), "profile 1");
      assert.equal(await profile(1), "profile 1");
      assert.equal(calls, 1);
      await cache.deleteByTag("profiles");
      assert.equal(await profile(1), "profile 1");
      assert.equal(calls, 2);
    });

    it("tags mean the same in every namespace of the cache", async () => {
      await using cache = await flavour.create();
      const users = cache.namespace("users");
      await users.set("1", "user", { tags: ["org:7"] });
      await cache.set("org", "org", { tags: ["org:7"] });
      await users.deleteByTag("org:7");
      assert.equal(await users.get("1"), undefined);
      assert.equal(await cache.get("org"), undefined);
    });

    it("bounds: duplicates, 1 000 tags, odd characters, empty lists; a clear error past the limit", async () => {
      await using cache = await flavour.create();
      const many = Array.from({ length: 1000 }, (_, index) => `tag:${String(index)}`);
      await cache.set("many", "m", { tags: [...many, "tag:1", "tag:2"] });
      assert.equal(await cache.get("many"), "m");
      await cache.deleteByTag("tag:999");
      assert.equal(await cache.get("many"), undefined);
      const odd = ["a:b", "*", "{}", "{user}:7", "}{", "ü🎉", "with space", "\u0000nul"];
      for (const [index, tag] of odd.entries()) await cache.set(`odd${String(index)}`, tag, { tags: [tag] });
      for (const [index, tag] of odd.entries()) assert.equal(await cache.get(`odd${String(index)}`), tag);
      await cache.deleteByTag(...odd);
      for (const index of odd.keys()) assert.equal(await cache.get(`odd${String(index)}`), undefined);
      await cache.set("none", "n", { tags: [] });
      assert.equal(
        String(await cache.backend.get("app:none")),
        cache.serializer.serialize("n"),
        "no tags: stored plain",
      );
      await cache.deleteByTag();
      await cache.expireByTag();
      await assert.rejects(cache.set("k", "v", { tags: [...many, "one more"] }), (error: unknown) => {
        assert.ok(error instanceof ConfigurationError);
        assert.match(error.message, /at most 1000 tags; set\(\) got 1001/);
        return true;
      });
      await assert.rejects(cache.set("k", "v", { tags: [""] }), ConfigurationError);
      await assert.rejects(cache.set("k", "v", { tags: "org:7" as never }), /must be an array of strings/);
      await assert.rejects(cache.set("k", "v", { tags: ["\ud800"] }), /lone surrogate/);
      await assert.rejects(cache.deleteByTag(7 as never), ConfigurationError);
      await assert.rejects(cache.setMany({ k: "v" }, { tags: [null] as never }), ConfigurationError);
      assert.equal(await cache.get("k"), undefined, "nothing written");
      // Deleting by many tags at once is not bounded by the per-entry limit.
      await cache.deleteByTag(...Array.from({ length: 5000 }, (_, index) => `x${String(index)}`));
    });

    it("set with tags keeps ifNotExists, and issue order with the key's later operations", async () => {
      await using cache = await flavour.create();
      assert.equal(await cache.set("k", "first", { tags: ["t"], ifNotExists: true }), true);
      assert.equal(await cache.set("k", "second", { tags: ["t"], ifNotExists: true }), false);
      const writes = [cache.set("k", "tagged", { tags: ["fresh-tag"] }), cache.set("k", "plain")];
      await Promise.all(writes);
      assert.equal(await cache.get("k"), "plain", "the later write wins");
      const again = [
        cache.set("k", "plain 2"),
        cache.set("k", "tagged 2", { tags: ["fresh-tag-2"] }),
        cache.delete("k"),
      ];
      await Promise.all(again);
      assert.equal(await cache.get("k"), undefined);
    });
  });
}

describe("tags on a SyncCache", () => {
  it("set, setMany, getOrSet, get, getMany, getOrThrow and both invalidations", () => {
    using cache = new SyncCache<string>({ backend: "memory://", serializer: "json://" });
    cache.set("a", "A", { tags: ["t"] });
    cache.setMany({ b: "B" }, { tags: ["t"] });
    assert.equal(
      cache.getOrSet("c", () => "C", { timeToLive: "1h", tags: ["t"] }),
      "C",
    );
    cache.set("u", "U", { tags: ["other"] });
    assert.deepEqual(
      cache.getMany("a", "b", "c", "u"),
      new Map([
        ["a", "A"],
        ["b", "B"],
        ["c", "C"],
        ["u", "U"],
      ]),
    );
    cache.expireByTag("t");
    assert.equal(cache.get("a"), undefined, "a tagged set entry has no stale window");
    assert.equal(
      cache.getOrSet("c", () => "C2", { timeToLive: "1h", tags: ["t"] }),
      "C2",
    );
    cache.set("a", "A2", { tags: ["t"] });
    cache.deleteByTag("t");
    assert.deepEqual(cache.getMany("a", "b", "c", "u"), new Map([["u", "U"]]));
    assert.throws(() => cache.getOrThrow("a"), /no value/);
    assert.throws(() => {
      cache.deleteByTag("");
    }, ConfigurationError);
  });
});
