import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { MemoryBackend } from "../../src/backends/memory.js";
import { fromUrl } from "../../src/backends/registry.js";
import { MemoryBackend as SyncMemoryBackend } from "../../src/backends/sync/memory.js";
import { BackendError, ConfigurationError } from "../../src/errors.js";
import { ManualClock } from "../support/clock.js";

describe("memory backend", () => {
  it("evicts the least recently used entry beyond max-entries", () => {
    const backend = new SyncMemoryBackend({ maxEntries: 3 });
    backend.set("a", "1", {});
    backend.set("b", "2", {});
    backend.set("c", "3", {});
    backend.get("a"); // a is now the most recently used
    backend.set("d", "4", {});
    assert.equal(backend.size, 3);
    assert.equal(backend.has("b"), false);
    assert.deepEqual([...backend.getMany(["a", "c", "d"]).keys()], ["a", "c", "d"]);
  });

  it("stays within max-entries under a million distinct keys (L8)", () => {
    const backend = new SyncMemoryBackend({ maxEntries: 10_000 });
    const value = new Uint8Array(16);
    for (let index = 0; index < 1_000_000; index++) backend.set(`key:${String(index)}`, value, {});
    assert.equal(backend.size, 10_000);
    assert.equal(backend.has("key:999999"), true);
    assert.equal(backend.has("key:0"), false);
  });

  it("bounds the bytes held by max-size, counting the wire value", () => {
    const backend = new SyncMemoryBackend({ maxSize: 100 });
    for (let index = 0; index < 10; index++) backend.set(`k${String(index)}`, new Uint8Array(30), {});
    assert.equal(backend.size, 3);
    backend.set("text", `${"é".repeat(20)}!`, {}); // 41 bytes of UTF-8: 30 + 30 + 41 > 100
    assert.equal(backend.size, 2);
  });

  it("refuses a single value larger than max-size with a BackendError naming the key", () => {
    const backend = new SyncMemoryBackend({ maxSize: 10 });
    backend.set("kept", "small", {});
    assert.throws(
      () => backend.set("big", new Uint8Array(11), {}),
      (error: unknown) => error instanceof BackendError && error.key === "big" && /max-size/.test(error.message),
    );
    assert.throws(() => {
      backend.setMany(
        [
          ["ok", "1"],
          ["big", new Uint8Array(11)],
        ],
        undefined,
      );
    }, BackendError);
    assert.equal(backend.has("ok"), false, "a refused batch writes nothing");
    assert.equal(backend.get("kept"), "small");
  });

  it("stores null and undefined as values (noop://)", () => {
    const backend = new SyncMemoryBackend();
    backend.set("null", null, {});
    backend.set("undefined", undefined, {});
    assert.equal(backend.has("null"), true);
    assert.equal(backend.has("undefined"), true);
    assert.deepEqual(
      backend.getMany(["null", "undefined"]),
      new Map<string, unknown>([
        ["null", null],
        ["undefined", undefined],
      ]),
    );
  });

  it("removes expired entries without their being read", (context) => {
    context.mock.timers.enable({ apis: ["setTimeout"] });
    const clock = new ManualClock();
    const backend = new SyncMemoryBackend({ clock });
    for (let index = 0; index < 1000; index++) backend.set(`short:${String(index)}`, "v", { timeToLive: 50 });
    backend.set("long", "v", { timeToLive: 10_000 });
    backend.set("forever", "v", {});
    assert.equal(backend.size, 1002);
    clock.advance(60);
    context.mock.timers.tick(60);
    assert.equal(backend.size, 2, "the short-lived entries left on their own");
    clock.advance(10_000);
    context.mock.timers.tick(10_000);
    assert.equal(backend.size, 1);
    backend.close();
  });

  it("drops 100 000 unread entries with a 50 ms time to live within twice that, on the real clock (L8)", async () => {
    const backend = new SyncMemoryBackend({ maxEntries: 200_000 });
    const value = new Uint8Array(64);
    for (let index = 0; index < 100_000; index++) backend.set(`short:${String(index)}`, value, { timeToLive: 50 });
    const insertedAt = performance.now();
    assert.ok(backend.size > 0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const waited = performance.now() - insertedAt;
    assert.equal(backend.size, 0, `entries left ${String(waited)} ms after the last insert`);
    backend.close();
  });

  it("keeps its expiry bookkeeping bounded when the same keys are rewritten", () => {
    const clock = new ManualClock();
    const backend = new SyncMemoryBackend({ clock, maxEntries: 10 });
    for (let round = 0; round < 100_000; round++) backend.set(`k${String(round % 10)}`, "v", { timeToLive: 60_000 });
    clock.advance(61_000);
    backend.purgeExpired();
    assert.equal(backend.size, 0);
    backend.close();
  });

  it("does not keep the process alive with its timer", async () => {
    const backend = new MemoryBackend();
    await backend.set("k", "v", { timeToLive: 3_600_000 });
    assert.equal(backend.size, 1);
    await backend.close();
    assert.equal(backend.size, 0);
  });

  it("validates max-entries and max-size", () => {
    assert.throws(
      () => fromUrl("memory://?max-entries=0"),
      /max-entries must be an integer 1–16777216 for memory:\/\/, got "0"/,
    );
    assert.throws(() => fromUrl("memory://?max-entries=ten"), ConfigurationError);
    assert.throws(() => fromUrl("memory://?max-size=-5"), /max-size must be an integer/);
    assert.throws(() => fromUrl("memory://?max-age=5"), /unknown parameter "max-age".*known: max-entries, max-size/);
    assert.throws(() => fromUrl("memory://localhost"), /takes no host or path/);
    assert.throws(() => new SyncMemoryBackend({ maxEntries: 1.5 }), ConfigurationError);
    assert.ok(fromUrl("memory://?max-entries=5&max-size=1000") instanceof MemoryBackend);
  });

  it("behaves like a map with expiry, for any sequence of operations (property)", () => {
    type Operation =
      | { kind: "set"; key: string; value: string; timeToLive: number | undefined; ifNotExists: boolean }
      | { kind: "get" | "delete" | "has"; key: string }
      | { kind: "expireIn"; key: string; timeToLive: number | undefined }
      | { kind: "advance"; milliseconds: number };
    const key = fc.constantFrom("a", "b", "c", "");
    const timeToLive = fc.option(fc.integer({ min: 1, max: 200 }), { nil: undefined });
    const operation: fc.Arbitrary<Operation> = fc.oneof(
      fc.record({ kind: fc.constant("set" as const), key, value: fc.string(), timeToLive, ifNotExists: fc.boolean() }),
      fc.record({ kind: fc.constantFrom("get" as const, "delete" as const, "has" as const), key }),
      fc.record({ kind: fc.constant("expireIn" as const), key, timeToLive }),
      fc.record({ kind: fc.constant("advance" as const), milliseconds: fc.integer({ min: 0, max: 150 }) }),
    );
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 60 }), (operations) => {
        const clock = new ManualClock();
        const backend = new SyncMemoryBackend({ clock });
        const model = new Map<string, { value: string; expiresAt: number }>();
        const live = (name: string) => {
          const entry = model.get(name);
          if (entry !== undefined && entry.expiresAt < clock.now()) model.delete(name);
          return model.get(name);
        };
        for (const step of operations) {
          switch (step.kind) {
            case "set": {
              const stored = !(step.ifNotExists && live(step.key) !== undefined);
              if (stored) {
                model.set(step.key, { value: step.value, expiresAt: clock.now() + (step.timeToLive ?? Infinity) });
              }
              assert.equal(backend.set(step.key, step.value, step), stored);
              break;
            }
            case "get":
              assert.equal(backend.get(step.key), live(step.key)?.value);
              break;
            case "has":
              assert.equal(backend.has(step.key), live(step.key) !== undefined);
              break;
            case "delete":
              assert.equal(backend.delete(step.key), live(step.key) !== undefined);
              model.delete(step.key);
              break;
            case "expireIn": {
              const entry = live(step.key);
              if (entry !== undefined) entry.expiresAt = clock.now() + (step.timeToLive ?? Infinity);
              assert.equal(backend.expireIn(step.key, step.timeToLive), entry !== undefined);
              break;
            }
            case "advance":
              clock.advance(step.milliseconds);
              backend.purgeExpired();
              break;
          }
        }
        backend.close();
      }),
      { numRuns: 300 },
    );
  });
});

describe("memory backend expiry bookkeeping", () => {
  it("still removes entries that had expired when the bookkeeping was rebuilt", () => {
    const clock = new ManualClock();
    const backend = new SyncMemoryBackend({ clock, maxEntries: 100 });
    backend.set("stale", "v", { timeToLive: 10 });
    clock.advance(20);
    // Rewriting the same live keys many times triggers a rebuild while "stale" is expired but present.
    for (let round = 0; round < 5000; round++) backend.set(`k${String(round % 5)}`, "v", { timeToLive: 60_000 });
    backend.purgeExpired();
    assert.equal(backend.size, 5);
    backend.close();
  });
});
