import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { ConfigurationError } from "../../src/errors.js";
import { makeDefaultHashedKey, makeDefaultKey } from "../../src/memoize/keys.js";

const f = { name: "f" };
const key = (...args: unknown[]): string => makeDefaultKey(f, args);

/** A small world of awkward atoms, so that random pairs of argument lists often look alike. */
const atom = fc.constantFrom<unknown>(
  "",
  ":",
  "a:",
  ":b",
  "a",
  "b",
  "a:b",
  "1",
  1,
  "null",
  null,
  "undefined",
  undefined,
  0,
  -0,
  Number.NaN,
  1n,
  "1n",
  new Date(0),
  new Date(0).toISOString(),
  "[",
  "]",
  ",",
  '"',
  "{}",
  "\uD800",
  "\uDC00",
  true,
  "true",
);

const { value: argument } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    atom,
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom("a", "b", ":", ""), tie("value"), { maxKeys: 3, noNullPrototype: true }),
    fc.array(fc.tuple(atom, tie("value")), { maxLength: 2 }).map((entries) => new Map(entries)),
    fc.array(atom, { maxLength: 3 }).map((items) => new Set(items)),
  ),
}));
const argumentList = fc.array(argument, { maxLength: 4 });

describe("makeDefaultKey", () => {
  it("is injective: two argument lists share a key exactly when they are deeply equal (B8)", () => {
    fc.assert(
      fc.property(argumentList, argumentList, (a, b) => {
        assert.equal(key(...a) === key(...b), isDeepStrictEqual(a, b), `${key(...a)} vs ${key(...b)}`);
      }),
      { numRuns: 20_000 },
    );
  });

  it("gives equal keys to equal lists built in another order (objects, maps, sets)", () => {
    const reordered = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(reordered);
      if (value instanceof Map) return new Map([...value].reverse().map(([k, v]) => [k, reordered(v)]));
      if (value instanceof Set) return new Set([...value].reverse());
      if (value !== null && typeof value === "object" && !(value instanceof Date)) {
        return Object.fromEntries(
          Object.entries(value)
            .reverse()
            .map(([k, v]) => [k, reordered(v)]),
        );
      }
      return value;
    };
    fc.assert(
      fc.property(argumentList, (a) => {
        assert.equal(key(...a), key(...(reordered(a) as unknown[])));
      }),
      { numRuns: 5_000 },
    );
  });

  it("keeps the seed's collisions apart", () => {
    assert.notEqual(key("a:", "b"), key("a", ":b"));
    assert.notEqual(key("a", "", "b"), key("a:b"));
    assert.notEqual(key("aB"), key("b!"));
    assert.notEqual(key(1), key("1"));
    assert.notEqual(key(null), key("null"));
    assert.notEqual(key(undefined), key());
    assert.notEqual(key(0), key(-0));
    assert.notEqual(key(new Date(0)), key(new Date(0).toISOString()));
    assert.notEqual(key(1n), key(1));
    assert.notEqual(key("\uD800"), key("\uDC00"));
  });

  it("renders plain objects, maps and sets canonically, and stays readable", () => {
    assert.equal(key({ a: 1, b: 2 }), key({ b: 2, a: 1 }));
    assert.equal(
      key(
        new Map([
          ["x", 1],
          ["y", 2],
        ]),
      ),
      key(
        new Map([
          ["y", 2],
          ["x", 1],
        ]),
      ),
    );
    assert.equal(key(new Set([1, 2])), key(new Set([2, 1])));
    assert.equal(makeDefaultKey({ name: "getUser" }, [1, "full", { page: 2 }]), 'getUser:1:"full":{"page":2}');
    assert.equal(makeDefaultKey({ name: "Users.find" }, [[1, [2]], NaN, 5n]), "Users.find:[1,[2]]:NaN:5n");
    assert.equal(makeDefaultKey({ name: "weird:name" }, []), '"weird:name"');
  });

  it("refuses what it cannot render faithfully, saying to pass makeKey", () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    for (const bad of [() => 1, Symbol("s"), new URL("https://example.com"), cyclic]) {
      assert.throws(
        () => key(bad),
        (error: unknown) => {
          assert.ok(error instanceof ConfigurationError);
          assert.match(error.message, /makeKey/);
          return true;
        },
      );
    }
  });
});

describe("makeDefaultHashedKey", () => {
  it("is the BLAKE2s-256 hex digest of the readable key", () => {
    const hashed = makeDefaultHashedKey({ name: "f" }, [1, "a"]);
    assert.match(hashed, /^[0-9a-f]{64}$/);
    assert.notEqual(hashed, makeDefaultHashedKey({ name: "f" }, ["1", "a"]));
    // BLAKE2s-256 of "abc", RFC 7693 appendix B.
    assert.equal(
      makeDefaultHashedKey({ name: "abc" }, []),
      "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982",
    );
  });
});
