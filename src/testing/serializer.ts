/**
 * The serializer conformance suite, published as `cachetory/testing`: what every serializer (and every
 * compressor) must do, as cases any test runner can run.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Serializer } from "../serializers/contract.js";
import { type ConformanceCase, conformanceCase } from "./conformance-case.js";

/** Options of {@link serializerConformance}. */
export interface SerializerConformanceOptions {
  /**
   * What it must round-trip: `"json"` (JSON-compatible values, the default), `"rich"` (also `Date`, `Map`,
   * `Set`, `bigint` and byte arrays) or `"bytes"` (byte arrays only, and text as UTF-8: a compressor).
   */
  readonly values?: "json" | "rich" | "bytes";
}

const NESTED = {
  id: 1,
  name: "Zoë 🙂",
  tags: ["x", "y", ""],
  score: -0.25,
  owner: { active: false, missing: null, deep: [[[{ level: 4 }]]] },
};

/** Runs `run` sync and, when the serializer has it, through `deserializeAsync`/`serializeAsync` too. */
async function bothWays(serializer: Serializer, value: unknown): Promise<unknown[]> {
  const back = [serializer.deserialize(serializer.serialize(value))];
  if (serializer.serializeAsync !== undefined && serializer.deserializeAsync !== undefined) {
    back.push(await serializer.deserializeAsync(await serializer.serializeAsync(value)));
  }
  return back;
}

function asBytes(value: unknown): Uint8Array {
  assert.ok(value instanceof Uint8Array, `expected bytes, got ${typeof value}`);
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/**
 * The cases every serializer must pass: round trips (sync and, when offered, async), and garbage refused
 * with an error rather than decoded into a wrong value. `makeSerializer` builds a fresh one per case.
 *
 * @example
 * ```ts
 * import { it } from "node:test";
 * import { serializerConformance } from "cachetory/testing";
 *
 * for (const { name, skip, run } of serializerConformance(() => new MySerializer(), { values: "rich" })) {
 *   it(name, { skip }, run);
 * }
 * ```
 */
export function serializerConformance(
  makeSerializer: () => Serializer,
  options: SerializerConformanceOptions = {},
): ConformanceCase[] {
  const values = options.values ?? "json";
  const run = (body: (serializer: Serializer) => Promise<void> | void) => async (): Promise<void> => {
    await body(makeSerializer());
  };
  if (values === "bytes") {
    return [
      conformanceCase(
        "round-trips bytes: empty, every byte value, 1 MB",
        run(async (serializer) => {
          for (const input of [
            new Uint8Array(0),
            Uint8Array.from({ length: 256 }, (_, i) => i),
            new Uint8Array(1 << 20).fill(97),
          ]) {
            for (const back of await bothWays(serializer, input)) assert.deepEqual(asBytes(back), input);
          }
        }),
      ),
      conformanceCase(
        "takes text as UTF-8",
        run(async (serializer) => {
          for (const back of await bothWays(serializer, "héllo ✓")) {
            assert.equal(Buffer.from(asBytes(back)).toString("utf8"), "héllo ✓");
          }
        }),
      ),
      conformanceCase(
        "rejects bytes that are not its format",
        run((serializer) => {
          assert.throws(() => serializer.deserialize(Buffer.from("definitely not compressed")));
        }),
      ),
    ];
  }
  return [
    conformanceCase(
      "round-trips nested objects, unicode and empty values",
      run(async (serializer) => {
        for (const value of [NESTED, "", [], {}, 0, -1, 1.5, true, false, null, "a:b::c", "héllo wörld ✓ 🙂"]) {
          for (const back of await bothWays(serializer, value)) assert.deepEqual(back, value);
        }
      }),
    ),
    conformanceCase(
      "round-trips a big value (1 MB of records)",
      run(async (serializer) => {
        const records = Array.from({ length: 10_000 }, (_, index) => ({
          index,
          text: `item-${String(index)}`.padEnd(80, "."),
        }));
        for (const back of await bothWays(serializer, records)) assert.deepEqual(back, records);
      }),
    ),
    conformanceCase(
      "does not return a wrong value for bytes of another format",
      run((serializer) => {
        for (const garbage of [Buffer.from([0xc1]), Buffer.from("{not json"), Buffer.from([0xff, 0xfe, 0x00])]) {
          let decoded: unknown;
          try {
            decoded = serializer.deserialize(garbage);
          } catch {
            continue;
          }
          assert.notDeepEqual(decoded, NESTED);
        }
      }),
    ),
    conformanceCase(
      "refuses what it cannot encode with an error (a function, a symbol)",
      run((serializer) => {
        for (const value of [() => 1, Symbol("s")]) {
          let encoded: unknown;
          try {
            encoded = serializer.serialize(value);
          } catch {
            continue;
          }
          // Encoding a function as something else is allowed only if it does not come back as that function.
          assert.notEqual(serializer.deserialize(encoded), value);
        }
      }),
    ),
    conformanceCase(
      "round-trips Date, Map, Set, bigint and byte arrays",
      run(async (serializer) => {
        const value = {
          when: new Date(0),
          map: new Map<unknown, unknown>([[1, "a"]]),
          set: new Set(["x"]),
          big: 2n ** 60n,
          negative: -(2n ** 60n),
          bytes: Uint8Array.of(0, 1, 255),
        };
        for (const back of await bothWays(serializer, value)) {
          const { bytes: backBytes, ...rest } = back as typeof value;
          const { bytes: sentBytes, ...sent } = value;
          assert.deepEqual(rest, sent);
          assert.deepEqual(asBytes(backBytes), sentBytes);
        }
      }),
      values === "rich",
      'the serializer is tested for JSON-compatible values (values: "json")',
    ),
  ];
}
