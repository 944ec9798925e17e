/**
 * The reverse direction: what we encode is plain serialized bytes that Python's own json, zlib,
 * msgpack and zstd modules decode to the same value.
 */
import assert from "node:assert/strict";
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
];

const DECODE = `
import json, sys, zlib, msgpack, zstd
cases = json.load(sys.stdin)
out = []
for case in cases:
    data = bytes.fromhex(case["wire"])
    for layer in reversed(case["url"].split("://")[0].split("+")):
        if layer == "zlib": data = zlib.decompress(data)
        elif layer == "zstd": data = zstd.decompress(data)
        elif layer == "json": data = json.loads(data.decode("utf-8"))
        elif layer == "msgpack": data = msgpack.unpackb(data)
    out.append(data)
json.dump(out, sys.stdout)
`;

const python = findPython(["msgpack", "zstd"]);
const required = process.env.CACHETORY_REQUIRE_SERVERS === "1";

describe("Python reads what we write", () => {
  it(
    "decodes json, msgpack and their zlib/zstd chains to the same values",
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
