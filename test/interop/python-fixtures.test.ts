/**
 * Bytes written by Python cachetory 3.5.1 (test/fixtures, copied from shared/interop) must decode here
 * to the same value with the same serializer URL.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromUrl } from "../../src/serializers/registry.js";
import { expectedValue, fixtures, normalize, SUPPORTED } from "../support/python-fixtures.js";

describe("Python cachetory wire format", () => {
  it("has fixtures for every serializer family we must read", () => {
    const families = new Set(fixtures.cases.map((fixture) => fixture.url.split("://")[0]));
    for (const family of [
      "json",
      "msgpack",
      "msgpack+zlib",
      "msgpack+zstd",
      "pickle",
      "pickle+zlib",
      "pickle+zstd",
      "zlib",
      "zstd",
    ]) {
      assert.ok(families.has(family), family);
    }
  });

  for (const fixture of fixtures.cases) {
    it(`${fixture.url} ${fixture.name}`, () => {
      assert.match(fixture.url, SUPPORTED);
      const serializer = fromUrl(fixture.url);
      const wire = Buffer.from(fixture.wire, "hex");
      const expected = expectedValue(fixture.value);
      assert.deepEqual(normalize(serializer.deserialize(wire)), normalize(expected));
      // What we write for the same value must read back the same here too (no envelope, same format).
      assert.deepEqual(normalize(serializer.deserialize(serializer.serialize(expected))), normalize(expected));
    });
  }
});
