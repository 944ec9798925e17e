/**
 * M1 of docs/reliability.md: one of three memcached servers killed, restarted, frozen. The keys on the
 * live servers stay served; the dead server's keys fail fast, within the deadline, and come back with it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MemcachedBackend } from "../../src/backends/memcached/backend.js";
import { Cache } from "../../src/cache/cache.js";
import { BackendError } from "../../src/errors.js";
import { MemcachedServer, needsMemcached } from "../support/memcached-server.js";

const available = needsMemcached();
const TIMEOUT = 300;

describe("memcached: a server of three fails (M1)", available, () => {
  const servers: MemcachedServer[] = [];
  let backend: MemcachedBackend;
  const keys = Array.from({ length: 90 }, (_, index) => `m1:${String(index)}`);
  let victim: MemcachedServer;
  let onVictim: string[];
  let onLive: string[];

  before(async () => {
    for (let index = 0; index < 3; index++) servers.push(await MemcachedServer.start());
    backend = new MemcachedBackend({
      url: `memcached://${servers.map((server) => server.address).join(",")}`,
      timeout: TIMEOUT,
      serverRetry: 200,
      serverRetryMax: 400,
    });
    victim = servers[1] as MemcachedServer;
    onVictim = keys.filter((key) => backend.serverOf(key) === victim.address);
    onLive = keys.filter((key) => backend.serverOf(key) !== victim.address);
    assert.ok(onVictim.length > 5 && onLive.length > 30, `placement: ${String(onVictim.length)} on the victim`);
    await backend.setMany(
      keys.map((key) => [key, key]),
      undefined,
    );
  });
  after(async () => {
    await backend.close();
    await Promise.all(servers.map((server) => server.stop()));
  });

  /** Runs `call`, and checks it settled within the deadline (and a margin for a busy machine). */
  async function timed<T>(call: () => Promise<T>): Promise<{ value?: T; error?: unknown; took: number }> {
    const started = performance.now();
    try {
      const value = await call();
      return { value, took: performance.now() - started };
    } catch (error) {
      return { error, took: performance.now() - started };
    } finally {
      assert.ok(performance.now() - started < TIMEOUT + 250, `took ${String(performance.now() - started)} ms`);
    }
  }

  it("killed: the live servers' keys are read and written as before; the dead one's fail fast with BackendError", async () => {
    await victim.kill();
    const cache = new Cache<string>({ backend, serializer: "json://", failedReads: "miss" });
    for (let round = 0; round < 3; round++) {
      const reads = await Promise.all(keys.map((key) => timed(() => backend.get(key))));
      reads.forEach((read, index) => {
        const key = keys[index] as string;
        if (onVictim.includes(key)) assert.ok(read.error instanceof BackendError, `${key}: ${String(read.error)}`);
        else assert.deepEqual(read.value, Buffer.from(key), key);
      });
    }
    const write = await timed(() => backend.set(onLive[0] as string, "new", {}));
    assert.equal(write.value, true);
    const refused = await timed(() => backend.set(onVictim[0] as string, "new", {}));
    assert.match(String(refused.error), new RegExp(`memcached at ${victim.address.replace(/\./g, "\\.")}`));
    // With failedReads: "miss", a read of a dead server's key is a miss.
    assert.equal(await cache.get(onVictim[1] as string), undefined);
    const many = await timed(() => backend.getMany(onLive));
    assert.equal(many.value?.size, onLive.length);
  });

  it("restarted on its port: its keys are served again (empty, as memcached keeps nothing) after the retry delay", async () => {
    await victim.restart();
    await new Promise((resolve) => setTimeout(resolve, 450));
    const key = onVictim[0] as string;
    assert.equal(await backend.get(key), undefined);
    assert.equal(await backend.set(key, "back", {}), true);
    assert.deepEqual(await backend.get(key), Buffer.from("back"));
    for (const live of onLive.slice(1, 10)) assert.deepEqual(await backend.get(live), Buffer.from(live));
  });

  it("frozen: its calls time out within the deadline, the others' keys answer meanwhile, and it comes back", async () => {
    victim.pause();
    // A stop signal lands when the process is next scheduled: let it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    try {
      const frozen = await timed(() => backend.get(onVictim[0] as string));
      assert.ok(frozen.error instanceof BackendError, String(frozen.error));
      const [live, again] = await Promise.all([
        timed(() => backend.get(onLive[2] as string)),
        timed(() => backend.get(onVictim[1] as string)),
      ]);
      assert.deepEqual(live.value, Buffer.from(onLive[2] as string));
      assert.ok(again.error instanceof BackendError);
      // Out now: refused at once rather than waiting for a deadline.
      const fast = await timed(() => backend.get(onVictim[2] as string));
      assert.ok(
        fast.error instanceof BackendError && fast.took < TIMEOUT / 2,
        `${String(fast.error)} after ${String(fast.took)} ms`,
      );
    } finally {
      victim.resume();
    }
    await new Promise((resolve) => setTimeout(resolve, 900));
    assert.deepEqual(await backend.get(onVictim[0] as string), Buffer.from("back"));
  });
});
