/**
 * Bad data and awkward load against real caches (reliability.md B2, B6, B10, B12, L5, F9): values of
 * another format, oversized values, unencodable values, a herd after a flush, a read-only replica, and
 * a byte-flip fuzzer over every serializer chain.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { after, describe, it } from "node:test";
import { createClient } from "redis";
import { MemoryBackend } from "../../src/backends/memory/backend.js";
import { RedisBackend } from "../../src/backends/redis/backend.js";
import { Cache } from "../../src/cache/cache.js";
import * as serializers from "../../src/serializers/registry.js";
import { BackendError, ConfigurationError, SerializationError } from "../../src/errors.js";
import { cached } from "../../src/memoize/cached.js";
import { runFuzzChild } from "../support/fuzz-child.js";
import { needsRedis, RedisServer } from "../support/redis-server.js";

const requirement = needsRedis();
const servers: RedisServer[] = [];
after(async () => {
  for (const server of servers) await server.stop();
});
async function startServer(options: Parameters<typeof RedisServer.start>[0] = {}): Promise<RedisServer> {
  const server = await RedisServer.start(options);
  servers.push(server);
  return server;
}

describe("corrupt bytes in Redis (B1)", requirement, () => {
  const chains = [
    "json://",
    "msgpack://",
    "v8://",
    "pickle://",
    "zlib://",
    "gzip://",
    "brotli://",
    "zstd://",
    "json+zlib://",
    "msgpack+zstd://",
    "v8+gzip://",
    "pickle+brotli://",
  ];
  it("each chain answers a miss, deletes the entry, counts it, and leaves other keys and the circuit alone", async () => {
    const server = await startServer();
    const raw = createClient({ url: server.url(0) });
    await raw.connect();
    try {
      for (const [index, url] of chains.entries()) {
        const reported: string[] = [];
        const backend = new RedisBackend({ url: server.url(0) });
        await using cache = new Cache<unknown>({
          backend,
          serializer: url,
          onError: (error) => reported.push(error.name),
        });
        const good =
          url.startsWith("zlib") || url.startsWith("gzip") || url.startsWith("brotli") || url.startsWith("zstd")
            ? Buffer.from("fine")
            : { fine: true };
        await cache.set("good", good);
        // Random bytes written by another client, as a bug or an attacker would.
        const garbage = Buffer.from(Array.from({ length: 64 }, (_, byte) => (byte * 73 + index * 31 + 7) % 256));
        await raw.set("corrupt", garbage);
        assert.equal(await cache.get("corrupt", "miss"), "miss", url);
        assert.equal(await raw.exists("corrupt"), 0, `${url}: deleted`);
        assert.equal(cache.stats.undecodableValues, 1, url);
        assert.deepEqual(reported, ["SerializationError"], url);
        assert.deepEqual(await cache.get("good"), good, `${url}: other keys unaffected`);
        assert.equal(backend.circuit, "closed", `${url}: no breaker trip`);
      }
    } finally {
      raw.destroy();
    }
  });
});

describe("deleting an undecodable value", requirement, () => {
  it("never deletes a value another writer stored between the read and the delete (memory and Redis)", async () => {
    const server = await startServer();
    const raw = createClient({ url: server.url(0) });
    await raw.connect();
    try {
      for (const where of ["memory", "redis"] as const) {
        const backend = where === "redis" ? new RedisBackend({ url: server.url(0) }) : new MemoryBackend();
        // The other writer stores its value as soon as the bad one is reported, before the cache deletes:
        // through the same connection, so it reaches Redis first.
        const fresh = serializers.fromUrl<string>("json+gzip://").serialize("fresh");
        const cache = new Cache<string>({
          backend,
          serializer: "json+gzip://",
          onError: () => {
            void backend.set("k", fresh, {});
          },
        });
        const corrupt = gzipSync("not json {");
        await backend.set("k", corrupt, {});
        assert.equal(await cache.get("k"), undefined);
        assert.equal(await cache.get("k"), "fresh");
        // A bad value nobody replaced is still deleted.
        await backend.set("other", gzipSync("not json either"), {});
        const quiet = new Cache<string>({ backend, serializer: "json+gzip://", onError: () => undefined });
        assert.equal(await quiet.get("other"), undefined);
        assert.equal(await backend.has("other"), false);
        await cache.close();
      }
    } finally {
      raw.destroy();
    }
  });
});

describe("values written in another format (B6)", () => {
  const skews: [string, string][] = [
    ["msgpack://", "json://"],
    ["json+zstd://", "json://"],
    ["json://", "msgpack+zlib://"],
    ["v8://", "pickle://"],
    ["pickle://", "msgpack://"],
  ];
  for (const [written, read] of skews) {
    it(`${written} read as ${read} is a counted miss, never a wrong value`, async () => {
      await using writer = new Cache<unknown>({ backend: "memory://", serializer: written });
      await writer.set("k", { id: 1, tags: ["x"] });
      await using reader = new Cache<unknown>({
        backend: writer.backend,
        serializer: read,
        undecodableValues: "keep",
        onError: () => {},
      });
      const value = await reader.get("k", "miss");
      assert.equal(value, "miss", `${written} bytes read as ${read} gave ${JSON.stringify(value)}`);
      assert.equal(reader.stats.undecodableValues, 1);
    });
  }
});

describe("oversized values (B10)", () => {
  it("maxValueBytes refuses a larger value with a SerializationError naming the key, writing nothing", async () => {
    await using cache = new Cache<unknown>({ backend: "memory://", serializer: "json://", maxValueBytes: 1000 });
    await cache.set("small", "x".repeat(900));
    await assert.rejects(cache.set("big", "é".repeat(600)), (error: unknown) => {
      assert.ok(error instanceof SerializationError);
      assert.match(error.message, /value of key "big" is 1202 bytes serialized, over maxValueBytes \(1000\)/);
      return true;
    });
    await assert.rejects(cache.setMany({ fine: 1, big: "x".repeat(2000) }), SerializationError);
    assert.equal(await cache.has("big"), false);
    assert.equal(await cache.has("fine"), false, "a batch with one oversized value writes nothing");
    assert.throws(
      () => new Cache({ backend: "memory://", serializer: "json://", maxValueBytes: 0 }),
      ConfigurationError,
    );
  });

  it(
    "Redis's proto-max-bulk-len: a typed error, nothing written, and the connection stays healthy",
    requirement,
    async () => {
      const server = await startServer({ arguments: ["--proto-max-bulk-len", "1mb"] });
      await using cache = new Cache<Uint8Array>({ backend: server.url(0), serializer: "noop://", onError: () => {} });
      await cache.set("before", Buffer.from("ok"));
      await assert.rejects(cache.set("huge", Buffer.alloc(2 * 1024 * 1024)), BackendError);
      assert.equal(await cache.has("huge"), false);
      assert.equal(String(await cache.get("before")), "ok");
    },
  );

  it(
    "a value over proto-max-bulk-len is refused before it is sent, so the calls beside it go through",
    requirement,
    async () => {
      const server = await startServer({ arguments: ["--proto-max-bulk-len", "1mb"] });
      await using cache = new Cache<Uint8Array>({ backend: server.url(0), serializer: "noop://" });
      // The first write asks the server for its limit.
      await cache.set("first", Buffer.from("ok"));
      for (let round = 0; round < 5; round++) {
        const [huge, beside, besideMany] = await Promise.allSettled([
          cache.set("huge", Buffer.alloc(2 * 1024 * 1024)),
          cache.set("beside", Buffer.from(String(round))),
          cache.setMany({ many: Buffer.from(String(round)) }),
        ]);
        assert.equal(huge.status, "rejected");
        assert.match(
          String(huge.reason),
          /BackendError: the value of key "huge" is 2097152 bytes, over the 1048576 bytes Redis takes in one value \(proto-max-bulk-len\); nothing was sent/,
        );
        assert.deepEqual([beside.status, besideMany.status], ["fulfilled", "fulfilled"]);
      }
      await assert.rejects(
        cache.setMany({ fine: Buffer.from("1"), huge: Buffer.alloc(2 * 1024 * 1024) }),
        /proto-max-bulk-len/,
      );
      assert.deepEqual([await cache.has("huge"), await cache.has("fine")], [false, false]);
    },
  );

  it("json:// refuses a byte array as the value, pointing to the serializers that store bytes", async () => {
    await using cache = new Cache<unknown>({ backend: "memory://", serializer: "json://" });
    for (const bytes of [Buffer.from("abc"), new Uint8Array(3), new ArrayBuffer(3)]) {
      await assert.rejects(cache.set("bytes", bytes), (error: unknown) => {
        assert.ok(error instanceof SerializationError);
        assert.match(error.message, /key "bytes".*does not store byte arrays.*msgpack:\/\/, v8:\/\/ or noop:\/\//);
        return true;
      });
    }
    assert.equal(await cache.has("bytes"), false);
  });
});

describe("values a serializer cannot encode (B12)", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const cases: [string, unknown][] = [
    ["json://", 1n],
    ["json://", cyclic],
    ["json://", () => 1],
    ["json://", Symbol("s")],
    ["msgpack://", () => 1],
    ["pickle://", new Date(0)],
    ["pickle://", undefined],
  ];
  for (const [url, value] of cases) {
    it(`${url} refuses ${typeof value === "object" ? "a cycle or a Date" : typeof value} with a SerializationError, writing nothing`, async () => {
      await using cache = new Cache<unknown>({ backend: "memory://", serializer: url });
      await assert.rejects(
        cache.set("k", value),
        (error: unknown) => error instanceof SerializationError && error.key === "k",
      );
      assert.equal(await cache.has("k"), false);
    });
  }

  it("documents what is lossy instead of failing: msgpack:// writes a lone surrogate as U+FFFD", async () => {
    await using cache = new Cache<unknown>({ backend: "memory://", serializer: "msgpack://" });
    await cache.set("k", "a\uD800b");
    assert.equal(await cache.get("k"), "a\uFFFDb");
  });
});

describe("herd after a flush (L5)", requirement, () => {
  it("200 concurrent callers over 1 000 hot keys compute each key at most once", async () => {
    const server = await startServer();
    await using cache = new Cache<number>({ backend: server.url(0), serializer: "json://" });
    const computed = new Map<number, number>();
    const load = cached(cache, { name: "load" })(async (id: number) => {
      computed.set(id, (computed.get(id) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, 5));
      return id * 2;
    });
    for (let id = 0; id < 1000; id++) await load(id);
    const admin = createClient({ url: server.url(0) });
    await admin.connect();
    await admin.flushAll();
    admin.destroy();
    computed.clear();
    await Promise.all(
      Array.from({ length: 200 }, async (_, caller) => {
        for (let step = 0; step < 50; step++) {
          const id = (caller * 37 + step * 101) % 1000;
          assert.equal(await load(id), id * 2);
        }
      }),
    );
    const most = Math.max(...computed.values());
    console.log(`# L5: ${String(computed.size)} keys recomputed, at most ${String(most)} time(s) each`);
    assert.ok(most <= 1, `a key was computed ${String(most)} times`);
  });
});

describe("a read-only replica (F9)", requirement, () => {
  it("refuses writes with a BackendError naming READONLY, and serves reads", async () => {
    // No 5 s wait before the initial (diskless) sync.
    const primary = await startServer({ arguments: ["--repl-diskless-sync-delay", "0"] });
    const replica = await startServer({ arguments: ["--replicaof", "127.0.0.1", String(primary.port)] });
    await using writer = new Cache<string>({ backend: primary.url(0), serializer: "json://" });
    await writer.set("k", "from the primary");
    await using reader = new Cache<string>({
      backend: new RedisBackend({ url: replica.url(0) }),
      serializer: "json://",
      onError: () => {},
    });
    let value: string | undefined;
    for (let attempt = 0; attempt < 100 && value === undefined; attempt++) {
      value = await reader.get("k");
      if (value === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(value, "from the primary");
    await assert.rejects(reader.set("k", "from the replica"), (error: unknown) => {
      assert.ok(error instanceof BackendError);
      assert.match(error.message, /READONLY/);
      return true;
    });
    assert.equal(reader.stats.failedWrites, 1);
  });
});

describe("byte-flip fuzzer (B2)", () => {
  it("10 000 stored values with 1–2 flipped bytes: no crash and no hang; silent changes reported per format", () => {
    const script = `
      import { fromUrl } from "./src/serializers/registry.ts";
      import { isDeepStrictEqual } from "node:util";
      const urls = ["json://", "msgpack://", "pickle://", "v8://", "json+zlib://", "msgpack+zstd://", "pickle+gzip://", "v8+brotli://"];
      let seed = 42;
      const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
      const report = {};
      let slowest = 0;
      for (let round = 0; round < 10000; round++) {
        const url = urls[round % urls.length];
        const serializer = fromUrl(url);
        const value = { id: round, name: "item " + round, tags: ["a", "b"], score: random(), nested: { ok: round % 2 === 0 } };
        const wire = Buffer.from(serializer.serialize(value));
        for (let flips = 1 + (round % 2); flips > 0; flips--) wire[Math.floor(random() * wire.length)] ^= 1 + Math.floor(random() * 255);
        const started = performance.now();
        const entry = (report[url] ??= { rejected: 0, silentlyDifferent: 0, unchanged: 0 });
        try {
          const back = serializer.deserialize(wire);
          if (isDeepStrictEqual(back, value)) entry.unchanged++; else entry.silentlyDifferent++;
        } catch (error) {
          if (!(error instanceof Error)) throw new Error("a non-Error was thrown");
          entry.rejected++;
        }
        slowest = Math.max(slowest, performance.now() - started);
      }
      console.log(JSON.stringify({ report, slowest }));
    `;
    const { report, slowest } = runFuzzChild(script, 120_000);
    for (const [url, counts] of Object.entries(report)) {
      console.log(
        `# B2 ${url}: rejected ${String(counts.rejected)}, silently different ${String(counts.silentlyDifferent)}, unchanged ${String(counts.unchanged)}`,
      );
    }
    assert.equal(Object.keys(report).length, 8);
    assert.ok(slowest < 1000, `slowest decode ${String(slowest)} ms`);
  });
});
