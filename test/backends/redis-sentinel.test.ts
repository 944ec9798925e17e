/**
 * redis+sentinel:// against a real deployment started here: a master, a replica and three sentinels on free
 * loopback ports. The backend conformance suite (async, and sync through the worker), the errors of a bad
 * URL and of unreachable sentinels, and reliability.md F15: the master killed with SIGKILL under a write
 * load, the unavailability window, no write reported as done that the server refused, acknowledged writes
 * lost to asynchronous replication counted, and the old master back as a replica (READONLY) without a
 * single write going to it.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { createClient } from "redis";
import { RedisBackend as SyncRedisBackend } from "../../dist/esm/backends/sync/index.js";
import { RedisBackend } from "../../src/backends/redis/backend.js";
import { fromUrl } from "../../src/backends/registry.js";
import { SyncBackendAdapter } from "../../src/backends/sync-adapter.js";
import { Cache } from "../../src/cache/cache.js";
import { SyncCache } from "../../src/cache/sync-cache.js";
import { BackendError, ConfigurationError } from "../../src/errors.js";
import { runBackendConformance } from "../support/conformance.js";
import { freePort, needsRedis, rawCommand } from "../support/redis-server.js";
import { MASTER_NAME, RedisSentinelSet } from "../support/redis-sentinel.js";

const requirement = needsRedis();
const deployment = requirement.skip === undefined ? await RedisSentinelSet.start() : undefined;
after(async () => {
  await deployment?.stop();
});

function sentinelUrl(database: number, parameters = ""): string {
  if (deployment === undefined) throw new Error("no Sentinel deployment");
  return deployment.url(database, parameters);
}

describe("redis+sentinel:// URLs", () => {
  it("name the master as the path; a URL without one is a ConfigurationError that shows it redacted", () => {
    for (const url of ["redis+sentinel://127.0.0.1:26379", "redis+sentinel://:hunter2@127.0.0.1:26379/"]) {
      assert.throws(
        () => new RedisBackend({ url }),
        (error: unknown) =>
          error instanceof ConfigurationError &&
          /names the master its sentinels watch as the path/.test(error.message) &&
          !error.message.includes("hunter2"),
      );
    }
    assert.throws(() => new RedisBackend({ url: "redis+sentinel://127.0.0.1:26379/m?db=x" }), /database \(db\)/);
    assert.throws(
      () => new RedisBackend({ url: "redis+sentinel://127.0.0.1:26379/mymaster", notifyChanges: true }),
      /give the near tier a timeToLive instead/,
    );
  });

  it("with no sentinel answering, every call fails within its deadline as a BackendError", async () => {
    const port = await freePort();
    const backend = new RedisBackend({
      url: `redis+sentinel://:hunter2@127.0.0.1:${String(port)}/${MASTER_NAME}?timeout=300`,
    });
    try {
      const started = performance.now();
      await assert.rejects(backend.get("k"), (error: unknown) => {
        assert.ok(error instanceof BackendError);
        assert.ok(!error.message.includes("hunter2"), error.message);
        return true;
      });
      assert.ok(performance.now() - started < 300 + 250, `took ${String(performance.now() - started)} ms`);
    } finally {
      await backend.close();
    }
  });
});

if (deployment === undefined) {
  it("Redis Sentinel", requirement, () => {});
} else {
  const onSentinel = { timeScale: 3, capabilities: { locks: true } } as const;
  runBackendConformance(
    "redis+sentinel:// (async)",
    async () => {
      const backend = fromUrl(sentinelUrl(1));
      await backend.clear("");
      return backend;
    },
    onSentinel,
  );
  runBackendConformance(
    "redis+sentinel:// (sync, worker thread)",
    () => {
      const backend = new SyncRedisBackend({ url: sentinelUrl(2) });
      backend.clear("");
      return new SyncBackendAdapter(backend);
    },
    { timeScale: 3 },
  );

  describe("a cache over redis+sentinel://", () => {
    it("reads and writes the master named by the sentinels, async and sync", async () => {
      await using cache = new Cache<{ id: number }>({ backend: sentinelUrl(3), serializer: "json://" });
      await cache.set("user:1", { id: 1 });
      using syncCache = new SyncCache<{ id: number }>({
        backend: new SyncRedisBackend({ url: sentinelUrl(3) }),
        serializer: "json://",
      });
      assert.deepEqual(syncCache.get("user:1"), { id: 1 });
      const raw = createClient({ url: `redis://127.0.0.1:${String(await deployment.masterPort())}/3` });
      await raw.connect();
      try {
        assert.equal(await raw.get("user:1"), '{"id":1}');
      } finally {
        await raw.close();
      }
    });
  });

  describe("failover under a write load (F15)", () => {
    // Runs last: it moves the master.
    let report = "";
    after(() => {
      if (report !== "") console.log(report);
    });

    // The failover ends when a sentinel announces +switch-master, which the backend follows at once.
    it("writes resume within failover + 2 s, none reported done that Redis refused, lost acknowledged writes counted", async () => {
      const oldMaster = deployment.master;
      const oldPort = await deployment.masterPort();
      assert.equal(oldPort, oldMaster.port);
      const backend = new RedisBackend({ url: sentinelUrl(4, "&timeout=500") });
      const errors = new Map<string, number>();
      await using cache = new Cache<number>({ backend, serializer: "json://", onError: () => {} });
      await cache.clear();

      const WRITERS = 16;
      /** Per key: the versions whose set resolved, in order, and when. */
      const acknowledged = new Map<string, { version: number; at: number }[]>();
      let stopAt = Number.POSITIVE_INFINITY;
      let killedAt = Number.POSITIVE_INFINITY;
      let firstWriteAfterKill = Number.POSITIVE_INFINITY;
      const writer = async (index: number): Promise<void> => {
        const key = `w${String(index)}`;
        const versions: { version: number; at: number }[] = [];
        acknowledged.set(key, versions);
        for (let version = 1; performance.now() < stopAt; version++) {
          const started = performance.now();
          try {
            await cache.set(key, version);
            const at = performance.now();
            versions.push({ version, at });
            // Only a write sent once the old master was gone shows that writes go through again.
            if (started > killedAt && firstWriteAfterKill === Number.POSITIVE_INFINITY) firstWriteAfterKill = at;
          } catch (error) {
            const name =
              error instanceof Error ? `${error.name}: ${error.message.replace(/\d+/g, "N")}` : String(error);
            errors.set(name, (errors.get(name) ?? 0) + 1);
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        }
      };
      const load = Promise.all(Array.from({ length: WRITERS }, (_, index) => writer(index)));
      await new Promise((resolve) => setTimeout(resolve, 1000));

      const switchListener = await deployment.listenForSwitch();
      await oldMaster.crash();
      killedAt = performance.now();
      const newPort = await deployment.waitForNewMaster(oldPort, 30_000);
      const promotedAt = performance.now();
      assert.equal(newPort, deployment.replica.port);
      const switchedAt = await Promise.race([
        switchListener.announced,
        new Promise<never>((_, reject) =>
          setTimeout(() => {
            reject(new Error("no sentinel announced +switch-master"));
          }, 10_000).unref(),
        ),
      ]).finally(switchListener.stop);
      // Keep writing until writes have gone through again for a while.
      const resumeDeadline = promotedAt + 10_000;
      while (firstWriteAfterKill === Number.POSITIVE_INFINITY && performance.now() < resumeDeadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));

      // The old master comes back empty (no persistence) and the sentinels make it a replica: it answers
      // READONLY to writes, and none of ours may go there.
      await oldMaster.restart();
      await RedisSentinelSet.waitUntilReplicating(oldMaster);
      const readOnly = await rawCommand(oldMaster.port, "SET probe 1");
      await new Promise((resolve) => setTimeout(resolve, 1000));
      stopAt = performance.now();
      await load;

      // What the new master holds, against what each writer was told.
      const raw = createClient({ url: `redis://127.0.0.1:${String(newPort)}/4` });
      await raw.connect();
      let lostBeforeFailover = 0;
      // A write reported done after the promotion and missing from the new master would be one that a
      // node refused (the old master back as a replica answers READONLY) or dropped, reported as done.
      let lostAfterFailover = 0;
      try {
        for (const [key, versions] of acknowledged) {
          const stored = Number((await raw.get(key)) ?? 0);
          const last = versions.at(-1);
          // A version above the last acknowledged one is a write reported failed that went through (a
          // timeout after sending), which the deadline allows; only a lower one is a loss.
          if (last !== undefined && stored < last.version) {
            const lost = versions.filter(({ version }) => version > stored);
            lostBeforeFailover += lost.filter(({ at }) => at < promotedAt).length;
            lostAfterFailover += lost.filter(({ at }) => at >= promotedAt).length;
          }
        }
      } finally {
        await raw.close();
      }

      const writes = [...acknowledged.values()].reduce((sum, versions) => sum + versions.length, 0);
      const unavailableMs = firstWriteAfterKill - killedAt;
      const failoverMs = switchedAt - killedAt;
      report = [
        `# F15: ${String(writes)} writes acknowledged by ${String(WRITERS)} writers`,
        `# F15: master killed; a sentinel named the replica master after ${(promotedAt - killedAt).toFixed(0)} ms and announced +switch-master after ${failoverMs.toFixed(0)} ms; writes went through again after ${unavailableMs.toFixed(0)} ms (${(unavailableMs - failoverMs).toFixed(0)} ms after the announcement)`,
        `# F15: acknowledged writes lost to asynchronous replication: ${String(lostBeforeFailover)} (all acknowledged before the promotion); after it: ${String(lostAfterFailover)}`,
        `# F15: the old master back as a replica answers ${readOnly.split(" ")[0] ?? readOnly}; errors met by writers: ${JSON.stringify(Object.fromEntries(errors))}`,
      ].join("\n");
      assert.ok(Number.isFinite(firstWriteAfterKill), "writes never went through again");
      assert.ok(unavailableMs <= failoverMs + 2000, report);
      assert.equal(lostAfterFailover, 0, report);
      assert.match(readOnly, /^-READONLY/);
      for (const name of errors.keys()) assert.match(name, /^BackendError/, report);
    });
  });
}
