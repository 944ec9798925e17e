/**
 * The near tier as a layer over scripted backends: one that cannot tell about changes (a `timeToLive` is
 * then required and bounds staleness) and one whose change notifications the test drives, for the rules a
 * real Redis exercises in test/backends/redis-near.test.ts: what is in flight when a key changes or the
 * stream is lost is not kept, bounds hold, our own writes update the copy.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type {
  BackendCapabilities,
  ChangeListener,
  ChangeNotifications,
  WatchedValue,
} from "../../src/backends/contract.js";
import { MemoryBackend } from "../../src/backends/memory/sync-backend.js";
import { Cache } from "../../src/cache/cache.js";
import { ConfigurationError } from "../../src/errors.js";
import { NearBackend } from "../../src/layers/near.js";
import { ManualClock } from "../support/clock.js";
import { runBackendConformance } from "../support/conformance.js";
import { ScriptedBackend } from "../support/scripted-backend.js";

/** A scripted store that tells about changes when the test says so, and answers watched reads with a time to live. */
class WatchedBackend extends ScriptedBackend {
  readonly #listeners = new Set<ChangeListener>();
  /** What `readWatched` reports as the time left, by key. */
  readonly lifetimes = new Map<string, number>();

  constructor() {
    const changes: ChangeNotifications = {
      subscribe: (listener) => {
        this.#listeners.add(listener);
        return () => this.#listeners.delete(listener);
      },
      readWatched: async (key) => {
        const value = await this.get(key);
        return value === undefined ? undefined : { value, timeToLive: this.lifetimes.get(key) };
      },
      readManyWatched: async (keys) => {
        const found = await this.getMany(keys);
        return new Map<string, WatchedValue>(
          [...found].map(([key, value]) => [key, { value, timeToLive: this.lifetimes.get(key) }]),
        );
      },
    };
    const capabilities: BackendCapabilities = { changes };
    super(new MemoryBackend(), capabilities);
  }

  /** The store tells of a change to `key` (one that took effect before what is in flight). */
  tellChanged(key: string): void {
    for (const listener of this.#listeners) listener.changed([key]);
  }

  /** Another writer changes `key`: the store says so. */
  changeBehindTheBack(key: string, value: unknown): void {
    void this.set(key, value, {});
    for (const listener of this.#listeners) listener.changed([key]);
  }

  lose(): void {
    for (const listener of this.#listeners) listener.lost();
  }

  get listeners(): number {
    return this.#listeners.size;
  }
}

describe("NearBackend over a backend that cannot tell about changes", () => {
  it("is refused without a timeToLive, saying why and what to do", () => {
    assert.throws(
      () => new NearBackend(new ScriptedBackend(), { backendName: "memory://" }),
      (error: unknown) =>
        error instanceof ConfigurationError &&
        /near needs a backend that tells about changes, or a near\.timeToLive/.test(error.message) &&
        error.message.includes("memory://"),
    );
    assert.throws(
      () => new Cache({ backend: "memory://", serializer: "json://", near: true }),
      /memory:\/\/ cannot tell when another writer changes a key/,
    );
  });

  it("serves what it read for at most timeToLive, then reads again", async () => {
    const clock = new ManualClock();
    const inner = new ScriptedBackend();
    const backend = new NearBackend(inner, { timeToLive: 1000, clock });
    await inner.set("k", "v1", {});
    assert.equal(await backend.get("k"), "v1");
    await inner.set("k", "v2", {});
    inner.calls.length = 0;
    assert.equal(await backend.get("k"), "v1", "within timeToLive: near");
    assert.deepEqual(inner.calls, []);
    clock.advance(1001);
    assert.equal(await backend.get("k"), "v2", "past timeToLive: read again");
    assert.deepEqual(
      inner.calls.map(({ operation }) => operation),
      ["get"],
    );
  });

  it("never keeps an entry past the time to live it was written with", async () => {
    const clock = new ManualClock();
    const inner = new ScriptedBackend();
    const backend = new NearBackend(inner, { timeToLive: 60_000, clock });
    await backend.set("k", "v", { timeToLive: 100 });
    assert.equal(backend.capabilities.near.peek("k")?.stored, "v");
    clock.advance(101);
    assert.equal(backend.capabilities.near.peek("k"), undefined);
  });

  it("holds at most maxEntries, and at most maxSize bytes", async () => {
    const backend = new NearBackend(new ScriptedBackend(), { timeToLive: 60_000, maxEntries: 3 });
    for (const key of ["a", "b", "c", "d", "e"]) await backend.set(key, key, {});
    assert.equal(backend.stats.entries, 3);
    assert.equal(backend.capabilities.near.peek("a"), undefined, "the least recently used went first");
    const sized = new NearBackend(new ScriptedBackend(), { timeToLive: 60_000, maxSize: 10 });
    for (const key of ["a", "b", "c"]) await sized.set(key, "12345", {});
    assert.equal(sized.stats.entries, 2);
  });
});

runBackendConformance(
  "near tier over memory (timeToLive 60 s)",
  () => new NearBackend(new ScriptedBackend(), { timeToLive: 60_000 }),
);

describe("NearBackend over a backend with change notifications", () => {
  it("drops a key the backend says changed, and reads it again", async () => {
    const inner = new WatchedBackend();
    const backend = new NearBackend(inner);
    await inner.set("k", "v1", {});
    assert.equal(await backend.get("k"), "v1");
    assert.equal(await backend.get("k"), "v1");
    inner.changeBehindTheBack("k", "v2");
    assert.equal(backend.capabilities.near.peek("k"), undefined);
    assert.equal(await backend.get("k"), "v2");
    assert.equal(backend.stats.invalidations, 1);
  });

  it("does not keep a read during which its key changed (the reply may predate the change)", async () => {
    const inner = new WatchedBackend();
    const backend = new NearBackend(inner);
    await inner.set("k", "old", {});
    inner.hold();
    const reading = backend.get("k");
    // The read has gone out; another writer changes the key before its reply is seen.
    inner.changeBehindTheBack("k", "new");
    inner.release();
    assert.equal(await reading, "old", "the caller gets what was read");
    assert.equal(backend.capabilities.near.peek("k"), undefined, "but it is not kept");
    assert.equal(await backend.get("k"), "new");
    assert.equal(backend.capabilities.near.peek("k")?.stored, "new");
  });

  it("keeps nothing that was in flight when the stream was lost, and empties itself (counted)", async () => {
    const inner = new WatchedBackend();
    const backend = new NearBackend(inner);
    await inner.setMany(
      [
        ["a", 1],
        ["b", 2],
      ],
      undefined,
    );
    await backend.get("a");
    inner.hold();
    const reading = backend.get("b");
    inner.lose();
    inner.release();
    assert.equal(await reading, 2);
    assert.equal(backend.stats.entries, 0);
    assert.equal(backend.stats.flushes, 1);
  });

  it("keeps an entry no longer than the time the backend said the key had left", async () => {
    const clock = new ManualClock();
    const inner = new WatchedBackend();
    const backend = new NearBackend(inner, { clock, timeToLive: 60_000 });
    await inner.set("k", "v", {});
    inner.lifetimes.set("k", 50);
    await backend.get("k");
    clock.advance(49);
    assert.equal(backend.capabilities.near.peek("k")?.stored, "v");
    clock.advance(2);
    assert.equal(backend.capabilities.near.peek("k"), undefined);
  });

  it("keeps our own writes, even when told of a change while in flight (it took effect before ours); a later change drops them", async () => {
    const inner = new WatchedBackend();
    const backend = new NearBackend(inner);
    await backend.set("mine", "v", {});
    assert.equal(backend.capabilities.near.peek("mine")?.stored, "v");
    inner.hold();
    const writing = backend.set("raced", "ours", {});
    // As Redis does: a change told before our write settles took effect before it (our own write's
    // invalidation among them); one made after it is told after it settles.
    inner.tellChanged("raced");
    inner.release();
    await writing;
    assert.equal(backend.capabilities.near.peek("raced")?.stored, "ours");
    inner.changeBehindTheBack("raced", "theirs");
    assert.equal(backend.capabilities.near.peek("raced"), undefined);
    inner.hold();
    const lost = backend.set("lost", "ours", {});
    inner.lose();
    inner.release();
    await lost;
    assert.equal(
      backend.capabilities.near.peek("lost"),
      undefined,
      "a write in flight when the stream was lost is not kept",
    );
    assert.equal(await backend.set("nx", "first", { ifNotExists: true }), true);
    assert.equal(await backend.set("nx", "second", { ifNotExists: true }), false);
    assert.equal(backend.capabilities.near.peek("nx")?.stored, "first");
  });

  it("forgets a key at once on delete, expireIn and a failed write; clear drops the prefix", async () => {
    const inner = new WatchedBackend();
    const backend = new NearBackend(inner);
    await backend.setMany(
      [
        ["p:a", 1],
        ["p:b", 2],
        ["q:c", 3],
        ["q:d", 4],
      ],
      undefined,
    );
    assert.equal(backend.stats.entries, 4);
    await backend.delete("p:a");
    await backend.expireIn("p:b", 1000);
    assert.equal(backend.capabilities.near.peek("p:a"), undefined);
    assert.equal(backend.capabilities.near.peek("p:b"), undefined);
    inner.failNext("set", new Error("down"));
    await assert.rejects(backend.set("q:c", 30, {}), /down/);
    assert.equal(backend.capabilities.near.peek("q:c"), undefined);
    await backend.clear("q:");
    assert.equal(backend.stats.entries, 0);
  });

  it("getMany answers what it holds and reads only the rest, in one call, keeping it", async () => {
    const inner = new WatchedBackend();
    const backend = new NearBackend(inner);
    await inner.setMany(
      [
        ["a", 1],
        ["b", 2],
        ["c", 3],
      ],
      undefined,
    );
    await backend.get("a");
    inner.calls.length = 0;
    assert.deepEqual(
      [...(await backend.getMany(["b", "a", "c", "absent"]))],
      [
        ["b", 2],
        ["a", 1],
        ["c", 3],
      ],
    );
    assert.deepEqual(inner.calls, [{ operation: "getMany", args: [["b", "c", "absent"]] }]);
    assert.equal(backend.stats.entries, 3);
  });

  it("stops listening when closed", async () => {
    const inner = new WatchedBackend();
    const backend = new NearBackend(inner);
    assert.equal(inner.listeners, 1);
    await backend.close();
    assert.equal(inner.listeners, 0);
  });
});

describe("Cache with near", () => {
  it("answers a near hit with the decoded value, decoded once and shared", async () => {
    const inner = new WatchedBackend();
    const cache = new Cache<{ n: number }>({ backend: inner, serializer: "json://", prefix: "app:", near: true });
    await inner.set("app:k", JSON.stringify({ n: 1 }), {});
    const first = await cache.get("k");
    inner.calls.length = 0;
    const second = await cache.get("k");
    assert.deepEqual(second, { n: 1 });
    assert.equal(second, first, "the same decoded object: decoded on the miss, not again");
    assert.deepEqual(inner.calls, []);
    assert.deepEqual(cache.stats.near, { hits: 1, misses: 1, entries: 1, invalidations: 0, flushes: 0 });
  });

  it("takes the near option as options, true or a memory:// URL, and refuses anything else by name", () => {
    const inner = new WatchedBackend();
    for (const near of [true, { maxEntries: 5 }, "memory://?max-entries=5"]) {
      assert.ok(new Cache({ backend: inner, serializer: "json://", near }).stats.near);
    }
    assert.throws(
      () => new Cache({ backend: inner, serializer: "json://", near: "redis://x" }),
      /the near option takes a memory:\/\/ URL/,
    );
    assert.throws(
      () => new Cache({ backend: inner, serializer: "json://", near: { maxEntrys: 5 } as never }),
      /maxEntrys/,
    );
    assert.throws(
      () => new Cache({ backend: inner, serializer: "json://", near: { timeToLive: "soon" as never } }),
      (error: unknown) => error instanceof ConfigurationError && /near\.timeToLive/.test(error.message),
    );
    assert.throws(
      () => new Cache({ backend: inner, serializer: "json://", near: 5 as never }),
      /the near option must be/,
    );
    assert.throws(
      () => new Cache({ backend: inner, serializer: "json://", near: { maxEntries: 0 } }),
      /near\.maxEntries must be an integer 1–16777216, got 0/,
    );
    assert.throws(
      () => new Cache({ backend: inner, serializer: "json://", near: { maxSize: 1.5 } }),
      /near\.maxSize must be a positive integer number of bytes, got 1\.5/,
    );
    assert.equal(new Cache({ backend: inner, serializer: "json://" }).stats.near, undefined);
  });
});
