/**
 * checksum:// and hmac:// as serializers: the published conformance suite, their configuration and its
 * errors (no secret in any of them), the place of an integrity layer in a chain, and reliability.md I1 (the
 * byte-flip fuzzer of B2 over sealed entries: every flipped value refused, none silently different).
 */
import assert from "node:assert/strict";
import { createSecretKey, generateKeyPairSync } from "node:crypto";
import { inspect } from "node:util";
import zlib from "node:zlib";
import { afterEach, describe, it } from "node:test";
import { ConfigurationError, SerializationError } from "../../src/errors.js";
import { ChainedSerializer } from "../../src/serializers/chained.js";
import { ChecksumSerializer } from "../../src/serializers/integrity/checksum.js";
import { crc32InJavaScript } from "../../src/serializers/integrity/crc32.js";
import { HmacSerializer } from "../../src/serializers/integrity/hmac.js";
import { JsonSerializer } from "../../src/serializers/json.js";
import { fromUrl } from "../../src/serializers/registry.js";
import { runSerializerConformance } from "../support/conformance.js";
import { runFuzzChild } from "../support/fuzz-child.js";

const SECRET = "s3cret-".repeat(6);
const OLD_SECRET = "old-s3cret-".repeat(4);
process.env["CACHETORY_TEST_HMAC_KEY"] = SECRET;
process.env["CACHETORY_TEST_OLD_HMAC_KEY"] = OLD_SECRET;
const HMAC = "hmac://?key-env=CACHETORY_TEST_HMAC_KEY";

for (const url of ["json+checksum://", "msgpack+zstd+checksum://", "pickle+checksum://", `json+${HMAC}`]) {
  runSerializerConformance(url, () => fromUrl(url));
}
runSerializerConformance("checksum://", () => fromUrl("checksum://"), { values: "bytes" });
runSerializerConformance(HMAC, () => fromUrl(HMAC), { values: "bytes" });
runSerializerConformance("v8+brotli+checksum://", () => fromUrl("v8+brotli+checksum://"), { values: "rich" });

describe("checksum://", () => {
  it("is zlib's CRC-32, and the JavaScript fallback for older Node gives the same answers", () => {
    for (const input of ["", "a", "123456789", "Zoë 🙂".repeat(1000)]) {
      assert.equal(crc32InJavaScript(input), zlib.crc32(input), input.slice(0, 10));
      assert.equal(crc32InJavaScript(input, 12345), zlib.crc32(input, 12345));
    }
    assert.equal(crc32InJavaScript("123456789"), 0xcbf43926); // the standard check value
  });

  it("binds the key: the same bytes under another key, or cut between bytes and key differently, do not open", () => {
    const seal = new ChecksumSerializer();
    const stored = seal.seal(Buffer.from("ab"), "c");
    assert.deepEqual(Buffer.from(seal.open(stored, "c")), Buffer.from("ab"));
    assert.throws(() => seal.open(stored, "d"), SerializationError);
    // "ab" under "c" against "a" under "bc": the key's length keeps them apart.
    const shifted = Buffer.concat([Buffer.from("a"), stored.subarray(stored.byteLength - 4)]);
    assert.throws(() => seal.open(shifted, "bc"), /does not match/);
    assert.throws(() => seal.open(Buffer.from("abcdef"), "c"), /does not match/);
    assert.throws(() => seal.open(Buffer.from("ab"), "c"), /too short/);
  });

  it("goes last in a chain, once", () => {
    assert.throws(() => fromUrl("checksum+json://"), /checksum:\/\/ goes last in a chain/);
    assert.throws(() => fromUrl(`json+checksum+${HMAC}`), ConfigurationError);
    assert.throws(() => new ChainedSerializer([new ChecksumSerializer(), new JsonSerializer()]), ConfigurationError);
    const chain = fromUrl("json+zlib+checksum://");
    assert.ok(chain.sealing !== undefined);
    assert.equal(chain.sealing.seal.scheme, "checksum://");
    assert.ok(chain.sealing.inner instanceof ChainedSerializer);
    assert.equal((chain.sealing.inner as ChainedSerializer).layers.length, 2);
    assert.ok(fromUrl("json+checksum://").sealing?.inner instanceof JsonSerializer);
  });
});

describe("hmac://", () => {
  const keys: string[] = [];
  afterEach(() => {
    for (const name of keys.splice(0)) Reflect.deleteProperty(process.env, name);
  });
  const withEnvironment = (name: string, value: string): string => {
    keys.push(name);
    process.env[name] = value;
    return name;
  };
  /** Every way to configure it wrongly, each a ConfigurationError whose message names the problem, never a secret. */
  const refused = (make: () => unknown, pattern: RegExp, secrets: readonly string[] = [SECRET]): void => {
    let error: unknown;
    try {
      make();
    } catch (caught) {
      error = caught;
    }
    assert.ok(error instanceof ConfigurationError, `expected a ConfigurationError, got ${String(error)}`);
    assert.match(error.message, pattern);
    for (const secret of secrets) {
      assert.ok(!error.message.includes(secret), error.message);
      assert.ok(!inspect(error).includes(secret), "inspect of the error shows the secret");
    }
  };

  it("names a missing or unset variable, a short key by its length, and never shows the value", () => {
    refused(
      () => fromUrl("hmac://?key-env=CACHETORY_NOT_SET"),
      /environment variable CACHETORY_NOT_SET, which is not set/,
    );
    refused(() => fromUrl("hmac://"), /needs key-env=NAME/);
    withEnvironment("CACHETORY_SHORT_KEY", "tooshort-secret");
    refused(
      () => fromUrl("hmac://?key-env=CACHETORY_SHORT_KEY"),
      /key in CACHETORY_SHORT_KEY is 15 bytes; it needs at least 32/,
      ["tooshort-secret"],
    );
    refused(() => fromUrl(`hmac://?key=${SECRET}`), /does not take its key in the URL/);
    refused(() => fromUrl("hmac://?key-env=not a name"), /not a variable name/);
    refused(
      () => fromUrl(`${HMAC}&previous-key-env=CACHETORY_TEST_OLD_HMAC_KEY,CACHETORY_GONE`),
      /CACHETORY_GONE, which is not set/,
      [SECRET, OLD_SECRET],
    );
    refused(() => new HmacSerializer({ key: "short" }), /HMAC key is 5 bytes/);
    refused(
      () => new HmacSerializer({ key: generateKeyPairSync("ed25519").privateKey }),
      /must be a secret key, got a private key/,
    );
    refused(
      () => new HmacSerializer({ key: 42 as unknown as string }),
      /text, bytes or a secret KeyObject, got number/,
    );
    refused(() => new HmacSerializer({ key: SECRET, previousKeys: ["x"] }), /previousKeys\[0\] is 1 bytes/);
  });

  it("keeps its keys out of inspect, JSON and the properties of the serializer and its chain", () => {
    const serializer = fromUrl(`msgpack+${HMAC}&previous-key-env=CACHETORY_TEST_OLD_HMAC_KEY`);
    for (const shown of [
      inspect(serializer, { depth: 10, showHidden: true }),
      JSON.stringify(serializer),
      String(Object.getOwnPropertyNames(serializer)),
    ]) {
      assert.ok(!shown.includes(SECRET) && !shown.includes(OLD_SECRET), shown);
    }
    assert.match(
      inspect(new HmacSerializer({ key: SECRET })),
      /HmacSerializer \{ algorithm: 'HMAC-SHA-256', previousKeys: 0 \}/,
    );
  });

  it("verifies with previous keys and signs with the current one; a KeyObject works as well as text", () => {
    const old = new HmacSerializer({ key: OLD_SECRET });
    const rotated = new HmacSerializer({ key: createSecretKey(Buffer.from(SECRET)), previousKeys: [OLD_SECRET] });
    const current = new HmacSerializer({ key: SECRET });
    const signedOld = old.seal(Buffer.from("v"), "k");
    assert.equal(Buffer.from(rotated.open(signedOld, "k")).toString(), "v");
    assert.throws(() => current.open(signedOld, "k"), /does not verify/);
    const signedNew = rotated.seal(Buffer.from("v"), "k");
    assert.equal(Buffer.from(current.open(signedNew, "k")).toString(), "v");
    assert.throws(() => old.open(signedNew, "k"), /does not verify/);
    assert.throws(() => current.open(signedNew, "other"), /does not verify/);
    // The algorithm is fixed: a CRC-32 trailer, or any other 32 bytes, is no signature.
    assert.throws(() => current.open(new ChecksumSerializer().seal(Buffer.alloc(40, 1), "k"), "k"), /does not verify/);
  });
});

describe("byte-flip fuzzer over sealed entries (I1)", () => {
  it("100 000 stored entries with 1–2 flipped bytes: every one refused, none silently different, no crash or hang", () => {
    const script = `
      import { Codec } from "./src/cache/codec.ts";
      import { entryMetadata } from "./src/cache/envelope.ts";
      process.env.FUZZ_KEY = "k".repeat(32);
      const urls = ["json+checksum://", "msgpack+checksum://", "pickle+checksum://", "v8+checksum://", "msgpack+zstd+checksum://", "json+hmac://?key-env=FUZZ_KEY", "msgpack+zlib+hmac://?key-env=FUZZ_KEY"];
      const codecs = urls.map((url) => new Codec(url, undefined, "app:"));
      let seed = 42;
      const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
      const report = {};
      let slowest = 0;
      for (let round = 0; round < 100000; round++) {
        const index = round % urls.length;
        const codec = codecs[index];
        const key = "item:" + (round % 97);
        const value = { id: round, name: "item " + round, tags: ["a", "b"], score: random(), nested: { ok: round % 2 === 0 } };
        // A third plain values, a third getOrSet entries, a third tagged entries: the metadata is sealed too.
        const kind = round % 3;
        const wire = Buffer.from(kind === 0 ? codec.encode(key, value)
          : codec.encodeEntry(key, value, entryMetadata(Date.now(), 60000, { staleWhileRevalidate: 1000, grace: 5000 },
              { fence: round, computeMs: 3, tags: kind === 2 ? ["user:" + round, "all"] : [], stamps: kind === 2 ? ["a".repeat(32), "b".repeat(32)] : [] })));
        const original = Buffer.from(wire);
        for (let flips = 1 + (round % 2); flips > 0; flips--) wire[Math.floor(random() * wire.length)] ^= 1 + Math.floor(random() * 255);
        const entry = (report[urls[index]] ??= { rejected: 0, silentlyDifferent: 0, unchanged: 0 });
        const started = performance.now();
        try {
          codec.decodeEntry(key, wire);
          // Two flips of the same byte can cancel out: the bytes are then the stored ones. Any other
          // change that opened is a silent one, whatever value it decoded to.
          if (original.equals(wire)) entry.unchanged++; else entry.silentlyDifferent++;
        } catch (error) {
          if (!(error instanceof Error) || error.name !== "SerializationError") throw new Error("not a SerializationError: " + String(error));
          entry.rejected++;
        }
        slowest = Math.max(slowest, performance.now() - started);
      }
      console.log(JSON.stringify({ report, slowest }));
    `;
    const { report, slowest } = runFuzzChild(script, 240_000);
    let total = 0;
    for (const [url, counts] of Object.entries(report)) {
      console.log(`# I1 ${url}: rejected ${String(counts.rejected)}, unchanged ${String(counts.unchanged)}`);
      total += counts.rejected + counts.unchanged;
      assert.equal(counts.silentlyDifferent, 0, url);
      // Only a flip undone by the second flip of the same byte reads back: rare.
      assert.ok(counts.unchanged < counts.rejected / 1000, `${url}: ${String(counts.unchanged)} unchanged`);
    }
    assert.equal(total, 100_000);
    assert.equal(Object.keys(report).length, 7);
    assert.ok(slowest < 1000, `slowest decode ${String(slowest)} ms`);
  });
});
