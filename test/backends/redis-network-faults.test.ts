/**
 * Network and server-state faults of reliability.md for the Redis backend, through a TCP fault proxy
 * or by driving the server itself: F4 (blackholes), F5 (truncated replies and resets), F7 (credentials
 * revoked), F8 (out of memory) and F11 (a busy server). Liveness bounds are wide; figures are printed.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { inspect } from "node:util";
import { createClient } from "redis";
import { RedisBackend } from "../../src/backends/redis/backend.js";
import { Cache } from "../../src/cache/cache.js";
import { CallLog, ProcessFaultGuard, sleep } from "../support/fault-guard.js";
import { FaultProxy } from "../support/fault-proxy.js";
import { needsRedis, RedisServer } from "../support/redis-server.js";

const requirement = needsRedis();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serverBehindProxy(
  options: Parameters<typeof RedisServer.start>[0] = {},
): Promise<{ server: RedisServer; proxy: FaultProxy }> {
  const server = await RedisServer.start(options);
  cleanups.push(() => server.stop());
  const proxy = await FaultProxy.start(server.port);
  cleanups.push(() => proxy.close());
  return { server, proxy };
}

function backendFor(url: string): RedisBackend {
  const backend = new RedisBackend({ url });
  cleanups.push(() => backend.close());
  return backend;
}

/** Calls `operation` until it succeeds or `withinMs` passes; how long that took. */
async function recoveryTime(operation: () => Promise<unknown>, withinMs: number): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < withinMs) {
    try {
      await operation();
      return performance.now() - started;
    } catch {
      await sleep(10);
    }
  }
  return Number.POSITIVE_INFINITY;
}

describe("Redis network and server faults", requirement, () => {
  it("F4a: a server that never completes the handshake: calls settle within the deadline, then it works", async () => {
    const guard = new ProcessFaultGuard();
    const { proxy } = await serverBehindProxy();
    proxy.mode = { kind: "blackholeHandshake" };
    const backend = backendFor(`${proxy.url()}?timeout=200&connect-timeout=300`);
    const log = new CallLog();
    const started = performance.now();
    while (performance.now() - started < 2000) await log.record(() => backend.get("k"));
    proxy.mode = { kind: "pass" };
    const recovered = await recoveryTime(() => backend.set("k", "v", {}), 5000);
    guard.dispose();
    console.log(
      `# F4a: ${log.summary()}; ${String(proxy.connections)} connections; recovered ${recovered.toFixed(0)} ms after the handshake was let through`,
    );
    assert.equal(log.settled, log.issued);
    assert.ok(log.maxSettleMs <= 10 * 200, `max settle ${String(log.maxSettleMs)} ms`);
    assert.deepEqual([...log.errorsByName.keys()], ["BackendError"]);
    // The handshake times out (connect-timeout) and the client tries again, backing off.
    assert.ok(
      proxy.connections >= 2 && proxy.connections <= 10,
      `${String(proxy.connections)} connection attempts in 2 s`,
    );
    assert.ok(recovered <= 3000);
    assert.deepEqual(guard.unhandled, []);
  });

  it("F4b: a blackhole mid-session: calls settle within the deadline, the circuit opens, and it heals", async () => {
    const guard = new ProcessFaultGuard();
    const { proxy } = await serverBehindProxy();
    const backend = backendFor(`${proxy.url()}?timeout=200`);
    await backend.set("k", "v", {});
    proxy.mode = { kind: "blackhole" };
    const log = new CallLog();
    const started = performance.now();
    while (performance.now() - started < 1500) await log.record(() => backend.get("k"));
    const circuit = backend.circuit;
    proxy.mode = { kind: "pass" };
    const recovered = await recoveryTime(() => backend.get("k"), 3000);
    guard.dispose();
    console.log(
      `# F4b: ${log.summary()}; circuit ${circuit} during the blackhole; recovered ${recovered.toFixed(0)} ms after it healed`,
    );
    assert.ok(log.maxSettleMs <= 10 * 200);
    assert.notEqual(circuit, "closed");
    assert.ok(log.issued > 20, "an open circuit answers at once");
    assert.ok(recovered <= 1000);
    assert.deepEqual(guard.unhandled, []);
  });

  it("F5: a reply cut mid-frame is a BackendError, never a partial value, and later replies stay aligned", async () => {
    const guard = new ProcessFaultGuard();
    const { proxy } = await serverBehindProxy();
    const backend = backendFor(`${proxy.url()}?timeout=2000`);
    const big = Buffer.alloc(1024 * 1024, 0x61);
    await backend.set("big", big, {});
    proxy.mode = { kind: "truncateAfter", bytes: 64 * 1024 };
    await assert.rejects(backend.get("big"), (error: unknown) => (error as Error).name === "BackendError");
    proxy.mode = { kind: "pass" };
    proxy.resetAll();
    for (let index = 0; index < 1000; index++) {
      const key = `k${String(index)}`;
      await backend.set(key, `v${String(index)}`, {});
      assert.equal(String(await backend.get(key)), `v${String(index)}`);
    }
    assert.ok(big.equals((await backend.get("big")) as Buffer));
    guard.dispose();
    assert.deepEqual(guard.unhandled, []);
  });

  it("F7: revoked credentials give a typed error without the password, and reconnection backs off", async () => {
    const guard = new ProcessFaultGuard();
    const { server, proxy } = await serverBehindProxy({
      arguments: ["--user", "app", "on", ">Old-S3cret", "~*", "&*", "+@all"],
    });
    const backend = backendFor(`redis://app:Old-S3cret@127.0.0.1:${String(proxy.port)}/0?timeout=300`);
    await backend.set("k", "v", {});
    const admin = createClient({ url: server.url(0) });
    await admin.connect();
    cleanups.push(async () => {
      admin.destroy();
    });
    await admin.sendCommand(["ACL", "SETUSER", "app", "resetpass", ">New-S3cret"]);
    const before = proxy.connections;
    await admin.sendCommand(["CLIENT", "KILL", "USER", "app"]);
    const log = new CallLog();
    const messages = new Set<string>();
    const started = performance.now();
    while (performance.now() - started < 3000) {
      await log.record(() =>
        backend.get("k").catch((error: unknown) => {
          messages.add((error as Error).message);
          throw error;
        }),
      );
      await sleep(20);
    }
    guard.dispose();
    const attempts = proxy.connections - before;
    console.log(`# F7: ${log.summary()}; ${String(attempts)} connection attempts in 3 s`);
    assert.deepEqual([...log.errorsByName.keys()], ["BackendError"]);
    assert.ok(log.maxSettleMs <= 10 * 300);
    assert.ok([...messages].some((message) => /WRONGPASS|invalid username-password/.test(message)));
    assert.ok([...messages].every((message) => !message.includes("S3cret")));
    assert.ok(attempts <= 15, `${String(attempts)} attempts`);
    assert.deepEqual(guard.unhandled, []);
  });

  it("F8/S2: out of memory: writes fail with a BackendError naming OOM (not the value), reads go on, writes work again", async () => {
    const server = await RedisServer.start({ arguments: ["--maxmemory", "2mb", "--maxmemory-policy", "noeviction"] });
    cleanups.push(() => server.stop());
    const backend = backendFor(server.url(0));
    await backend.set("small", "kept", {});
    let failure: unknown;
    for (let index = 0; index < 100 && failure === undefined; index++) {
      try {
        await backend.set(`fill${String(index)}`, Buffer.from("VALUE-MARKER-".repeat(20_000)), {});
      } catch (error) {
        failure = error;
      }
    }
    assert.ok(failure instanceof Error && failure.name === "BackendError");
    assert.match(failure.message, /OOM/);
    // S2: the value is in neither the error nor its cause.
    assert.ok(!inspect(failure, { depth: null, showHidden: true }).includes("VALUE-MARKER"));
    assert.equal(String(await backend.get("small")), "kept");
    await backend.clear("fill");
    assert.equal(await backend.set("after", "room again", {}), true);
  });

  it("F10: a server still loading its dataset: calls settle within the deadline, then it serves", async () => {
    const guard = new ProcessFaultGuard();
    const server = await RedisServer.start();
    cleanups.push(() => server.stop());
    const admin = createClient({ url: server.url(0) });
    await admin.connect();
    await admin.sendCommand(["DEBUG", "POPULATE", "1000000", "key", "100"]);
    await admin.sendCommand(["SAVE"]);
    admin.destroy();
    const backend = backendFor(`${server.url(0)}?timeout=200`);
    await server.restart({ whileLoading: true });
    const log = new CallLog();
    const restartedAt = performance.now();
    let servedAfter = Number.POSITIVE_INFINITY;
    while (performance.now() - restartedAt < 15_000) {
      const value = await log.record(() => backend.get("key:1"));
      if (value !== undefined) {
        servedAfter = performance.now() - restartedAt;
        break;
      }
    }
    guard.dispose();
    console.log(`# F10: ${log.summary()}; served ${servedAfter.toFixed(0)} ms after the restart`);
    assert.ok(log.errorsByName.size > 0, "the calls met the loading server");
    assert.ok(log.maxSettleMs <= 10 * 200);
    assert.deepEqual(
      [...log.errorsByName.keys()].filter((name) => name !== "BackendError"),
      [],
    );
    assert.ok(servedAfter < 15_000, "served once loaded");
    assert.deepEqual(guard.unhandled, []);
  });

  it('failedReads: "miss" answers reads from a dead Redis as misses, still rejects writes, and reports both', async () => {
    const server = await RedisServer.start();
    cleanups.push(() => server.stop());
    const reported: string[] = [];
    const cache = new Cache<string>({
      backend: `${server.url(0)}?timeout=200`,
      serializer: "json://",
      failedReads: "miss",
      onError: (error, { operation }) => reported.push(`${error.name} ${operation}`),
    });
    cleanups.push(() => cache.close());
    await cache.set("k", "v");
    await server.crash();
    assert.equal(await cache.get("k", "fallback"), "fallback");
    assert.deepEqual(await cache.getMany("k", "j"), new Map());
    assert.equal(await cache.has("k"), false);
    await assert.rejects(cache.set("k", "w"), (error: unknown) => (error as Error).name === "BackendError");
    assert.deepEqual(cache.stats, {
      failedReads: 3,
      failedWrites: 1,
      undecodableValues: 0,
      staleHits: 0,
      refreshes: 0,
      // Reads answered as misses are misses, of each key asked; writes count what was sent, failed ones too.
      hits: 0,
      misses: 3,
      nearHits: 0,
      backendHits: 0,
      writes: 2,
      deletes: 0,
      hitRatio: 0,
    });
    assert.deepEqual(reported, ["BackendError get", "BackendError getMany", "BackendError has", "BackendError set"]);
    await server.restart();
    // The restarted server is empty: writing again is what shows it is back.
    assert.ok((await recoveryTime(() => cache.set("k", "again"), 5000)) < 5000);
    assert.equal(await cache.get("k"), "again");
  });

  it("F11: a busy server gives a BackendError (BUSY) at once, and recovers after SCRIPT KILL", async () => {
    const server = await RedisServer.start();
    cleanups.push(() => server.stop());
    const backend = backendFor(`${server.url(0)}?timeout=500`);
    await backend.set("k", "v", {});
    const runner = createClient({ url: server.url(0) });
    runner.on("error", () => {});
    await runner.connect();
    cleanups.push(async () => {
      runner.destroy();
    });
    void runner.sendCommand(["EVAL", "while true do end", "0"]).catch(() => {});
    await sleep(400);
    const started = performance.now();
    await assert.rejects(backend.get("k"), /BUSY/);
    const busyMs = performance.now() - started;
    const killer = createClient({ url: server.url(0) });
    await killer.connect();
    await killer.sendCommand(["SCRIPT", "KILL"]);
    killer.destroy();
    const recovered = await recoveryTime(() => backend.get("k"), 2000);
    console.log(
      `# F11: BUSY reported in ${busyMs.toFixed(1)} ms; recovered ${recovered.toFixed(0)} ms after SCRIPT KILL`,
    );
    assert.ok(busyMs < 500);
    assert.ok(recovered <= 1000);
  });
});
