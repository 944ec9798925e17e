import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CircuitBreaker } from "../../src/layers/circuit-breaker.js";

const sleep = (milliseconds: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, milliseconds));

describe("CircuitBreaker", () => {
  it("opens after threshold failures in a row, refuses while open, then lets one probe through", async () => {
    const breaker = new CircuitBreaker({ threshold: 3, duration: 50 });
    breaker.failed(false);
    breaker.failed(false);
    assert.equal(breaker.admit(), "pass", "two failures are not three");
    breaker.failed(false);
    assert.equal(breaker.state, "open");
    assert.equal(breaker.admit(), "refuse");
    assert.ok(breaker.retryIn > 0 && breaker.retryIn <= 50);
    await sleep(60);
    assert.equal(breaker.state, "half-open");
    assert.equal(breaker.admit(), "probe");
    assert.equal(breaker.admit(), "refuse", "one probe at a time");
    breaker.succeeded(true);
    assert.equal(breaker.state, "closed");
    assert.equal(breaker.failuresInARow, 0);
  });

  it("a failed probe opens the circuit for another duration; a released one lets the next probe go", async () => {
    const breaker = new CircuitBreaker({ threshold: 1, duration: 30 });
    breaker.failed(false);
    await sleep(40);
    assert.equal(breaker.admit(), "probe");
    breaker.failed(true);
    assert.equal(breaker.state, "open");
    await sleep(40);
    assert.equal(breaker.admit(), "probe");
    breaker.released(true);
    assert.equal(breaker.admit(), "probe", "a probe whose connection dropped told nothing: another may go");
  });

  it("a success resets the count, and threshold 0 turns the breaker off", () => {
    const breaker = new CircuitBreaker({ threshold: 2, duration: 1000 });
    breaker.failed(false);
    breaker.succeeded(false);
    breaker.failed(false);
    assert.equal(breaker.state, "closed");
    const off = new CircuitBreaker({ threshold: 0, duration: 1000 });
    for (let index = 0; index < 100; index++) off.failed(false);
    assert.equal(off.admit(), "pass");
  });
});
