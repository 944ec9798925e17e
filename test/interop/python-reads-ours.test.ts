/**
 * The reverse direction: what we encode is plain serialized bytes that Python's own json, pickle,
 * zlib, msgpack and zstd modules decode to the same value.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fromUrl } from "../../src/serializers/registry.js";
import { findPython, runPython } from "../support/python.js";

const VALUES: unknown[] = [
  42,
  -7,
  1.5,
  "héllo wörld ✓ 🙂",
  "a:b::c",
  null,
  true,
  [],
  {},
  { id: 1, tags: ["x", "y"], score: 0.25, owner: { name: "Zoë", active: false }, missing: null },
  Array.from({ length: 50 }, (_, index) => ({ i: index, s: `item-${String(index)}` })),
];

const URLS = [
  "json://",
  "json+zlib://",
  "json+zstd://",
  "msgpack://",
  "msgpack+zlib://?compression-level=9",
  "msgpack+zstd://?compression-level=19",
  "pickle://?pickle-protocol=2",
  "pickle://?pickle-protocol=3",
  "pickle://",
  "pickle://?pickle-protocol=5",
  "pickle+zlib://",
  "pickle+zstd://",
];

const DECODE = `
import json, pickle, sys, zlib, msgpack, zstd
cases = json.load(sys.stdin)
out = []
for case in cases:
    data = bytes.fromhex(case["wire"])
    for layer in reversed(case["url"].split("://")[0].split("+")):
        if layer == "zlib": data = zlib.decompress(data)
        elif layer == "zstd": data = zstd.decompress(data)
        elif layer == "json": data = json.loads(data.decode("utf-8"))
        elif layer == "msgpack": data = msgpack.unpackb(data)
        elif layer == "pickle": data = pickle.loads(data)
    out.append(data)
json.dump(out, sys.stdout)
`;

const python = findPython(["msgpack", "zstd"]);
const required = process.env.CACHETORY_REQUIRE_SERVERS === "1";

describe("Python reads what we write", () => {
  it(
    "decodes json, msgpack, pickle and their zlib/zstd chains to the same values",
    "reason" in python && !required ? { skip: python.reason } : {},
    () => {
      if ("reason" in python) assert.fail(python.reason);
      const cases = URLS.flatMap((url) =>
        VALUES.map((value) => ({
          url,
          value,
          wire: Buffer.from(fromUrl(url).serialize(value) as Uint8Array | string).toString("hex"),
        })),
      );
      const decoded = runPython(python.python, DECODE, cases) as unknown[];
      cases.forEach((testCase, index) => {
        assert.deepEqual(
          decoded[index],
          testCase.value,
          `${testCase.url} ${JSON.stringify(testCase.value).slice(0, 40)}`,
        );
      });
    },
  );
});

const RICH_ROUND_TRIP = `
import pickle, sys
data = sys.stdin.buffer.read()
protocol = int(sys.argv[1])
sys.stdout.buffer.write(pickle.dumps(pickle.loads(data), protocol))
`;

describe("Python and we pickle rich values back and forth", () => {
  const rich = {
    ints: [0, -1, 255, 65_536, -(2 ** 31), 2 ** 53, 2n ** 64n, -(2n ** 100n)],
    floats: [1.5, -0, Number.POSITIVE_INFINITY, 1e300],
    text: ["", "héllo ✓ 🙂", "lone \uD800 surrogate", "x".repeat(70_000)],
    bytes: [new Uint8Array(0), Uint8Array.from({ length: 256 }, (_, index) => index)],
    set: new Set([1, "two", 3n ** 50n]),
    byNumber: new Map<unknown, unknown>([
      [1, "one"],
      [2.5, "two and a half"],
    ]),
    nested: [[[{ deep: [null, true, false] }]]],
  };
  for (const protocol of [2, 3, 4, 5]) {
    it(
      `protocol ${String(protocol)}: Python reads ours, writes it back, and we read Python's`,
      "reason" in python && !required ? { skip: python.reason } : {},
      () => {
        if ("reason" in python) assert.fail(python.reason);
        const serializer = fromUrl(`pickle://?pickle-protocol=${String(protocol)}`);
        const back = spawnSync(python.python, ["-c", RICH_ROUND_TRIP, String(protocol)], {
          input: serializer.serialize(rich) as Uint8Array,
        });
        assert.equal(back.status, 0, back.stderr.toString());
        assert.equal(back.stdout[1], protocol, "Python wrote the protocol asked for");
        assert.deepEqual(serializer.deserialize(back.stdout), rich);
      },
    );
  }
});
