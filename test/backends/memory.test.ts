import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import fc from "fast-check";
import { MemoryBackend } from "../../src/backends/memory/backend.js";
import { fromUrl } from "../../src/backends/registry.js";
import { SWEEP_SLICE } from "../../src/backends/memory/store.js";
import { MemoryBackend as SyncMemoryBackend } from "../../src/backends/memory/sync-backend.js";
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

  it("drops 100 000 unread entries with a 50 ms time to live within twice that, on the real clock (L8)", () => {
    // Timing on a shared machine: the check runs in a child process that is given CPU first (as root,
    // nice -10), so that another tenant's load cannot delay the sweep it measures. The writes come as a
    // service makes them, with turns of the event loop between batches (one synchronous loop of 100 000
    // would be a backlog of its own making). The bound is the same: nothing left 2 × TTL after the last.
    const script = `
      import { MemoryBackend } from "./src/backends/memory/sync-backend.ts";
      const backend = new MemoryBackend({ maxEntries: 200_000 });
      const value = new Uint8Array(64);
      for (let index = 0; index < 100_000; index++) {
        backend.set("short:" + index, value, { timeToLive: 50 });
        if (index % 5_000 === 4_999) await new Promise((resolve) => setImmediate(resolve));
      }
      const insertedAt = performance.now();
      const before = backend.size;
      setTimeout(() => {
        console.log(JSON.stringify({ before, left: backend.size, waited: performance.now() - insertedAt }));
        backend.close();
      }, 100);
    `;
    const command = process.getuid?.() === 0 ? ["nice", "-n", "-10", process.execPath] : [process.execPath];
    const child = spawnSync(
      command[0] as string,
      [...command.slice(1), "--import", "tsx", "--input-type=module", "-e", script],
      { encoding: "utf8", timeout: 60_000 },
    );
    assert.equal(child.status, 0, child.stderr);
    const { before, left, waited } = JSON.parse(child.stdout) as { before: number; left: number; waited: number };
    assert.ok(before > 0);
    assert.equal(left, 0, `entries left ${waited.toFixed(1)} ms after the last insert`);
  });

  it("removes an unread entry whose expiry lru-cache reckons a moment later than its record", () => {
    // Each reading of this clock is half a millisecond after the one before, as a real clock moves
    // between our reading and lru-cache's own when an entry is stored.
    let time = 1_000_000;
    const clock = { now: () => (time += 0.5) };
    const backend = new SyncMemoryBackend({ clock, maxEntries: 100 });
    backend.set("k", "v", { timeToLive: 10 });
    // Past the expiry we recorded, not yet past the one lru-cache reckons.
    time += 9.6;
    backend.purgeExpired();
    time += 1_000;
    backend.purgeExpired();
    assert.equal(backend.size, 0);
    backend.close();
  });

  it("sweeps a mass expiry in slices of at most SWEEP_SLICE entries per turn of the event loop", async () => {
    const clock = new ManualClock();
    const backend = new SyncMemoryBackend({ clock, maxEntries: 200_000 });
    for (let index = 0; index < 100_000; index++) backend.set(`k:${String(index)}`, "v", { timeToLive: 1 });
    clock.advance(10);
    // The real timer of the first expiry fires about 2 ms from now; from then on, one slice per turn.
    const observed: number[] = [];
    while (observed.at(-1) !== 0) {
      await new Promise((resolve) => setImmediate(resolve));
      // size counts expired entries until they are removed, which is what the sweep does.
      if (backend.size !== (observed.at(-1) ?? 100_000)) observed.push(backend.size);
    }
    const drops = observed.map((size, index) => (index === 0 ? 100_000 : (observed[index - 1] as number)) - size);
    assert.ok(
      drops.every((drop) => drop <= SWEEP_SLICE),
      `removed per turn: ${drops.join(", ")}`,
    );
    assert.ok(drops.length >= Math.ceil(100_000 / SWEEP_SLICE), String(drops.length));
    // Entries written while a sweep is in slices still expire.
    backend.set("late", "v", { timeToLive: 5 });
    clock.advance(10);
    backend.purgeExpired();
    assert.equal(backend.size, 0);
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
