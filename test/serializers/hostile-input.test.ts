/**
 * Hostile and corrupt bytes against every serializer (reliability.md B4, B5, S2, S3): deep nesting,
 * prototype pollution, values kept out of error messages, and v8:// fuzzed in a child process, where
 * an abort would show as a signal rather than take the test runner down.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { serialize as v8Serialize } from "node:v8";
import { Cache } from "../../src/cache/cache.js";
import { SerializationError } from "../../src/errors.js";
import { fromUrl } from "../../src/serializers/registry.js";

const POLLUTING_JSON = '{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 2}}}';

function assertNotPolluted(value: unknown, label: string): void {
  assert.equal(({} as { polluted?: unknown }).polluted, undefined, `${label}: Object.prototype untouched`);
  assert.equal(Object.getPrototypeOf(value), Object.prototype, `${label}: a plain object`);
  assert.deepEqual(
    Object.keys(value as object).sort(),
    ["__proto__", "constructor"],
    `${label}: keys kept as they are`,
  );
  assert.deepEqual(Object.getOwnPropertyDescriptor(value, "__proto__")?.value, { polluted: 1 });
}

describe("prototype pollution (B5)", () => {
  it("json:// keeps __proto__ and constructor as own keys", () => {
    assertNotPolluted(fromUrl("json://").deserialize(POLLUTING_JSON), "json");
  });

  it("msgpack:// keeps __proto__ as an own key instead of renaming it (msgpackr alone gives __proto_)", () => {
    const serializer = fromUrl("msgpack://");
    const value = JSON.parse(POLLUTING_JSON) as unknown;
    assertNotPolluted(serializer.deserialize(serializer.serialize(value)), "msgpack");
    // The same map as Python's msgpack.packb writes it.
    const python = Buffer.from("81a95f5f70726f746f5f5f81a8706f6c6c7574656401", "hex");
    const decoded = serializer.deserialize(python) as object;
    assert.deepEqual(Object.keys(decoded), ["__proto__"]);
  });

  it("v8:// restores own properties, never a prototype", () => {
    const value = fromUrl("v8://").deserialize(v8Serialize(JSON.parse(POLLUTING_JSON)));
    assertNotPolluted(value, "v8");
  });
});

describe("deep nesting (B4)", () => {
  const depth = 1_000_000;
  const cases: [string, Buffer | string][] = [
    ["json://", "[".repeat(depth) + "]".repeat(depth)],
    ["msgpack://", Buffer.concat([Buffer.alloc(depth, 0x91), Buffer.from([0xc0])])],
    [
      "pickle://",
      Buffer.concat([
        Buffer.from([0x80, 4]),
        Buffer.alloc(depth, 0x5d),
        Buffer.alloc(depth - 1, 0x61),
        Buffer.from("."),
      ]),
    ],
  ];
  for (const [url, bytes] of cases) {
    it(`${url} 10^6 levels: a value or a typed error through a strict Cache, never a crash`, async () => {
      await using raw = new Cache<unknown>({ backend: "memory://", serializer: "noop://" });
      await raw.set("deep", bytes);
      await using cache = new Cache<unknown>({ backend: raw.backend, serializer: url, undecodableValues: "throw" });
      try {
        assert.ok(Array.isArray(await cache.get("deep")));
      } catch (error) {
        assert.ok(error instanceof SerializationError, String(error));
        assert.equal(error.key, "deep");
      }
    });
  }
});

describe("values stay out of errors (S2)", () => {
  it("a value that cannot be encoded is named by its key, never shown", async () => {
    await using cache = new Cache<unknown>({ backend: "memory://", serializer: "json://" });
    const marker = "SECRET-VALUE-7f3a";
    const cyclic: Record<string, unknown> = { note: marker };
    cyclic.self = cyclic;
    for (const value of [{ note: marker, big: 1n }, [marker, 2n], cyclic]) {
      await assert.rejects(cache.set("k", value), (error: unknown) => {
        assert.ok(error instanceof SerializationError);
        assert.ok(!String(error.stack).includes(marker) && !JSON.stringify(error).includes(marker));
        assert.ok(!(error.cause as Error).message.includes(marker));
        return true;
      });
    }
  });
});

describe("v8:// on hostile bytes (S3)", () => {
  it("decodes 10 000 random and mutated buffers in a child process: typed errors, no abort", () => {
    const script = `
      import { fromUrl } from "./src/serializers/registry.ts";
      import { serialize } from "node:v8";
      const serializer = fromUrl("v8://");
      let seed = 12345;
      const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
      const samples = [serialize({ a: [1, "x", new Map([[1, 2]])], d: new Date(0) }), serialize("text"), serialize([1n, new Uint8Array(8)])];
      const outcomes = { decoded: 0, errors: 0, notErrors: 0 };
      for (let round = 0; round < 10000; round++) {
        let bytes;
        if (round % 2 === 0) {
          bytes = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
          if (round % 4 === 0) { bytes[0] = 0xff; bytes[1] = 0x0f; }
        } else {
          bytes = Buffer.from(samples[round % samples.length]);
          for (let flips = 1 + Math.floor(random() * 3); flips > 0; flips--) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
        }
        try { serializer.deserialize(bytes); outcomes.decoded++; }
        catch (error) { if (error instanceof Error) outcomes.errors++; else outcomes.notErrors++; }
      }
      console.log(JSON.stringify(outcomes));
    `;
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: new URL("../..", import.meta.url),
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(child.signal, null, `the child died of ${String(child.signal)}: ${child.stderr}`);
    assert.equal(child.status, 0, child.stderr);
    const outcomes = JSON.parse(child.stdout.trim().split("\n").at(-1) ?? "{}") as Record<string, number>;
    console.log(`# S3: ${JSON.stringify(outcomes)}`);
    assert.equal(outcomes.notErrors, 0);
    assert.equal((outcomes.decoded ?? 0) + (outcomes.errors ?? 0), 10_000);
  });
});

describe("msgpack:// on msgpackr's own extension types", () => {
  it("refuses a RegExp, an Error, a Set, a typed array and self-references with a typed error; reads Date and undefined", async () => {
    const { Packr } = await import("msgpackr");
    const rich = new Packr({ moreTypes: true, structuredClone: true, useRecords: false });
    const cyclic: Record<string, unknown> = { name: "loop" };
    cyclic["self"] = cyclic;
    const hostile: [string, unknown, RegExp][] = [
      ["RegExp", { pattern: /^(a+)+$/ }, /extension type 120 \(a RegExp\)/],
      ["Error", [new Error("planted")], /extension type 101 \(an Error\)/],
      ["cycle", cyclic, /extension type 105 \(a shared reference/],
      ["Set", new Set([1, 2]), /extension type 115 \(a Set\)/],
      ["typed array", { data: new Float64Array([1, 2]) }, /extension type 116 \(a typed array\)/],
    ];
    const serializer = fromUrl("msgpack://");
    for (const [name, value, message] of hostile) {
      const bytes = rich.pack(value);
      assert.throws(() => serializer.deserialize(bytes), { name: "SerializationError", message }, name);
    }
    // Through a cache: an undecodable value (a miss, or the SerializationError naming the key in strict mode).
    const cache = new Cache({ backend: "memory://", serializer: "msgpack://", undecodableValues: "throw" });
    await cache.backend.set("planted", rich.pack({ pattern: /^(a+)+$/ }), {});
    await assert.rejects(cache.get("planted"), (error: unknown) => {
      assert.ok(error instanceof SerializationError);
      assert.match(error.message, /key "planted".*RegExp/);
      return true;
    });
    // What msgpack:// itself writes still reads back, deep inside plain structures too.
    const date = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
    const plain = { when: date, nested: [{ missing: undefined, list: [1, "two", null] }] };
    assert.deepEqual(serializer.deserialize(serializer.serialize(plain)), plain);
  });
});

describe("serializers called directly (B3)", () => {
  it("throw SerializationError, sync and async, for a decompression bomb and for bytes of another format", async () => {
    const bomb = new Uint8Array(4 * 1024 * 1024);
    for (const scheme of ["zlib", "gzip", "brotli", "zstd"]) {
      const compressor = fromUrl(`${scheme}://?max-decompressed-size=1024`);
      const compressed = fromUrl(`${scheme}://`).serialize(bomb) as Uint8Array;
      const isTyped = (error: unknown): boolean =>
        error instanceof SerializationError && /max-decompressed-size/.test(error.message);
      assert.throws(() => compressor.deserialize(compressed), isTyped, `${scheme} sync`);
      await assert.rejects(async () => compressor.deserializeAsync?.(compressed), isTyped, `${scheme} async`);
      assert.throws(() => compressor.deserialize(Buffer.from("not compressed")), SerializationError, scheme);
      assert.throws(() => compressor.serialize(bomb), SerializationError, `${scheme}: input over the bound`);
    }
    const garbage = Buffer.from([0xc1, 0xff, 0x00, 0x7b]);
    for (const url of ["json://", "msgpack://", "v8://", "pickle://", "msgpack+zstd://"]) {
      assert.throws(() => fromUrl(url).deserialize(garbage), SerializationError, url);
    }
    for (const url of ["json://", "msgpack://", "v8://", "pickle://"]) {
      assert.throws(() => fromUrl(url).serialize(() => 1), SerializationError, `${url}: a function`);
    }
  });
});
