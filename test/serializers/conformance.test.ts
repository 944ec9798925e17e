/**
 * Every built-in serializer URL through the published suite (cachetory/testing), plus what is particular to
 * each format's own value types.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromUrl } from "../../src/serializers/registry.js";
import { runSerializerConformance } from "../support/conformance.js";

const COMPRESSORS = ["zlib", "gzip", "brotli", "zstd", "zstandard"];

const JSON_ONLY = ["json://", ...COMPRESSORS.map((compressor) => `json+${compressor}://`)];
const MSGPACK = ["msgpack://", "msgpack+zstd://?compression-level=3", "msgpack+zlib://?compression-level=9"];
const STRUCTURED_CLONE = ["v8://", "v8+brotli://?compression-level=5", "v8+gzip+zstd://"];
const PICKLE = [
  "pickle://",
  "pickle://?pickle-protocol=2",
  "pickle://?pickle-protocol=3",
  "pickle://?pickle-protocol=5",
  "pickle+zlib://",
  "pickle+zstd://",
];

for (const compressor of COMPRESSORS) {
  runSerializerConformance(`${compressor}://`, () => fromUrl(`${compressor}://`), { values: "bytes" });
}
for (const url of [...JSON_ONLY, ...MSGPACK, ...PICKLE]) runSerializerConformance(url, () => fromUrl(url));
for (const url of STRUCTURED_CLONE) runSerializerConformance(url, () => fromUrl(url), { values: "rich" });

const roundTrip = (url: string, value: unknown): unknown => {
  const serializer = fromUrl(url);
  return serializer.deserialize(serializer.serialize(value));
};
const cyclic: Record<string, unknown> = { name: "loop" };
cyclic["self"] = cyclic;

describe("what each format's own value types do", () => {
  for (const url of JSON_ONLY) {
    it(`${url} refuses values JSON cannot hold`, () => {
      for (const value of [undefined, 1n, cyclic, () => 1]) assert.throws(() => fromUrl(url).serialize(value));
    });
  }
  for (const url of [...MSGPACK, ...PICKLE]) {
    it(`${url} round-trips bigint and byte arrays`, () => {
      assert.equal(roundTrip(url, 2n ** 60n), 2n ** 60n);
      assert.equal(roundTrip(url, -(2n ** 60n)), -(2n ** 60n));
      assert.deepEqual(
        new Uint8Array(roundTrip(url, Uint8Array.of(0, 1, 255)) as Uint8Array),
        Uint8Array.of(0, 1, 255),
      );
    });
  }
  for (const url of PICKLE) {
    it(`${url} round-trips sets, dicts with non-string keys and lone surrogates; refuses what Python data cannot hold`, () => {
      const value = { set: new Set([1, "x"]), map: new Map<unknown, unknown>([[1, "one"]]), odd: "\uD800" };
      assert.deepEqual(roundTrip(url, value), value);
      for (const refused of [undefined, new Date(0), cyclic, () => 1, Symbol("s")]) {
        assert.throws(() => fromUrl(url).serialize(refused));
      }
    });
  }
  for (const url of STRUCTURED_CLONE) {
    it(`${url} round-trips undefined and cycles`, () => {
      assert.deepEqual(roundTrip(url, { nothing: undefined }), { nothing: undefined });
      const back = roundTrip(url, cyclic) as Record<string, unknown>;
      assert.equal(back["self"], back);
    });
  }
});
