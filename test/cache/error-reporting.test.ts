/**
 * How failures are reported: to `onError` (sync or async, each once), or without it as a
 * `CachetoryWarning` for the failures the caller did not see itself.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import type { AsyncBackend } from "../../src/backends/contract.js";
import { MemoryBackend } from "../../src/backends/memory/backend.js";
import { RedisBackend } from "../../src/backends/redis/backend.js";
import { MemoryBackend as SyncMemoryBackend } from "../../src/backends/memory/sync-backend.js";
import { Cache } from "../../src/cache/cache.js";
import { SyncCache } from "../../src/cache/sync-cache.js";
import { cached } from "../../src/memoize/cached.js";

/** A memory backend whose reads and writes fail, as a store that is down would. */
function failingBackend(): AsyncBackend {
  const backend = new MemoryBackend();
  const fail = (): Promise<never> => Promise.reject(new Error("store down"));
  // It no longer is the store its synchronous view would read: it declares no capabilities.
  return Object.assign(backend, { capabilities: {}, get: fail, set: fail, getMany: fail, delete: fail });
}

/** The CachetoryWarnings emitted while `run` runs (and one turn after it). */
async function warningsDuring(run: () => Promise<void>): Promise<Error[]> {
  const warnings: Error[] = [];
  const onWarning = (warning: Error): void => {
    if (warning.name === "CachetoryWarning") warnings.push(warning);
  };
  process.on("warning", onWarning);
  try {
    await run();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off("warning", onWarning);
  }
  return warnings;
}

describe("failure reporting", () => {
  it("an async onError that rejects does not crash the process; the rejection becomes a warning", () => {
    const script = `
      import { Cache } from "./src/cache/cache.ts";
      import { MemoryBackend } from "./src/backends/memory/backend.ts";
      const backend = Object.assign(new MemoryBackend(), {
        capabilities: {},
        get: () => Promise.reject(new Error("store down")),
      });
      const warnings = [];
      process.on("warning", (warning) => warnings.push(warning.name + ": " + warning.message));
      const cache = new Cache({
        backend, serializer: "json://", failedReads: "miss",
        onError: async () => { throw new Error("the handler failed"); },
      });
      console.log(String(await cache.get("k")));
      await new Promise((resolve) => setTimeout(resolve, 50));
      console.log(JSON.stringify(warnings));
    `;
    const child = spawnSync(
      process.execPath,
      ["--unhandled-rejections=strict", "--import", "tsx", "--input-type=module", "-e", script],
      { encoding: "utf8", timeout: 30_000 },
    );
    assert.equal(child.status, 0, child.stderr);
    const [value, warnings] = child.stdout.trim().split("\n");
    assert.equal(value, "undefined");
    assert.match(warnings ?? "", /CachetoryWarning: the handler failed/);
  });

  it("without onError, warns for an absorbed failure but not for one the caller was handed", async () => {
    const thrown = await warningsDuring(async () => {
      const cache = new Cache({ backend: failingBackend(), serializer: "json://" });
      await assert.rejects(cache.get("k"), { name: "BackendError" });
      await assert.rejects(cache.set("k", 1), { name: "BackendError" });
      await assert.rejects(cache.getMany("a", "b"), { name: "BackendError" });
    });
    assert.deepEqual(
      thrown.map((warning) => warning.message),
      [],
    );

    const absorbed = await warningsDuring(async () => {
      const cache = new Cache({ backend: failingBackend(), serializer: "json://", failedReads: "miss" });
      assert.equal(await cache.get("k"), undefined);
    });
    assert.equal(absorbed.length, 1);
    assert.match(absorbed[0]?.message ?? "", /get of key "k" failed: store down/);

    // The memoizer absorbs the cache's failures (it still returns the result): those are warned.
    const memoized = await warningsDuring(async () => {
      const cache = new Cache({ backend: failingBackend(), serializer: "json://" });
      const square = cached(cache, { name: "square" })(async (n: number) => n * n);
      assert.equal(await square(3), 9);
    });
    assert.equal(memoized.length, 1);
    assert.match(memoized[0]?.message ?? "", /store down/);
  });

  it("onError still hears every failure once, thrown or absorbed", async () => {
    const heard: string[] = [];
    const cache = new Cache({
      backend: failingBackend(),
      serializer: "json://",
      onError: (error, { operation, key }) => {
        heard.push(`${operation} ${String(key)} ${error.name}`);
      },
    });
    await assert.rejects(cache.get("k"));
    await assert.rejects(cache.set("k", 1));
    const square = cached(cache, { name: "square" })(async (n: number) => n * n);
    assert.equal(await square(2), 4);
    assert.deepEqual(heard, [
      "get k BackendError",
      "set k BackendError",
      "get square:2 BackendError",
      "set square:2 BackendError",
    ]);
  });
});

describe("the key in errors", () => {
  it("is the caller's key, in error.key, in the message and in onError, never the prefixed one", async () => {
    const heard: string[] = [];
    const options = {
      serializer: "json://",
      prefix: "tenant42:",
      onError: (error: Error, event: { key: string | undefined }) => {
        heard.push(`${String((error as { key?: string }).key)} ${String(event.key)} ${error.message}`);
      },
    };
    const cache = new Cache({ ...options, backend: new MemoryBackend({ maxSize: 10 }) });
    const syncCache = new SyncCache({ ...options, backend: new SyncMemoryBackend({ maxSize: 10 }) });
    const redisCache = new Cache({
      ...options,
      backend: new RedisBackend({ url: "redis://127.0.0.1:1/0?timeout=50" }),
    });
    const failures: unknown[] = [];
    for (const run of [
      () => cache.set("user:1", "a value longer than ten bytes"),
      async () => syncCache.set("user:1", "a value longer than ten bytes"),
      () => redisCache.get("user:1"),
      () => redisCache.set("user:\uD800", 1),
    ]) {
      try {
        await run();
      } catch (error) {
        failures.push(error);
      }
    }
    await redisCache.close();
    assert.equal(failures.length, 4);
    for (const [index, error] of failures.entries()) {
      assert.ok(error instanceof Error && error.name === "BackendError", String(error));
      assert.ok(["user:1", "user:\uD800"].includes((error as { key?: string }).key ?? ""), String(error));
      assert.ok(!error.message.includes("tenant42"), error.message);
      // The memory backend's message names no key; Redis's name it, the caller's way.
      if (index >= 2) assert.match(error.message, /of key "user:/);
    }
    assert.equal(heard.length, 4);
    for (const line of heard) assert.ok(!line.includes("tenant42"), line);
  });
});
