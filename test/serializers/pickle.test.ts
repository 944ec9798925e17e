import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Cache } from "../../src/cache/cache.js";
import { ConfigurationError, SerializationError } from "../../src/errors.js";
import { PickleSerializer } from "../../src/serializers/pickle/serializer.js";
import { fromUrl } from "../../src/serializers/registry.js";

const serializer = new PickleSerializer();
const hex = (text: string): Buffer => Buffer.from(text.replaceAll(/\s+/g, ""), "hex");

/** What Python 3.11 writes for these (pickle.dumps(..., protocol)). */
const PYTHON_WROTE: [string, Buffer, unknown][] = [
  [
    "protocol 2 bytes (_codecs.encode)",
    Buffer.from(
      "\x80\x02c_codecs\nencode\nq\x00X\x02\x00\x00\x00abq\x01X\x06\x00\x00\x00latin1q\x02\x86q\x03Rq\x04.",
      "latin1",
    ),
    Uint8Array.of(97, 98),
  ],
  ["protocol 2 empty bytes", Buffer.from("\x80\x02c__builtin__\nbytes\nq\x00)Rq\x01.", "latin1"), new Uint8Array(0)],
  [
    "protocol 2 set",
    Buffer.from("\x80\x02c__builtin__\nset\nq\x00]q\x01(K\x01K\x02e\x85q\x02Rq\x03.", "latin1"),
    new Set([1, 2]),
  ],
  [
    "protocol 3 frozenset",
    Buffer.from("\x80\x03cbuiltins\nfrozenset\nq\x00]q\x01K\x01a\x85q\x02Rq\x03.", "latin1"),
    new Set([1]),
  ],
  [
    "protocol 4 bytearray",
    hex("8004 9522000000000000008c086275696c74696e73948c09627974656172726179949394430178948594529 42e"),
    Uint8Array.of(0x78),
  ],
  ["protocol 5 bytearray8", hex("8005 950c00000000000000 96 0100000000000000 78 94 2e"), Uint8Array.of(0x78)],
  ["protocol 4 set (EMPTY_SET, ADDITEMS)", hex("8004 950900000000000000 8f 94 28 4b01 4b02 90 2e"), new Set([1, 2])],
  ["protocol 4 lone surrogate", hex("8004 950700000000000000 8c03 eda080 94 2e"), "\uD800"],
  ["LONG1 2^64", hex("8004 8a09 0000000000000000 01 2e"), 2n ** 64n],
  ["LONG1 -1", hex("8004 8a01 ff 2e"), -1],
  [
    "dict with int keys",
    hex("8004 7d 94 28 4b01 8c016194 4b02 8c016294 75 2e"),
    new Map([
      [1, "a"],
      [2, "b"],
    ]),
  ],
];

describe("pickle:// reading what Python writes", () => {
  for (const [name, bytes, expected] of PYTHON_WROTE) {
    it(name, () => {
      assert.deepEqual(serializer.deserialize(bytes), expected);
    });
  }

  it("keeps shared references and cycles (memo)", () => {
    // l = [1]; v = [l, l]  and  d = {}; d["self"] = d
    const shared = serializer.deserialize(hex("8004 5d 94 28 5d 94 4b01 61 6800 65 2e")) as unknown[][];
    assert.equal(shared.length, 2);
    const cyclic = serializer.deserialize(hex("8004 7d 94 8c0473656c66 94 6800 73 2e")) as Record<string, unknown>;
    assert.equal(cyclic.self, cyclic);
  });

  it("keeps __proto__ as an own key, never the prototype (B5)", () => {
    const value = serializer.deserialize(serializer.serialize(JSON.parse('{"__proto__": {"polluted": 1}}'))) as object;
    assert.equal(({} as { polluted?: number }).polluted, undefined);
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.deepEqual(Object.keys(value), ["__proto__"]);
  });
});

describe("pickle:// refusing what is not plain data", () => {
  const refused: [string, Buffer, RegExp][] = [
    [
      "os.system via GLOBAL",
      Buffer.from("cos\nsystem\n(S'echo pwned'\ntR.", "latin1"),
      /global "os.system" is not allowed/,
    ],
    [
      "a class via STACK_GLOBAL",
      hex("8004 8c0b636f6c6c656374696f6e73 8c0b4f726465726564446963 74 93 29 52 2e"),
      /global "collections.OrderedDict" is not allowed/,
    ],
    ["BUILD", hex("8004 7d 7d 62 2e"), /opcode BUILD is not allowed/],
    ["NEWOBJ", hex("8004 4e 29 81 2e"), /opcode NEWOBJ is not allowed/],
    ["REDUCE of a non-global", hex("8004 4e 29 52 2e"), /REDUCE of something that is not an allowed global/],
    [
      "_codecs.encode with another codec",
      Buffer.from("\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x05\x00\x00\x00utf-8\x86R.", "latin1"),
      /only as encode\(text, 'latin1'\)/,
    ],
    ["an unknown opcode", hex("8004 ff 2e"), /unknown pickle opcode 0xff/],
    ["protocol 6", hex("8006 4e 2e"), /protocols above 5/],
  ];
  for (const [name, bytes, message] of refused) {
    it(name, () => {
      assert.throws(() => serializer.deserialize(bytes), message);
    });
  }

  it("fails on hostile structure with a clear error, allocating nothing big", () => {
    const hostile: [string, Buffer, RegExp][] = [
      ["truncated", hex("8004 8c05 6869"), /truncated/],
      ["no STOP", hex("8004 4b01"), /truncated/],
      ["huge declared length", hex("8004 8d ffffffffffffff7f"), /exceeds the pickle/],
      ["huge BINBYTES", hex("8004 42 ffffffff"), /truncated/],
      ["memo out of range", hex("8004 6a ffffff00 2e"), /memo entry 16777215 does not exist/],
      ["empty stack", hex("8004 61 2e"), /stack is empty/],
      ["APPEND to a dict", hex("8004 7d 4b01 61 2e"), /APPEND needs a list/],
      ["POP_MARK without MARK", hex("8004 31 2e"), /no MARK/],
      ["STOP with two items", hex("8004 4b01 4b02 2e"), /malformed stack/],
      ["invalid UTF-8", hex("8004 8c02 c328 2e"), /not UTF-8/],
    ];
    for (const [name, bytes, message] of hostile) assert.throws(() => serializer.deserialize(bytes), message, name);
  });

  it("reads 10^6 levels of nesting without recursion (B4)", () => {
    const depth = 1_000_000;
    const bytes = Buffer.concat([hex("8004"), Buffer.alloc(depth, 0x5d), Buffer.alloc(depth - 1, 0x61), hex("2e")]);
    let value = serializer.deserialize(bytes) as unknown[];
    let levels = 1;
    while (value.length === 1) {
      value = value[0] as unknown[];
      levels++;
    }
    assert.equal(levels, depth);
  });

  it("reports bad bytes through a strict Cache as a SerializationError naming the key", async () => {
    await using cache = new Cache<unknown>({ backend: "memory://", serializer: "noop://" });
    await cache.set("evil", Buffer.from("cos\nsystem\n(S'x'\ntR.", "latin1"));
    const picky = new Cache<unknown>({ backend: cache.backend, serializer: "pickle://", undecodableValues: "throw" });
    await assert.rejects(picky.get("evil"), (error: unknown) => {
      assert.ok(error instanceof SerializationError);
      assert.equal(error.key, "evil");
      assert.match(error.message, /os\.system/);
      return true;
    });
  });
});

describe("pickle:// on large values: linear time, bounded memory, limits before allocation", () => {
  /** A protocol 4 pickle of one opcode with a length prefix of `prefixBytes` and `payload`. */
  const pickled = (opcode: number, prefixBytes: 4 | 8, payload: Uint8Array): Buffer => {
    const header = Buffer.alloc(3 + prefixBytes);
    header[0] = 0x80;
    header[1] = 4;
    header[2] = opcode;
    if (prefixBytes === 4) header.writeUInt32LE(payload.length, 3);
    else header.writeBigUInt64LE(BigInt(payload.length), 3);
    return Buffer.concat([header, payload, Buffer.from([0x2e])]);
  };
  const serializer = new PickleSerializer();

  it(
    "reads a LONG4 integer of 128 KiB (quadratic before: minutes for 256 KiB) and refuses a longer one",
    { timeout: 20_000 },
    () => {
      const bytes = Buffer.alloc(128 * 1024, 0xff);
      bytes[bytes.length - 1] = 0x7f;
      assert.equal(serializer.deserialize(pickled(0x8b, 4, bytes)), 2n ** BigInt(8 * bytes.length - 1) - 1n);
      const negative = Buffer.alloc(3000, 0);
      negative[negative.length - 1] = 0x80;
      assert.equal(serializer.deserialize(pickled(0x8b, 4, negative)), -(2n ** BigInt(8 * negative.length - 1)));
      assert.throws(
        () => serializer.deserialize(pickled(0x8b, 4, Buffer.alloc(128 * 1024 + 1))),
        /an integer of 131073 bytes is longer than the 131072 bytes read/,
      );
    },
  );

  it("reads 128 MB of text with a lone surrogate (the process ran out of memory before)", { timeout: 120_000 }, () => {
    // In a child, so that the abort of an engine out of memory would be a failed test, not a dead runner.
    const script = `
      import { PickleSerializer } from "./src/serializers/pickle/serializer.ts";
      // 128 MB of text with one lone surrogate in it, at the end: the whole text takes the slow path.
      const payload = Buffer.alloc(128 * 1024 * 1024, 0x61);
      payload.set([0xed, 0xa0, 0x80], payload.length - 3);
      const header = Buffer.alloc(11);
      header[0] = 0x80; header[1] = 4; header[2] = 0x8d;
      header.writeBigUInt64LE(BigInt(payload.length), 3);
      const text = new PickleSerializer().deserialize(Buffer.concat([header, payload, Buffer.from([0x2e])]));
      console.log(JSON.stringify({ length: text.length, third: text.charCodeAt(3), last: text.charCodeAt(text.length - 1) }));
    `;
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: 110_000,
    });
    assert.equal(child.status, 0, child.stderr.slice(-2000));
    assert.deepEqual(JSON.parse(child.stdout), { length: 128 * 1024 * 1024 - 2, third: 0x61, last: 0xd800 });
  });

  it("decodes mixed text exactly: ASCII, 2-, 3- and 4-byte characters, lone surrogates of both halves", () => {
    const text = "a\u00e9\u20ac\u{1f642}\ud800b\udfff\ud83d";
    const written = serializer.serialize(text);
    assert.equal(serializer.deserialize(written), text);
    assert.throws(() => serializer.deserialize(pickled(0x8d, 8, Buffer.from([0x61, 0xed, 0xa0]))), /not UTF-8/);
    assert.throws(() => serializer.deserialize(pickled(0x8d, 8, Buffer.from([0xed, 0xa0, 0x80, 0xff]))), /not UTF-8/);
  });

  it("copies 100 MB of BINBYTES8 in one go, into bytes of their own", { timeout: 20_000 }, () => {
    const payload = Buffer.alloc(100 * 1024 * 1024, 3);
    payload[12345] = 9;
    const input = pickled(0x8e, 8, payload);
    const bytes = serializer.deserialize(input) as Uint8Array;
    assert.equal(bytes.length, payload.length);
    assert.equal(bytes[12345], 9);
    assert.ok(bytes.buffer !== input.buffer, "the bytes are a copy, not a view of the input");
  });
});

describe("pickle:// writing", () => {
  it("refuses what Python data cannot hold, and nests at most 1000 levels", () => {
    class Point {
      x = 1;
    }
    let deep: unknown = 1;
    for (let level = 0; level < 1500; level++) deep = [deep];
    for (const [value, message] of [
      [undefined, /undefined/],
      [new Point(), /Point/],
      [new Date(0), /Date/],
      [deep, /at most 1000 levels/],
    ] as const) {
      assert.throws(() => serializer.serialize(value), message);
    }
  });

  it("checks pickle-protocol", () => {
    assert.throws(
      () => fromUrl("pickle://?pickle-protocol=1"),
      (error: unknown) => {
        assert.ok(error instanceof ConfigurationError);
        assert.match(error.message, /pickle-protocol must be an integer 2–5 for pickle:\/\/, got "1"/);
        return true;
      },
    );
    assert.throws(() => new PickleSerializer({ protocol: 6 }), /2–5/);
    const fromDefaultUrl = fromUrl("pickle://");
    assert.ok(fromDefaultUrl instanceof PickleSerializer);
    assert.equal(fromDefaultUrl.protocol, 4);
  });
});

describe("pickle:// fuzzing", () => {
  /** Decodes, accepting only a value or an Error, and never a slow case. */
  function decodeSafely(bytes: Uint8Array): void {
    const started = performance.now();
    try {
      serializer.deserialize(bytes);
    } catch (error) {
      assert.ok(error instanceof Error, "only Errors are thrown");
    }
    assert.ok(performance.now() - started < 1000, "no case takes a second");
  }

  it("survives 10 000 random byte strings", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        decodeSafely(Uint8Array.of(0x80, 0x04, ...bytes));
      }),
      { numRuns: 10_000 },
    );
  });

  it("survives 10 000 mutations of real pickles (1–3 flipped, inserted or deleted bytes)", () => {
    const plainData = fc.jsonValue({ maxDepth: 3 });
    fc.assert(
      fc.property(
        plainData,
        fc.constantFrom(2, 3, 4, 5),
        fc.array(fc.tuple(fc.nat(), fc.nat(255), fc.constantFrom("flip", "insert", "delete")), {
          minLength: 1,
          maxLength: 3,
        }),
        (value, protocol, mutations) => {
          const bytes = [...new PickleSerializer({ protocol }).serialize(value)];
          for (const [where, byte, how] of mutations) {
            const index = where % bytes.length;
            if (how === "flip") bytes[index] = byte;
            else if (how === "insert") bytes.splice(index, 0, byte);
            else bytes.splice(index, 1);
          }
          decodeSafely(Uint8Array.from(bytes));
        },
      ),
      { numRuns: 10_000 },
    );
  });
});
