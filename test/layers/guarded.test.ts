import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BackendError, CacheClosedError } from "../../src/errors.js";
import { DeadlineGuard, type GuardedConnection } from "../../src/layers/deadline-guard.js";
import { GuardedBackend } from "../../src/layers/guarded.js";
import { ScriptedBackend } from "../support/scripted-backend.js";

/** A connection the test opens and drops. */
class Switch implements GuardedConnection {
  ready = true;
  lastErrorMessage: string | undefined;
  refusal: string | undefined;
  #waiters: (() => void)[] = [];

  whenReady(): Promise<void> {
    return this.ready ? Promise.resolve() : new Promise((resolve) => this.#waiters.push(resolve));
  }

  up(): void {
    this.ready = true;
    for (const resolve of this.#waiters.splice(0)) resolve();
  }
}

function guarded(options: { timeout?: number; maxInFlight?: number; threshold?: number } = {}) {
  const inner = new ScriptedBackend();
  const connection = new Switch();
  const guard = new DeadlineGuard(connection, {
    timeout: options.timeout ?? 50,
    maxInFlight: options.maxInFlight ?? 100,
    target: "the store at test:1",
    breaker: { threshold: options.threshold ?? 0, duration: 200 },
  });
  return { inner, connection, guard, backend: new GuardedBackend(inner, guard) };
}

describe("GuardedBackend (a layer over any remote backend)", () => {
  it("settles a call the store never answers within the deadline, naming the operation, key and store", async () => {
    const { inner, backend } = guarded({ timeout: 50 });
    inner.hold();
    const started = performance.now();
    await assert.rejects(backend.get("k"), (error: unknown) => {
      assert.ok(error instanceof BackendError);
      assert.match(error.message, /^get of key "k" timed out after 50 ms waiting for the store at test:1$/);
      return true;
    });
    assert.ok(performance.now() - started < 1000);
    inner.release();
  });

  it("refuses at once beyond max-in-flight", async () => {
    const { inner, backend } = guarded({ maxInFlight: 2, timeout: 100 });
    inner.hold();
    const first = [backend.set("a", 1, {}), backend.set("b", 1, {})];
    await assert.rejects(
      backend.set("c", 1, {}),
      /refused: 2 operations are already waiting for the store at test:1 \(max-in-flight 2\)/,
    );
    inner.release();
    await Promise.all(first);
  });

  it("waits for the connection instead of sending, and never sends a call whose caller was told it failed", async () => {
    const { inner, connection, backend } = guarded({ timeout: 50 });
    connection.ready = false;
    connection.lastErrorMessage = "connect ECONNREFUSED";
    await assert.rejects(backend.set("late", 1, {}), /timed out after 50 ms .*not connected: connect ECONNREFUSED/);
    connection.up();
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(inner.calls, [], "the timed-out write was not sent once the connection came");
    assert.equal(await backend.set("now", 1, {}), true);
  });

  it("refuses at once while the server refuses the connection itself", async () => {
    const { connection, backend } = guarded();
    connection.ready = false;
    connection.refusal = "WRONGPASS";
    await assert.rejects(backend.get("k"), /refused at once: the store at test:1 refused the connection: WRONGPASS/);
  });

  it("opens the circuit after timeouts in a row, then lets one probe through", async () => {
    const { inner, backend, guard } = guarded({ timeout: 20, threshold: 2 });
    inner.hold();
    await assert.rejects(backend.get("a"));
    await assert.rejects(backend.get("b"));
    assert.equal(guard.circuit, "open");
    await assert.rejects(
      backend.get("c"),
      /refused at once: the circuit to the store at test:1 is open after 2 failures/,
    );
    await new Promise((resolve) => setTimeout(resolve, 220));
    assert.equal(guard.circuit, "half-open");
    const probe = backend.get("d");
    await assert.rejects(backend.get("e"), /circuit .* is open/, "one probe at a time");
    inner.release();
    assert.equal(await probe, undefined);
    assert.equal(guard.circuit, "closed");
  });

  it("resends a read, never a write, when its connection drops under it", async () => {
    const { inner, connection, backend } = guarded({ timeout: 200 });
    const dropped = new Error("socket closed");
    connection.ready = true;
    inner.failNext("get", dropped);
    inner.failNext("set", dropped);
    // The connection is down when the failure arrives, and back a moment later.
    const dropAndReturn = (): void => {
      connection.ready = false;
      setTimeout(() => {
        connection.up();
      }, 10);
    };
    inner.hold();
    const read = backend.get("k");
    const write = assert.rejects(backend.set("k", 1, {}), /socket closed/);
    await new Promise((resolve) => setTimeout(resolve, 5));
    dropAndReturn();
    inner.release();
    assert.equal(await read, undefined, "the read went again on the new connection");
    await write;
    assert.equal(inner.calls.filter(({ operation }) => operation === "get").length, 2);
    assert.equal(inner.calls.filter(({ operation }) => operation === "set").length, 1);
  });

  it("closes: what was not sent is rejected at once, a write already sent is waited for", async () => {
    const { inner, connection, backend } = guarded({ timeout: 500 });
    inner.hold();
    const sent = backend.set("sent", 1, {});
    connection.ready = false;
    const unsent = backend.set("unsent", 1, {});
    const closing = backend.close();
    await assert.rejects(unsent, CacheClosedError);
    inner.release();
    assert.equal(await sent, true, "the write that was sent reports what happened");
    await closing;
    await assert.rejects(backend.get("k"), CacheClosedError);
  });
});
