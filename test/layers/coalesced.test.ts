import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CoalescedBackend } from "../../src/layers/coalesced.js";
import { FailedRead } from "../../src/layers/read-batcher.js";
import { ScriptedBackend } from "../support/scripted-backend.js";

class Refused extends Error {}

describe("CoalescedBackend (a layer over any backend)", () => {
  it("sends the gets of one tick as one getMany of their distinct keys, and answers every caller", async () => {
    const inner = new ScriptedBackend();
    const backend = new CoalescedBackend(inner);
    await inner.setMany(
      [
        ["a", 1],
        ["b", 2],
      ],
      undefined,
    );
    inner.calls.length = 0;
    const answers = await Promise.all([backend.get("a"), backend.get("b"), backend.get("a"), backend.get("absent")]);
    assert.deepEqual(answers, [1, 2, 1, undefined]);
    assert.deepEqual(inner.calls, [{ operation: "getMany", args: [["a", "b", "absent"]] }]);
  });

  it("fails only the keys a batch read reports as failed (a cluster's dead node), and answers the others", async () => {
    const inner = new ScriptedBackend();
    const down = new Refused("node down");
    const backend = new CoalescedBackend(inner, {
      readBatch: (keys) => Promise.resolve(keys.map((key) => (key.startsWith("dead") ? new FailedRead(down) : key))),
    });
    const outcomes = await Promise.allSettled([
      backend.get("a"),
      backend.get("dead:1"),
      backend.get("b"),
      backend.get("dead:1"),
    ]);
    assert.deepEqual(
      outcomes.map((outcome) => (outcome.status === "fulfilled" ? outcome.value : (outcome.reason as Error).message)),
      ["a", "node down", "b", "node down"],
    );
  });

  it("starts a new batch once one is full; a lone key is one read", async () => {
    const inner = new ScriptedBackend();
    const backend = new CoalescedBackend(inner, { maxBatch: 2 });
    await Promise.all(["a", "b", "c", "d", "e"].map((key) => backend.get(key)));
    assert.deepEqual(inner.calls, [
      { operation: "getMany", args: [["a", "b"]] },
      { operation: "getMany", args: [["c", "d"]] },
      { operation: "get", args: ["e"] },
    ]);
  });

  it("bounds a batch by its distinct keys: readers of a key already in it join it", async () => {
    const inner = new ScriptedBackend();
    const backend = new CoalescedBackend(inner, { maxBatch: 2 });
    await Promise.all(["a", "a", "a", "b", "a", "b", "c"].map((key) => backend.get(key)));
    assert.deepEqual(inner.calls, [
      { operation: "getMany", args: [["a", "b"]] },
      { operation: "get", args: ["c"] },
    ]);
  });

  it("asks each key on its own when the store refuses a batch as a whole: one key's failure is its callers' only", async () => {
    const inner = new ScriptedBackend();
    const backend = new CoalescedBackend(inner, { isBatchRefusal: (error) => error instanceof Refused });
    await inner.set("ok", "fine", {});
    inner.failNext("getMany", new Refused("NOPERM on the batch"));
    inner.failNext("get", new Refused("NOPERM forbidden"));
    const [forbidden, ok] = await Promise.allSettled([backend.get("forbidden"), backend.get("ok")]);
    assert.equal(forbidden.status, "rejected");
    assert.deepEqual(ok, { status: "fulfilled", value: "fine" });
  });

  it("fails every caller of a batch for a failure that is not a refusal (a dropped connection)", async () => {
    const inner = new ScriptedBackend();
    const backend = new CoalescedBackend(inner, { isBatchRefusal: (error) => error instanceof Refused });
    inner.failNext("getMany", new Error("connection lost"));
    const outcomes = await Promise.allSettled([backend.get("a"), backend.get("b")]);
    assert.deepEqual(
      outcomes.map((outcome) => outcome.status),
      ["rejected", "rejected"],
    );
    assert.equal(inner.calls.filter(({ operation }) => operation === "get").length, 0, "no key asked again");
  });

  it("passes every other operation through, and declares what the store declares", async () => {
    const inner = new ScriptedBackend();
    const backend = new CoalescedBackend(inner);
    assert.equal(await backend.set("k", 1, {}), true);
    assert.deepEqual(await backend.getMany(["k"]), new Map([["k", 1]]));
    assert.equal(await backend.has("k"), true);
    assert.equal(await backend.delete("k"), true);
    assert.deepEqual(
      inner.calls.map(({ operation }) => operation),
      ["set", "getMany", "has", "delete"],
    );
    assert.equal(backend.capabilities, inner.capabilities);
  });
});
