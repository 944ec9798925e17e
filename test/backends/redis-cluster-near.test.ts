/**
 * The near tier over a local 3-master Redis Cluster: every node's connection tracks what it reads (N1 on a
 * cluster), a connection of one node dropped empties the tier (N3), and a slot moved to another master
 * (MIGRATE, then SETSLOT NODE) leaves no entry of it behind and empties the tier once the client has
 * rediscovered the slots (N3, "a cluster slot moved").
 */
import assert from "node:assert/strict";
import { after, afterEach, describe, it } from "node:test";
import { createClient, createCluster } from "redis";
import { loadSlotFunction } from "../../src/backends/redis/drivers/driver.js";
import { RedisBackend } from "../../src/backends/redis/backend.js";
import { Cache } from "../../src/cache/cache.js";
import { NearBackend } from "../../src/layers/near.js";
import { runBackendConformance } from "../support/conformance.js";
import { RedisCluster } from "../support/redis-cluster.js";
import { redisUnavailableReason } from "../support/redis-server.js";

const unavailable = redisUnavailableReason();
const cluster = unavailable === undefined ? await RedisCluster.start() : undefined;
const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
after(async () => {
  await cluster?.stop();
});

function running(): RedisCluster {
  if (cluster === undefined) throw new Error("no cluster");
  return cluster;
}

async function until(check: () => boolean | Promise<boolean>, withinMs: number, what: string): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > withinMs) assert.fail(`${what} did not hold within ${String(withinMs)} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return performance.now() - started;
}

/** A plain cluster client of another writer. */
async function rawCluster() {
  const raw = createCluster({
    rootNodes: running().nodes.map((node) => ({ socket: { host: "127.0.0.1", port: node.port } })),
  });
  await raw.connect();
  closers.push(() => {
    raw.destroy();
  });
  return raw;
}

function nearCache(): Cache<string> {
  const cache = new Cache<string>({
    backend: `${running().url()}?timeout=3000`,
    serializer: "json://",
    prefix: "cn:",
    near: true,
  });
  closers.push(() => cache.close());
  return cache;
}

describe("near tier over Redis Cluster", unavailable === undefined ? {} : { skip: unavailable }, () => {
  runBackendConformance(
    "near tier over redis+cluster:// (notifyChanges)",
    async () => {
      const backend = new NearBackend<unknown>(
        new RedisBackend({ url: running().url(), notifyChanges: true, timeout: 3000 }),
      );
      await backend.clear("");
      return backend;
    },
    { timeScale: 3 },
  );

  it("N1: another writer's overwrites and deletes of keys on every master reach the near tier", async () => {
    const raw = await rawCluster();
    const cache = nearCache();
    const keys = Array.from({ length: 300 }, (_, index) => `k${String(index)}`);
    const slotOf = loadSlotFunction();
    assert.ok(new Set(keys.map((key) => slotOf(`cn:${key}`))).size > 100, "the keys span many slots");
    for (const key of keys) await raw.set(`cn:${key}`, '"v0"');
    await cache.getMany(...keys);
    assert.equal(cache.stats.near?.entries, keys.length);
    const windows: number[] = [];
    for (const key of keys) {
      await raw.set(`cn:${key}`, '"v1"');
      windows.push(await until(async () => (await cache.get(key)) === "v1", 1000, `the new value of ${key}`));
    }
    for (const key of keys.slice(0, 100)) {
      await raw.del(`cn:${key}`);
      windows.push(await until(async () => (await cache.get(key)) === undefined, 1000, `the deletion of ${key}`));
    }
    windows.sort((a, b) => a - b);
    console.log(
      `# N1 on a cluster: staleness p50 ${(windows[Math.floor(windows.length / 2)] ?? 0).toFixed(3)} ms, max ${(windows.at(-1) ?? 0).toFixed(3)} ms`,
    );
  });

  it("N3: one node's connection killed empties the near tier before it serves again", async () => {
    const raw = await rawCluster();
    const cache = nearCache();
    await raw.set("cn:held", '"before"');
    assert.equal(await cache.get("held"), "before");
    const owner = running().nodes.find((node) => node.port === raw.slots[loadSlotFunction()("cn:held")]?.master.port);
    assert.ok(owner, "the key's master");
    const admin = createClient({ url: owner.url(0) });
    await admin.connect();
    closers.push(() => {
      admin.destroy();
    });
    const clients = await admin.sendCommand<string>(["CLIENT", "LIST"]);
    const tracking = clients.split("\n").find((line) => /flags=\S*t/.test(line));
    await admin.sendCommand(["CLIENT", "KILL", "ID", /id=(\d+)/.exec(tracking ?? "")?.[1] ?? ""]);
    await raw.set("cn:held", '"after"');
    await until(() => (cache.stats.near?.flushes ?? 0) >= 1, 3000, "the flush");
    // Until that node's connection is back, its reads fail ("the client is offline"); none may be stale.
    await until(
      async () => {
        let seen: string | undefined;
        try {
          seen = await cache.get("held");
        } catch {
          return false;
        }
        assert.notEqual(seen, "before", "a stale value after the connection was lost");
        return seen === "after";
      },
      5000,
      "the new value once the node's connection is back",
    );
  });

  // Last: it moves a slot to another master for good.
  it("N3: a slot moved to another master leaves none of its keys near, and the tier is emptied on rediscovery", async () => {
    const raw = await rawCluster();
    const cache = nearCache();
    const slotOf = loadSlotFunction();
    const key = "{moved}k";
    const slot = slotOf(`cn:${key}`);
    await raw.set(`cn:${key}`, '"before"');
    await raw.set("cn:elsewhere", '"stays"');
    assert.equal(await cache.get(key), "before");
    assert.equal(await cache.get("elsewhere"), "stays");
    const inspectors = running().nodes.map((node) => createClient({ url: node.url(0) }));
    await Promise.all(inspectors.map((client) => client.connect()));
    closers.push(() => {
      for (const client of inspectors) client.destroy();
    });
    const ids = await Promise.all(inspectors.map((client) => client.sendCommand<string>(["CLUSTER", "MYID"])));
    const ownerPort = raw.slots[slot]?.master.port;
    const ownerIndex = running().nodes.findIndex((node) => node.port === ownerPort);
    const targetIndex = (ownerIndex + 1) % ids.length;
    const owner = inspectors[ownerIndex];
    const target = inspectors[targetIndex];
    assert.ok(owner && target);
    await target.sendCommand(["CLUSTER", "SETSLOT", String(slot), "IMPORTING", ids[ownerIndex] ?? ""]);
    await owner.sendCommand(["CLUSTER", "SETSLOT", String(slot), "MIGRATING", ids[targetIndex] ?? ""]);
    const targetPort = running().nodes[targetIndex]?.port ?? 0;
    // Every key of the slot moves (other tests may have left keys in it), as a resharding does.
    for (;;) {
      const keys = await owner.sendCommand<string[]>(["CLUSTER", "GETKEYSINSLOT", String(slot), "100"]);
      if (keys.length === 0) break;
      await owner.sendCommand(["MIGRATE", "127.0.0.1", String(targetPort), "", "0", "5000", "KEYS", ...keys]);
    }
    for (const client of [target, owner, ...inspectors.filter((each) => each !== owner && each !== target)]) {
      await client.sendCommand(["CLUSTER", "SETSLOT", String(slot), "NODE", ids[targetIndex] ?? ""]);
    }
    // The migration deleted the key on its old master: that is an invalidation.
    await until(() => cache.stats.near?.invalidations === 1, 2000, "the invalidation of the moved key");
    const flushes = cache.stats.near?.flushes ?? 0;
    // The next read goes to the old master, is MOVED, and the client rediscovers the slots.
    assert.equal(await cache.get(key), "before");
    assert.ok((cache.stats.near?.flushes ?? 0) > flushes, "the new slot map emptied the near tier (a flush)");
    assert.equal(cache.stats.near?.entries, 0);
    // The writer now writes on the new master; the near cache hears of it there.
    await until(
      async () => {
        try {
          await raw.set(`cn:${key}`, '"after"');
          return true;
        } catch {
          return false;
        }
      },
      5000,
      "the writer's write on the new master",
    );
    await until(async () => (await cache.get(key)) === "after", 2000, "the new value after the move");
    assert.equal(await cache.get("elsewhere"), "stays");
  });
});
