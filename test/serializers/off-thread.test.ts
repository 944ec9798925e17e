import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { deflateSync } from "node:zlib";
// The built zstd compressor, whose worker file is JavaScript (tsx cannot start a .ts worker on Node 20).
import { zstdWorkerStatus } from "../../dist/esm/serializers/compressors/zstd/off-thread.js";
import { ZstdCompressor as BuiltZstdCompressor } from "../../dist/esm/serializers/index.js";
import { Cache } from "../../src/cache/cache.js";
import type { SerializationError } from "../../src/errors.js";
import { fromUrl } from "../../src/serializers/registry.js";
import { redisUnavailableReason, RedisServer } from "../support/redis-server.js";

/** The compressor of `url` through the four methods the Cache uses; fails if it lacks the async ones. */
function compressorAt(url: string) {
  const serializer = fromUrl<Uint8Array>(url);
  assert.ok(serializer.serializeAsync !== undefined && serializer.deserializeAsync !== undefined, url);
  return {
    serialize: (value: Uint8Array) => serializer.serialize(value) as Uint8Array,
    deserialize: (wire: Uint8Array) => serializer.deserialize(wire),
    serializeAsync: async (value: Uint8Array) => (await serializer.serializeAsync?.(value)) as Uint8Array,
    deserializeAsync: async (wire: Uint8Array) => (await serializer.deserializeAsync?.(wire)) as Uint8Array,
  };
}

/** Compressible bytes: JSON records repeated to `size`. */
function compressible(size: number): Buffer {
  const unit = Buffer.from(JSON.stringify(Array.from({ length: 50 }, (_, id) => ({ id, name: `user ${String(id)}` }))));
  const output = Buffer.alloc(size);
  for (let offset = 0; offset < size; offset += unit.byteLength) unit.copy(output, offset);
  return output;
}

/**
 * Whether the event loop got a turn (a `setImmediate` ran) before `work` settled: true when the work
 * ran elsewhere, false when it ran on this thread before the promise resolved.
 */
async function loopTurnedDuring(work: () => Promise<unknown>): Promise<boolean> {
  let turned = false;
  const immediate = setImmediate(() => {
    turned = true;
  });
  await work();
  clearImmediate(immediate);
  return turned;
}

const schemes = ["zlib", "gzip", "brotli", "zstd"] as const;

describe("compressors off the event loop", () => {
  for (const scheme of schemes) {
    it(`${scheme}:// round-trips through serializeAsync/deserializeAsync, interchangeably with the sync forms`, async () => {
      const compressor = compressorAt(`${scheme}://`);
      for (const input of [compressible(100), compressible(3 * 1024 * 1024)]) {
        const compressed = await compressor.serializeAsync(input);
        assert.deepEqual(Buffer.from(compressor.deserialize(compressed)), input);
        assert.deepEqual(Buffer.from(await compressor.deserializeAsync(compressor.serialize(input))), input);
        assert.deepEqual(Buffer.from(await compressor.deserializeAsync(compressed)), input);
      }
    });

    it(`${scheme}:// refuses a bomb beyond max-decompressed-size off the loop too`, async () => {
      const compressor = compressorAt(`${scheme}://?max-decompressed-size=100000`);
      const bomb = compressorAt(`${scheme}://`).serialize(Buffer.alloc(4 * 1024 * 1024));
      await assert.rejects(compressor.deserializeAsync(bomb), /max-decompressed-size \(100000 bytes\)/);
    });
  }

  it("moves large inputs to the thread pool and keeps small ones (or all, with off-thread-bytes) on the loop", async () => {
    const input = compressible(16 * 1024 * 1024);
    const offThread = compressorAt("zlib://?compression-level=9");
    assert.equal(await loopTurnedDuring(() => offThread.serializeAsync(input)), true);
    const compressed = deflateSync(input);
    assert.equal(await loopTurnedDuring(() => offThread.deserializeAsync(compressed)), true);
    const onLoop = compressorAt(`zlib://?compression-level=9&off-thread-bytes=${String(64 * 1024 * 1024)}`);
    assert.equal(await loopTurnedDuring(() => onLoop.serializeAsync(input)), false);
    assert.equal(await loopTurnedDuring(() => onLoop.serializeAsync(compressible(1000))), false);
  });

  it("runs zstd in a worker thread where Node has no asynchronous zstd, and answers the same bytes", async () => {
    const compressor = new BuiltZstdCompressor({ compressionLevel: 19 });
    const input = compressible(8 * 1024 * 1024);
    let compressed: Uint8Array | undefined;
    assert.equal(
      await loopTurnedDuring(async () => {
        compressed = await compressor.serializeAsync(input);
      }),
      true,
    );
    assert.ok(compressed !== undefined);
    assert.deepEqual(Buffer.from(compressor.deserialize(compressed)), input);
    assert.deepEqual(Buffer.from(await compressor.deserializeAsync(compressed)), input);
    // Node 22.15+ compresses on its own thread pool; older Node needs the worker, which must have answered.
    const hasBuiltInZstd = "zstdCompress" in (await import("node:zlib"));
    assert.equal(zstdWorkerStatus().unavailable, false);
    assert.ok(hasBuiltInZstd || zstdWorkerStatus().answeredJobs >= 1, JSON.stringify(zstdWorkerStatus()));
    const small = new BuiltZstdCompressor({ maxDecompressedSize: 1000 });
    await assert.rejects(small.deserializeAsync(compressed), (error: unknown) => {
      // The built copy's error class is not src's: compare by code.
      assert.equal((error as SerializationError).code, "CACHETORY_SERIALIZATION", String(error));
      assert.ok((error as Error).cause instanceof RangeError);
      return true;
    });
  });

  it("names off-thread-bytes when it is out of range", () => {
    assert.throws(() => fromUrl("zlib://?off-thread-bytes=-1"), /off-thread-bytes/);
    assert.throws(() => fromUrl("zstd://?off-thread-bytes=lots"), /off-thread-bytes/);
  });
});

describe("the async Cache with a compressing serializer", () => {
  it("writes and reads big values through the thread pool: get, set, getMany and setMany", async () => {
    await using cache = new Cache<{ items: string[] }>({ backend: "memory://", serializer: "json+zlib://" });
    const big = { items: Array.from({ length: 2000 }, (_, index) => `item ${String(index)} `.repeat(20)) };
    await cache.set("big", big);
    assert.deepEqual(await cache.get("big"), big);
    await cache.setMany({ a: big, b: { items: ["small"] } });
    assert.deepEqual(
      await cache.getMany("a", "b", "absent"),
      new Map([
        ["a", big],
        ["b", { items: ["small"] }],
      ]),
    );
  });

  it("counts, reports and deletes a big value that does not decompress, once", async () => {
    const reported: string[] = [];
    await using cache = new Cache<unknown>({
      backend: "memory://",
      serializer: "json+gzip://",
      onError: (error, { operation, key }) => reported.push(`${error.name} ${operation} ${String(key)}`),
    });
    await cache.backend.set("broken", compressible(256 * 1024), {});
    assert.equal(await cache.get("broken", "fallback"), "fallback");
    assert.equal(await cache.backend.has("broken"), false);
    assert.deepEqual(reported, ["SerializationError get broken"]);
    assert.equal(cache.stats.undecodableValues, 1);
  });
});

describe("operations on one key keep their order when values are compressed off the event loop", () => {
  const servers: RedisServer[] = [];
  after(async () => {
    for (const server of servers) await server.stop();
  });

  async function backends(): Promise<[string, string][]> {
    if (redisUnavailableReason() !== undefined) return [["memory", "memory://"]];
    const server = await RedisServer.start();
    servers.push(server);
    return [
      ["memory", "memory://"],
      ["Redis", server.url(0)],
    ];
  }

  it("set(k, big) then set(k, small), set then delete, setMany then delete, set then get: issue order wins", async () => {
    const big = "x".repeat(2 * 1024 * 1024);
    for (const [name, backend] of await backends()) {
      const cache = new Cache<string>({ backend, serializer: "json+gzip://" });
      for (let round = 0; round < 50; round++) {
        const first = cache.set("k", big);
        const second = cache.set("k", "small");
        const read = cache.get("k");
        await Promise.all([first, second]);
        assert.equal(await read, "small", `${name}, round ${String(round)}: the read issued after both sets`);
        assert.equal(await cache.get("k"), "small", `${name}, round ${String(round)}`);
      }
      const stored = cache.set("d", big);
      const deleted = cache.delete("d");
      await stored;
      assert.equal(await deleted, true);
      assert.equal(await cache.has("d"), false, name);
      const many = cache.setMany({ m: big, n: "1" });
      const gone = cache.deleteMany("m", "n");
      await many;
      assert.equal(await gone, 2);
      assert.equal((await cache.getMany("m", "n")).size, 0, name);
      const late = cache.set("c", big);
      const cleared = cache.clear();
      await Promise.all([late, cleared]);
      assert.equal(await cache.has("c"), false, `${name}: clear() issued after the set`);
      await cache.close();
    }
  });
});

describe("a value that could never be read back", () => {
  it("is refused at write when it is larger than max-decompressed-size, on and off the event loop", async () => {
    for (const url of ["noop+zstd://?max-decompressed-size=1000000", "noop+gzip://?max-decompressed-size=1000000"]) {
      const cache = new Cache<Uint8Array>({ backend: "memory://", serializer: url });
      for (const size of [1_000_001, 5_000_000]) {
        await assert.rejects(cache.set("big", new Uint8Array(size)), (error: unknown) => {
          assert.ok(error instanceof Error && error.name === "SerializationError", String(error));
          assert.match(error.message, /key "big".*over max-decompressed-size \(1000000 bytes\).*never be read back/);
          return true;
        });
      }
      assert.equal(await cache.has("big"), false);
      assert.equal(await cache.set("fits", new Uint8Array(1_000_000)), true);
      assert.equal((await cache.get("fits"))?.byteLength, 1_000_000);
      await cache.close();
    }
    const sync = fromUrl<Uint8Array>("noop+zstd://?max-decompressed-size=10");
    assert.throws(() => sync.serialize(new Uint8Array(11)), /over max-decompressed-size/);
  });
});
