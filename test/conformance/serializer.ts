/**
 * The serializer conformance suite: every serializer URL round-trips the values it claims to support,
 * refuses what it cannot encode with an error, and rejects garbage instead of returning a wrong value.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromUrl } from "../../src/serializers/registry.js";

export interface SerializerCapabilities {
  /** Values beyond JSON: `undefined`, `BigInt`, `Map`, `Set`, `Date`, byte arrays. */
  readonly richTypes: "none" | "msgpack" | "pickle" | "structured-clone";
  /** Whether the serializer accepts only bytes/text (compressors). */
  readonly bytesOnly?: boolean;
}

const NESTED = {
  id: 1,
  name: "Zoë 🙂",
  tags: ["x", "y", ""],
  score: -0.25,
  owner: { active: false, missing: null, deep: [[[{ level: 4 }]]] },
};

export function serializerConformance(url: string, capabilities: SerializerCapabilities): void {
  const roundTrip = (value: unknown): unknown => {
    const serializer = fromUrl(url);
    return serializer.deserialize(serializer.serialize(value));
  };

  describe(`serializer conformance: ${url}`, () => {
    if (capabilities.bytesOnly === true) {
      it("round-trips bytes: empty, every byte value, 1 MB", () => {
        for (const bytes of [
          new Uint8Array(0),
          Uint8Array.from({ length: 256 }, (_, i) => i),
          new Uint8Array(1 << 20).fill(97),
        ]) {
          assert.deepEqual(new Uint8Array(roundTrip(bytes) as Uint8Array), bytes);
        }
      });
      it("takes text as UTF-8", () => {
        assert.equal(Buffer.from(roundTrip("héllo ✓") as Uint8Array).toString("utf8"), "héllo ✓");
      });
      it("rejects bytes that are not its format", () => {
        assert.throws(() => fromUrl(url).deserialize(Buffer.from("definitely not compressed")));
      });
      return;
    }

    it("round-trips nested objects, unicode and empty values", () => {
      for (const value of [NESTED, "", [], {}, 0, -1, 1.5, true, false, null, "a:b::c", "héllo wörld ✓ 🙂"]) {
        assert.deepEqual(roundTrip(value), value);
      }
    });

    it("round-trips a big value (1 MB of records)", () => {
      const records = Array.from({ length: 10_000 }, (_, index) => ({
        index,
        text: `item-${String(index)}`.padEnd(80, "."),
      }));
      assert.deepEqual(roundTrip(records), records);
    });

    it("does not return a wrong value for bytes of another format", () => {
      const serializer = fromUrl(url);
      for (const garbage of [Buffer.from([0xc1]), Buffer.from("{not json"), Buffer.from([0xff, 0xfe, 0x00])]) {
        let decoded: unknown;
        try {
          decoded = serializer.deserialize(garbage);
        } catch {
          continue;
        }
        assert.notDeepEqual(decoded, NESTED);
      }
    });

    if (capabilities.richTypes === "none") {
      it("refuses values JSON cannot hold", () => {
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        for (const value of [undefined, 1n, cyclic, () => 1]) assert.throws(() => fromUrl(url).serialize(value));
      });
    } else {
      it("round-trips bigint and byte arrays", () => {
        assert.equal(roundTrip(2n ** 60n), 2n ** 60n);
        assert.equal(roundTrip(-(2n ** 60n)), -(2n ** 60n));
        assert.deepEqual(new Uint8Array(roundTrip(Uint8Array.of(0, 1, 255)) as Uint8Array), Uint8Array.of(0, 1, 255));
      });
    }

    if (capabilities.richTypes === "pickle") {
      it("round-trips sets, dicts with non-string keys, and lone surrogates; refuses what Python data cannot hold", () => {
        const value = { set: new Set([1, "x"]), map: new Map<unknown, unknown>([[1, "one"]]), odd: "\uD800" };
        assert.deepEqual(roundTrip(value), value);
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        for (const refused of [undefined, new Date(0), cyclic, () => 1, Symbol("s")]) {
          assert.throws(() => fromUrl(url).serialize(refused));
        }
      });
    }

    if (capabilities.richTypes === "structured-clone") {
      it("round-trips Date, Map, Set, undefined and cycles", () => {
        const cyclic: Record<string, unknown> = { name: "loop" };
        cyclic.self = cyclic;
        const value = { when: new Date(0), map: new Map([[1, "a"]]), set: new Set(["x"]), nothing: undefined };
        assert.deepEqual(roundTrip(value), value);
        const back = roundTrip(cyclic) as Record<string, unknown>;
        assert.equal(back.self, back);
      });
    }
  });
}
