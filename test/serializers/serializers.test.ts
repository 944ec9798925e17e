import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { describe, it } from "node:test";
import { deflateSync, gzipSync, brotliCompressSync } from "node:zlib";
import fc from "fast-check";
import { ConfigurationError } from "../../src/errors.js";
import { ChainedSerializer } from "../../src/serializers/chained.js";
import { BrotliCompressor } from "../../src/serializers/compressors/brotli.js";
import { ZlibCompressor } from "../../src/serializers/compressors/zlib.js";
import { ZstdCompressor } from "../../src/serializers/compressors/zstd/compressor.js";
import { JsonSerializer } from "../../src/serializers/json.js";
import { NoopSerializer } from "../../src/serializers/noop.js";
import { fromUrl, registerSerializer, serializerSchemes } from "../../src/serializers/registry.js";

describe("serializer URLs", () => {
  it("lists the known schemes for an unknown one", () => {
    assert.throws(
      () => fromUrl("yaml://"),
      (error: unknown) =>
        error instanceof ConfigurationError &&
        error.message.includes('unknown serializer scheme "yaml"') &&
        ["json://", "msgpack://", "v8://", "zlib://", "gzip://", "brotli://", "zstd://", "noop://"].every((scheme) =>
          error.message.includes(scheme),
        ),
    );
    assert.throws(() => fromUrl("json+lz4://"), /unknown serializer scheme "lz4"/);
  });

  it("validates every compressor's level and names the allowed range", () => {
    const ranges: [string, number, number][] = [
      ["zlib", 0, 9],
      ["gzip", 0, 9],
      ["brotli", 0, 11],
      ["zstd", 1, 22],
    ];
    for (const [scheme, min, max] of ranges) {
      fromUrl(`${scheme}://?compression-level=${String(min)}`);
      fromUrl(`${scheme}://?compression-level=${String(max)}`);
      for (const bad of [String(min - 1), String(max + 1), "high", "1.5", ""]) {
        assert.throws(
          () => fromUrl(`${scheme}://?compression-level=${bad}`),
          new RegExp(
            `compression-level must be an integer ${String(min)}–${String(max)} for ${scheme}://, got "${bad}"`,
          ),
        );
      }
    }
    assert.throws(() => fromUrl("zstd://?compression-threads=-1"), /compression-threads must be an integer 0–256/);
    assert.throws(() => new ZlibCompressor({ compressionLevel: 12 }), ConfigurationError);
  });

  it("names unknown and repeated parameters", () => {
    assert.throws(
      () => fromUrl("json://?compression-level=3"),
      /unknown parameter "compression-level".*takes no parameters/,
    );
    assert.throws(() => fromUrl("json+zlib://?level=3"), /unknown parameter "level".*known: compression-level/);
    assert.throws(() => fromUrl("zlib://?compression-level=1&compression-level=2"), /given more than once/);
    assert.throws(() => fromUrl("json://somewhere"), /has no host or path/);
    assert.throws(() => fromUrl("not a url"), /invalid cache URL/);
  });

  it("reads pickle-protocol for pickle:// and nothing else", () => {
    assert.throws(() => fromUrl("json://?pickle-protocol=4"), /unknown parameter "pickle-protocol"/);
    assert.throws(() => fromUrl("pickle+zlib://?pickle-protocol=9"), /pickle-protocol must be an integer 2–5/);
  });

  it("chains layers left to right, sharing parameters", () => {
    const serializer = fromUrl("json+zlib://?compression-level=9");
    assert.ok(serializer instanceof ChainedSerializer);
    const [json, zlib] = serializer.layers;
    assert.ok(json instanceof JsonSerializer);
    assert.ok(zlib instanceof ZlibCompressor && zlib.compressionLevel === 9);
    const wire = serializer.serialize({ a: 1 }) as Uint8Array;
    assert.equal(wire[0], 0x78, "zlib header: compression ran last");
    assert.deepEqual(serializer.deserialize(wire), { a: 1 });
  });

  it("passes values through with noop:// and null://", () => {
    const value = { same: true };
    for (const url of ["noop://", "null://"]) {
      const serializer = fromUrl(url);
      assert.ok(serializer instanceof NoopSerializer);
      assert.equal(serializer.deserialize(serializer.serialize(value)), value);
    }
  });

  it("registers custom schemes that chain with the built-ins", () => {
    registerSerializer("base64-test", () => ({
      serialize: (bytes) => Buffer.from(bytes as Uint8Array).toString("base64"),
      deserialize: (text) => Buffer.from(String(text), "base64"),
    }));
    assert.ok(serializerSchemes().includes("base64-test"));
    const serializer = fromUrl("json+zlib+base64-test://");
    const wire = serializer.serialize([1, 2, 3]);
    assert.equal(typeof wire, "string");
    assert.deepEqual(serializer.deserialize(wire), [1, 2, 3]);
    assert.throws(() => {
      registerSerializer("json", () => new JsonSerializer());
    }, /already registered/);
    assert.throws(() => {
      registerSerializer("a+b", () => new JsonSerializer());
    }, /"\+" joins layers/);
    registerSerializer("json", () => new JsonSerializer(), { replace: true });
  });
});

describe("msgpack:// integers", () => {
  it("decodes 64-bit integers as numbers up to 2^53 and as bigint beyond, never rounded", () => {
    const serializer = fromUrl("msgpack://");
    assert.equal(serializer.deserialize(Buffer.from("cf0020000000000000", "hex")), 2 ** 53);
    assert.equal(serializer.deserialize(Buffer.from("cf0020000000000001", "hex")), 2n ** 53n + 1n);
    assert.equal(serializer.deserialize(Buffer.from("d3ffdfffffffffffff", "hex")), -(2n ** 53n) - 1n);
    assert.equal(serializer.deserialize(Buffer.from("cfffffffffffffffff", "hex")), 2n ** 64n - 1n);
  });

  it("encodes bigint as a 64-bit integer and byte arrays as bin", () => {
    const serializer = fromUrl("msgpack://");
    assert.equal(Buffer.from(serializer.serialize(2n ** 60n) as Uint8Array).toString("hex"), "d31000000000000000");
    assert.equal(Buffer.from(serializer.serialize(Uint8Array.of(1, 2)) as Uint8Array).toString("hex"), "c4020102");
  });
});

describe("decompression bombs", () => {
  const tenMegabytesOfZeros = Buffer.alloc(10 * 1024 * 1024);

  it("refuses output beyond max-decompressed-size for zlib, gzip and brotli", () => {
    const bombs: [string, Uint8Array][] = [
      ["zlib", deflateSync(tenMegabytesOfZeros, { level: 9 })],
      ["gzip", gzipSync(tenMegabytesOfZeros, { level: 9 })],
      ["brotli", brotliCompressSync(tenMegabytesOfZeros)],
    ];
    for (const [scheme, bomb] of bombs) {
      assert.ok(bomb.byteLength < 20_000, `${scheme} bomb is small (${String(bomb.byteLength)} bytes)`);
      const serializer = fromUrl(`${scheme}://?max-decompressed-size=1000000`);
      assert.throws(
        () => serializer.deserialize(bomb),
        /decompresses to more than max-decompressed-size \(1000000 bytes\)/,
      );
      assert.equal(
        (fromUrl(`${scheme}://`).deserialize(bomb) as Uint8Array).byteLength,
        tenMegabytesOfZeros.byteLength,
      );
    }
  });

  it("keeps decoding right with one zstd context per thread: after a corrupt frame, a streamed one, and in turns", async () => {
    const { CompressStream } = await import("zstd-napi");
    const compressor = new ZstdCompressor();
    const values = Array.from({ length: 50 }, (_, index) => Buffer.from(`value ${String(index)} `.repeat(index + 1)));
    const frames = values.map((value) => compressor.serialize(value));
    const corrupt = Buffer.from(frames[10] as Uint8Array);
    corrupt[corrupt.length - 2] = (corrupt[corrupt.length - 2] as number) ^ 0xff;
    const streamed = await buffer(Readable.from([values[3] as Buffer]).pipe(new CompressStream()));
    for (const [index, frame] of frames.entries()) {
      assert.throws(() => compressor.deserialize(corrupt));
      assert.deepEqual(Buffer.from(compressor.deserialize(frame)), values[index]);
      assert.deepEqual(Buffer.from(compressor.deserialize(streamed)), values[3]);
      // A truncated frame fails alone; the next one still decodes.
      assert.throws(() => compressor.deserialize(frame.subarray(0, frame.length - 1)));
    }
    // Two compressors (other levels and bounds) share the thread's context and do not disturb each other.
    const other = new ZstdCompressor({ compressionLevel: 19, maxDecompressedSize: 100 });
    assert.throws(() => other.deserialize(frames[49] as Uint8Array), /max-decompressed-size/);
    assert.deepEqual(Buffer.from(compressor.deserialize(frames[49] as Uint8Array)), values[49]);
  });

  it("refuses a zstd frame that declares a huge size before allocating it", () => {
    // Written by a compressor with a higher bound, as another writer of the store could.
    const bomb = new ZstdCompressor({ maxDecompressedSize: 2 ** 30 }).serialize(Buffer.alloc(200 * 1024 * 1024));
    assert.ok(bomb.byteLength < 20_000);
    const before = process.memoryUsage().rss;
    assert.throws(() => new ZstdCompressor().deserialize(bomb), /more than max-decompressed-size \(134217728 bytes\)/);
    assert.ok(process.memoryUsage().rss - before < 100 * 1024 * 1024);
  });

  it("refuses a zstd frame without a declared size once the streamed output passes the bound", async () => {
    const { CompressStream } = await import("zstd-napi");
    const streamed = await buffer(Readable.from([tenMegabytesOfZeros]).pipe(new CompressStream()));
    const compressor = new ZstdCompressor({ maxDecompressedSize: 1_000_000 });
    assert.throws(() => compressor.deserialize(streamed), /more than max-decompressed-size/);
    assert.equal(new ZstdCompressor().deserialize(streamed).byteLength, tenMegabytesOfZeros.byteLength);
    assert.throws(() => new ZstdCompressor().deserialize(streamed.subarray(0, streamed.byteLength - 3)), /truncated/);
  });
});

describe("serializer round trips (property)", () => {
  it("json:// and its compressed chains return any JSON value", () => {
    const urls = ["json://", "json+zlib://", "json+zstd://", "json+brotli://?compression-level=1"];
    const serializers = urls.map((url) => fromUrl(url));
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        for (const serializer of serializers) {
          // JSON has no -0: it comes back as 0, as JSON.parse(JSON.stringify(-0)) does.
          assert.deepEqual(serializer.deserialize(serializer.serialize(value)), JSON.parse(JSON.stringify(value)));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("msgpack:// returns JSON values, bigints and bytes", () => {
    const serializer = fromUrl("msgpack+zstd://");
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small" },
        fc.string(),
        // msgpackr writes -0 as the integer 0 (documented in docs/serializers.md).
        fc.double({ noNaN: true }).filter((n) => !Object.is(n, -0)),
        fc.integer(),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).filter((n) => n < -(2n ** 53n) || n > 2n ** 53n),
        fc.boolean(),
        fc.constant(null),
        fc.uint8Array().map((bytes) => Buffer.from(bytes)),
        fc.array(tie("node"), { maxLength: 5 }),
        fc.dictionary(
          fc.string().filter((key) => key !== "__proto__"),
          tie("node"),
          { maxKeys: 5, noNullPrototype: true },
        ),
      ),
    })).node;
    fc.assert(
      fc.property(value, (input) => {
        assert.deepEqual(serializer.deserialize(serializer.serialize(input)), input);
      }),
      { numRuns: 300 },
    );
  });

  it("v8:// returns anything structured clone holds", () => {
    const serializer = fromUrl("v8+gzip://");
    fc.assert(
      fc.property(
        fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true }),
        (input) => {
          // An invalid Date equals nothing under deepStrictEqual (its time is NaN), not even itself.
          fc.pre(!containsInvalidDate(input));
          assert.deepEqual(serializer.deserialize(serializer.serialize(input)), input);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("brotli level bounds come from its own range", () => {
    assert.equal(new BrotliCompressor({ compressionLevel: 11 }).compressionLevel, 11);
  });
});

function containsInvalidDate(value: unknown): boolean {
  if (value instanceof Date) return Number.isNaN(value.getTime());
  if (value instanceof Map)
    return [...value].some(([key, item]) => containsInvalidDate(key) || containsInvalidDate(item));
  if (value instanceof Set || Array.isArray(value)) return [...value].some(containsInvalidDate);
  if (value !== null && typeof value === "object") return Object.values(value).some(containsInvalidDate);
  return false;
}
