/**
 * P1 of reliability.md: PostgreSQL killed (`pg_ctl stop -m immediate`) and restarted, a table lock held by
 * another session, and a server that stops answering. Every call settles within the deadline with a
 * `BackendError`, and the backend works again once the server does.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { inspect } from "node:util";
import { after, describe, it } from "node:test";
import { PostgresBackend } from "../../src/backends/postgres/backend.js";
import { Cache } from "../../src/cache/cache.js";
import { BackendError } from "../../src/errors.js";
import { PostgresServer, postgresUnavailableReason } from "../support/postgres-server.js";

const unavailable = postgresUnavailableReason();
const server = unavailable === undefined ? await PostgresServer.start() : undefined;
after(async () => {
  await server?.stop();
});

const TIMEOUT = 300;
/** What a settled call may take beyond its deadline on a busy machine. */
const SLACK = 400;

/** Runs `call` and returns how long it took and the error it ended with (or `undefined`). */
async function timed(call: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = performance.now();
  try {
    await call();
    return { ms: performance.now() - started, error: undefined };
  } catch (error) {
    return { ms: performance.now() - started, error };
  }
}

/** Every operation of the backend once, each expected to fail typed within the deadline. */
function everyOperation(backend: PostgresBackend): [string, () => Promise<unknown>][] {
  const value = Buffer.from("v");
  return [
    ["get", () => backend.get("k")],
    ["getMany", () => backend.getMany(["k", "l"])],
    ["set", () => backend.set("k", value, { timeToLive: 60_000 })],
    ["set ifNotExists", () => backend.set("n", value, { ifNotExists: true })],
    ["setMany", () => backend.setMany([["k", value]], undefined)],
    ["expireIn", () => backend.expireIn("k", 1000)],
    ["delete", () => backend.delete("k")],
    ["deleteMany", () => backend.deleteMany(["k", "l"])],
    ["has", () => backend.has("k")],
    ["ttl", () => backend.ttl("k")],
    ["scan", () => backend.scan("0", {})],
    ["clear(prefix)", () => backend.clear("p:")],
  ];
}

async function assertAllFailWithinDeadline(backend: PostgresBackend, what: string): Promise<void> {
  const results = await Promise.all(
    everyOperation(backend).map(async ([name, call]) => ({ name, ...(await timed(call)) })),
  );
  for (const { name, ms, error } of results) {
    assert.ok(error instanceof BackendError, `${what}: ${name} ended with ${String(error)}`);
    assert.ok(ms <= TIMEOUT + SLACK, `${what}: ${name} took ${ms.toFixed(0)} ms (timeout ${String(TIMEOUT)})`);
  }
}

/** Waits until `call` succeeds (the pool reconnecting), at most `within` ms. */
async function eventually(call: () => Promise<unknown>, within = 10_000): Promise<void> {
  const until = performance.now() + within;
  for (;;) {
    try {
      await call();
      return;
    } catch (error) {
      if (performance.now() > until) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** The pids of the postmaster's children (its backends and helpers), from /proc. */
function childPids(pid: number): number[] {
  const text = readFileSync(`/proc/${String(pid)}/task/${String(pid)}/children`, "utf8").trim();
  return text === "" ? [] : text.split(/\s+/).map(Number);
}

describe("P1: PostgreSQL faults", { skip: unavailable }, () => {
  it("killed (pg_ctl stop -m immediate): every call fails typed within the deadline; after a restart, calls work again", async () => {
    if (server === undefined) return;
    const backend = new PostgresBackend({
      url: server.url(`?table=crash&timeout=${String(TIMEOUT)}&breaker-threshold=0&connect-timeout=200`),
    });
    try {
      await backend.set("before", Buffer.from("kept"), {});
      // Calls in flight when the server dies, and calls made while it is down.
      const inFlight = Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          timed(() => backend.set(`during:${String(index)}`, Buffer.from("v"), {})),
        ),
      );
      server.crash();
      for (const { ms, error } of await inFlight) {
        if (error !== undefined) assert.ok(error instanceof BackendError, inspect(error));
        assert.ok(ms <= TIMEOUT + SLACK, `${ms.toFixed(0)} ms`);
      }
      await assertAllFailWithinDeadline(backend, "while down");
      server.startAgain();
      await eventually(() => backend.get("before"));
      assert.equal((await backend.get("before"))?.toString(), "kept");
      await backend.set("after", Buffer.from("v"), {});
      assert.equal(await backend.has("after"), true);
    } finally {
      await backend.close();
    }
  });

  it("a table lock held by another session: every call fails typed within the deadline, and works once it is released", async () => {
    if (server === undefined) return;
    const backend = new PostgresBackend({
      url: server.url(`?table=locked&timeout=${String(TIMEOUT)}&breaker-threshold=0`),
    });
    const other = server.pool();
    const holder = await other.connect();
    try {
      await backend.set("k", Buffer.from("v"), {});
      await holder.query("BEGIN");
      await holder.query("LOCK TABLE locked IN ACCESS EXCLUSIVE MODE");
      await assertAllFailWithinDeadline(backend, "while locked");
      // clear("") is TRUNCATE, which waits for the lock too.
      const truncate = await timed(() => backend.clear(""));
      assert.ok(truncate.error instanceof BackendError && truncate.ms <= TIMEOUT + SLACK, String(truncate.error));
      // Writes that timed out have an unknown outcome (one sent just before its deadline may still run once
      // the lock goes); the server ends each within the timeout (lock_timeout), freeing the pool.
      await new Promise((resolve) => setTimeout(resolve, TIMEOUT));
      await holder.query("COMMIT");
      const started = performance.now();
      await backend.set("k", Buffer.from("again"), {});
      assert.equal((await backend.get("k"))?.toString(), "again");
      assert.ok(performance.now() - started < TIMEOUT, "the first calls after the lock went through at once");
    } finally {
      holder.release();
      await other.end();
      await backend.close();
    }
  });

  it("a server that stops answering (its processes stopped): calls time out at the deadline, the breaker opens, and both recover", async () => {
    if (server === undefined) return;
    const backend = new PostgresBackend({
      url: server.url(`?table=hung&timeout=${String(TIMEOUT)}&breaker-threshold=3&breaker-duration=200`),
    });
    const cache = new Cache<string>({ backend, serializer: "json://" });
    await cache.set("k", "v");
    const stopped = [server.pid, ...childPids(server.pid)];
    for (const pid of stopped) signalIfAlive(pid, "SIGSTOP");
    try {
      for (let call = 0; call < 3; call++) {
        const { ms, error } = await timed(() => cache.get("k"));
        assert.ok(error instanceof BackendError, String(error));
        assert.ok(ms >= TIMEOUT - 20 && ms <= TIMEOUT + SLACK, `${ms.toFixed(0)} ms`);
      }
      assert.equal(backend.circuit, "open");
      const refused = await timed(() => cache.get("k"));
      assert.ok(refused.error instanceof BackendError && /circuit/.test(refused.error.message));
      assert.ok(refused.ms < 50, `refused in ${refused.ms.toFixed(0)} ms`);
    } finally {
      // Children first: a postmaster that runs again may reap one at once, before it is sent its signal.
      for (const pid of [...stopped].reverse()) signalIfAlive(pid, "SIGCONT");
    }
    try {
      await eventually(() => cache.get("k"));
      assert.equal(await cache.get("k"), "v");
      assert.equal(backend.circuit, "closed");
    } finally {
      await cache.close();
    }
  });
});

/** Sends `signal` to `pid`, which may have ended meanwhile (a backend process exiting on its own). */
function signalIfAlive(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ESRCH") throw error;
  }
}
