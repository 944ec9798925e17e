import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toMilliseconds, toTimeToLive } from "../src/duration.js";

describe("durations", () => {
  it("reads milliseconds and unit strings", () => {
    assert.equal(toMilliseconds(500), 500);
    assert.equal(toMilliseconds("500ms"), 500);
    assert.equal(toMilliseconds("90s"), 90_000);
    assert.equal(toMilliseconds("5m"), 300_000);
    assert.equal(toMilliseconds("1h30m"), 5_400_000);
    assert.equal(toMilliseconds("2d"), 172_800_000);
    assert.equal(toMilliseconds("1.5s"), 1500);
    assert.equal(toMilliseconds(" 1m "), 60_000);
    assert.equal(toMilliseconds(2 ** 31), 2 ** 31);
    assert.equal(toMilliseconds(2 ** 53), 2 ** 53);
  });

  it("rounds fractions of a millisecond up", () => {
    assert.equal(toMilliseconds(1.2), 2);
    assert.equal(toMilliseconds(0.001), 1);
    assert.equal(toMilliseconds("0.5ms"), 1);
  });

  it("rejects invalid durations with a RangeError quoting the value (B9)", () => {
    const cases: [unknown, string][] = [
      [0, "invalid duration 0"],
      [-1, "invalid duration -1"],
      [Number.NaN, "invalid duration NaN"],
      [Number.POSITIVE_INFINITY, "invalid duration Infinity"],
      ["", 'invalid duration ""'],
      ["5x", 'invalid duration "5x"'],
      ["500", 'invalid duration "500"'],
      ["0s", 'invalid duration "0s"'],
      ["-5s", 'invalid duration "-5s"'],
      [{}, "invalid duration [object Object]"],
    ];
    for (const [value, message] of cases) {
      assert.throws(
        () => toMilliseconds(value as number),
        (error: unknown) => error instanceof RangeError && error.message.startsWith(message),
      );
    }
  });

  it("treats null and undefined as no expiry", () => {
    assert.equal(toTimeToLive(null), undefined);
    assert.equal(toTimeToLive(undefined), undefined);
    assert.equal(toTimeToLive("1s"), 1000);
  });
});
