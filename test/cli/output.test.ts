/**
 * What the `cachetory` command prints: any value as JSON with what JSON cannot hold marked (never silently
 * changed), and progress only when stderr is a terminal. The command itself runs from the packed tarball in
 * test-package/cli.test.mjs.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toJsonText } from "../../src/cli/json-value.js";
import { Progress } from "../../src/cli/progress.js";

describe("toJsonText", () => {
  it("keeps JSON as it is and marks the rest with one key", () => {
    assert.equal(toJsonText({ a: [1, "x", null, true] }), '{"a":[1,"x",null,true]}');
    assert.deepEqual(
      JSON.parse(
        toJsonText({
          bytes: Uint8Array.of(0, 1, 255),
          buffer: Buffer.from("hi"),
          big: 2n ** 70n,
          map: new Map<unknown, unknown>([[1, new Set(["a"])]]),
          date: new Date(0),
          invalid: new Date(Number.NaN),
          nothing: undefined,
          numbers: [Number.NaN, Number.POSITIVE_INFINITY, -0],
        }),
      ),
      {
        bytes: { $bytes: "AAH/" },
        buffer: { $bytes: "aGk=" },
        big: { $bigint: "1180591620717411303424" },
        map: { $map: [[1, { $set: ["a"] }]] },
        date: { $date: "1970-01-01T00:00:00.000Z" },
        invalid: { $date: "Invalid Date" },
        nothing: { $undefined: true },
        numbers: [{ $number: "NaN" }, { $number: "Infinity" }, { $number: "-0" }],
      },
    );
    assert.equal(toJsonText(undefined), '{"$undefined":true}');
  });

  it("marks a cycle instead of recursing forever, and repeats a shared object", () => {
    const shared = { x: 1 };
    const looped: Record<string, unknown> = { shared, again: shared };
    looped.self = looped;
    assert.deepEqual(JSON.parse(toJsonText(looped)), { shared: { x: 1 }, again: { x: 1 }, self: { $cycle: true } });
  });
});

describe("Progress", () => {
  /** A stand-in for stderr that records what is written, a terminal or not. */
  function stream(isTTY: boolean): { written: string[]; stream: NodeJS.WriteStream } {
    const written: string[] = [];
    const fake = {
      isTTY,
      write: (text: string) => {
        written.push(text);
        return true;
      },
    };
    return { written, stream: fake as unknown as NodeJS.WriteStream };
  }

  it("draws the count and rate on a terminal, at most every 200 ms, and ends the line", () => {
    const terminal = stream(true);
    let now = 1000;
    const progress = new Progress("keys", terminal.stream, () => now);
    for (let index = 0; index < 1000; index++) {
      progress.add(1);
      now += 0.1;
    }
    assert.equal(terminal.written.length, 1, "one redraw for a burst of 100 ms");
    now += 120;
    progress.add(1500);
    assert.equal(terminal.written.length, 2, "a redraw once 200 ms have passed");
    progress.end();
    assert.equal(progress.count, 2500);
    assert.match(terminal.written.at(-2) ?? "", /^\r2,500 keys, [\d,]+\/s $/);
    assert.equal(terminal.written.at(-1), "\n");
  });

  it("writes nothing when stderr is not a terminal", () => {
    const piped = stream(false);
    const progress = new Progress("keys", piped.stream);
    progress.add(10);
    progress.end();
    assert.deepEqual(piped.written, []);
    assert.equal(progress.count, 10);
  });
});
