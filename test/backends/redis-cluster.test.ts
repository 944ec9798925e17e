import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { Cluster as IoRedisCluster } from "ioredis";
import { createClient, createCluster } from "redis";
import { RedisBackend } from "../../src/backends/redis/backend.js";
import { Cache } from "../../src/cache/cache.js";
import { fromUrl } from "../../src/backends/registry.js";
import { loadSlotFunction } from "../../src/backends/redis/drivers/driver.js";
import { runBackendConformance } from "../support/conformance.js";
import { RedisCluster } from "../support/redis-cluster.js";
import { rawCommand, redisUnavailableReason } from "../support/redis-server.js";

const unavailable = redisUnavailableReason();
const cluster = unavailable === undefined ? await RedisCluster.start() : undefined;
after(async () => {
  await cluster?.stop();
});

const onCluster = { timeScale: 3, capabilities: { locks: true } } as const;

if (cluster === undefined) {
  it("Redis Cluster backend", { skip: unavailable }, () => {});
} else {
  const seeds = cluster.nodes.map((node) => ({ socket: { host: "127.0.0.1", port: node.port } }));

  runBackendConformance(
    "redis+cluster:// (from a URL)",
    async () => {
      const backend = fromUrl(cluster.url());
      await backend.clear("");
      return backend;
    },
    onCluster,
  );

  runBackendConformance(
    "redis+cluster:// (an injected node-redis cluster)",
    async () => {
      const backend = new RedisBackend({ client: createCluster({ rootNodes: seeds }), closeClient: true });
      await backend.clear("");
      return backend;
    },
    onCluster,
  );

  runBackendConformance(
    "redis+cluster:// (an injected ioredis cluster)",
    async () => {
      const client = new IoRedisCluster(
        cluster.nodes.map((node) => ({ host: "127.0.0.1", port: node.port })),
        { lazyConnect: true },
      );
      const backend = new RedisBackend({ client, closeClient: true });
      await backend.clear("");
      return backend;
    },
    onCluster,
  );

  describe("getOrSet with lock distributed on a cluster", () => {
    it("two instances compute each key once, locks and values in different slots; fenced refreshes land", async () => {
      const instances = [0, 1].map(() => new Cache<unknown>({ backend: cluster.url(), serializer: "json://" }));
      try {
        await instances[0]?.clear();
        const keys = ["user:1", "user:2", "{org}:7", "{org}:8", "stale"];
        const calls = new Map<string, number>();
        const options = { timeToLive: 30, grace: "1m", lock: "distributed" } as const;
        const factory = async ({ key }: { key: string }) => {
          calls.set(key, (calls.get(key) ?? 0) + 1);
          await new Promise((resolve) => setTimeout(resolve, 100));
          return `${key} v${String(calls.get(key))}`;
        };
        await Promise.all(
          instances.flatMap((cache) =>
            keys.flatMap((key) => [1, 2, 3].map(() => cache.getOrSet(key, factory, options))),
          ),
        );
        // Fresh for 30 ms only: a waiter still takes the value its holder wrote after it began waiting.
        assert.deepEqual([...calls.values()], [1, 1, 1, 1, 1]);
        // In grace: one refresh, under the lock, written fenced over the older entry.
        await new Promise((resolve) => setTimeout(resolve, 40));
        const refreshed = await Promise.all(instances.map((cache) => cache.getOrSet("stale", factory, options)));
        assert.deepEqual(refreshed, ["stale v2", "stale v2"]);
        assert.equal(await instances[1]?.get("stale"), "stale v2");
      } finally {
        await instances[0]?.clear();
        await Promise.all(instances.map((cache) => cache.close()));
      }
    });
  });

  describe("clear() as the first operation of a new cluster backend", () => {
    const url = cluster.url();
    const ports = cluster.nodes.map((node) => node.port);
    const inspectors = cluster.nodes.map((node) => createClient({ url: node.url(0) }));
    before(async () => {
      await Promise.all(inspectors.map((client) => client.connect()));
    });
    after(() => {
      for (const client of inspectors) client.destroy();
    });

    async function plant(count: number, prefix: string): Promise<void> {
      const writer = new RedisBackend({ url });
      await writer.setMany(
        Array.from({ length: count }, (_, index) => [`${prefix}${String(index)}`, "1"] as const),
        undefined,
      );
      await writer.close();
    }
    const total = async (): Promise<number> =>
      (await Promise.all(inspectors.map((client) => client.dbSize()))).reduce((sum, count) => sum + count, 0);

    const makers: [string, () => RedisBackend][] = [
      ["from a URL", () => new RedisBackend({ url })],
      [
        "an injected node-redis cluster",
        () => new RedisBackend({ client: createCluster({ rootNodes: seeds }), closeClient: true }),
      ],
      [
        "an injected ioredis cluster",
        () =>
          new RedisBackend({
            client: new IoRedisCluster(
              ports.map((port) => ({ host: "127.0.0.1", port })),
              { lazyConnect: true },
            ),
            closeClient: true,
          }),
      ],
    ];
    for (const [name, make] of makers) {
      it(`deletes on every master, with and without a prefix (${name})`, async () => {
        await plant(90, "first:");
        await plant(10, "other:");
        const prefixed = make();
        await prefixed.clear("first:");
        await prefixed.close();
        assert.equal(await total(), 10);
        const whole = make();
        await whole.clear("");
        await whole.close();
        assert.equal(await total(), 0);
      });
    }
  });

  describe("Redis Cluster batches", () => {
    const inspectors = cluster.nodes.map((node) => createClient({ url: node.url(0) }));
    let backend: RedisBackend;
    before(async () => {
      await Promise.all(inspectors.map((client) => client.connect()));
      backend = new RedisBackend({ url: cluster.url() });
    });
    after(async () => {
      await backend.close();
      for (const client of inspectors) client.destroy();
    });

    /** Calls of `command` summed over every node, from INFO commandstats. */
    async function calls(command: string): Promise<number> {
      const infos = await Promise.all(inspectors.map((client) => client.info("commandstats")));
      return infos.reduce(
        (sum, info) => sum + Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, "m").exec(info)?.[1] ?? 0),
        0,
      );
    }

    it("splits a batch across slots by hash slot and reads it back whole", async () => {
      const keys = Array.from({ length: 200 }, (_, index) => `spread:${String(index)}`);
      await backend.setMany(
        keys.map((key) => [key, key]),
        60_000,
      );
      const found = await backend.getMany(keys);
      assert.equal(found.size, 200);
      assert.deepEqual(found.get("spread:42"), Buffer.from("spread:42"));
      const counts = await Promise.all(inspectors.map((client) => client.dbSize()));
      assert.ok(counts.filter((count) => count > 0).length === 3, `keys on every master: ${counts.join(", ")}`);
      assert.equal(await backend.deleteMany(keys), 200);
    });

    it("sends the gets of one tick as one MGET per slot, duplicates included", async () => {
      const keys = Array.from({ length: 30 }, (_, index) => `tick:${String(index)}`);
      await backend.setMany(
        keys.map((key) => [key, key]),
        60_000,
      );
      const asked = [...keys, "tick:3", "tick:absent", "tick:3"];
      const before = { get: await calls("get"), mget: await calls("mget") };
      const values = await Promise.all(asked.map((key) => backend.get(key)));
      assert.deepEqual(
        values.map((value) => value?.toString()),
        asked.map((key) => (key === "tick:absent" ? undefined : key)),
      );
      const slotOf = loadSlotFunction();
      assert.equal((await calls("mget")) - before.mget, new Set(asked.map((key) => slotOf(key))).size);
      assert.equal((await calls("get")) - before.get, 0);
      assert.equal(await backend.deleteMany(keys), 30);
    });

    it("keeps keys that share a {hash tag} in one slot: one MSET, one MGET, one transaction", async () => {
      const keys = Array.from({ length: 50 }, (_, index) => `{user:1}:${String(index)}`);
      const before = { mset: await calls("mset"), mget: await calls("mget"), exec: await calls("exec") };
      await backend.setMany(
        keys.map((key) => [key, "v"]),
        undefined,
      );
      await backend.setMany(
        keys.map((key) => [key, "w"]),
        60_000,
      );
      assert.equal((await backend.getMany(keys)).size, 50);
      assert.equal((await calls("mset")) - before.mset, 1);
      assert.equal((await calls("mget")) - before.mget, 1);
      assert.equal((await calls("exec")) - before.exec, 1);
    });

    it("clears a prefix on every master and leaves other keys", async () => {
      await backend.setMany(
        Array.from({ length: 300 }, (_, index) => [`gone:${String(index)}`, "1"] as const),
        undefined,
      );
      await backend.set("stays", "1", {});
      await backend.clear("gone:");
      const counts = await Promise.all(inspectors.map((client) => client.dbSize()));
      assert.equal(
        counts.reduce((sum, count) => sum + count, 0),
        1 + (await backend.getMany(Array.from({ length: 50 }, (_, index) => `{user:1}:${String(index)}`))).size,
      );
    });
  });

  // Last: it moves a slot to another master for good.
  describe("a slot being migrated (MIGRATING on its owner, IMPORTING on the target)", () => {
    const inspectors = cluster.nodes.map((node) => createClient({ url: node.url(0) }));
    before(async () => {
      await Promise.all(inspectors.map((client) => client.connect()));
    });
    after(() => {
      for (const client of inspectors) client.destroy();
    });

    it("two keys of the slot read in one tick, getMany, deleteMany, and setMany while it completes", async () => {
      const slot = loadSlotFunction()("{m}a");
      const ids = await Promise.all(inspectors.map((client) => client.sendCommand<string>(["CLUSTER", "MYID"])));
      const slots = await inspectors[0]?.sendCommand<[number, number, [string, number, string]][]>([
        "CLUSTER",
        "SLOTS",
      ]);
      const ownerId = slots?.find(([start, end]) => start <= slot && slot <= end)?.[2][2];
      const ownerIndex = ids.indexOf(ownerId as string);
      const targetIndex = (ownerIndex + 1) % ids.length;
      const owner = inspectors[ownerIndex] as (typeof inspectors)[number];
      const target = inspectors[targetIndex] as (typeof inspectors)[number];
      const backend = new RedisBackend({ url: cluster.url(), timeout: 3000 });
      try {
        await backend.set("{m}a", "1", {});
        await target.sendCommand(["CLUSTER", "SETSLOT", String(slot), "IMPORTING", ownerId as string]);
        await owner.sendCommand(["CLUSTER", "SETSLOT", String(slot), "MIGRATING", ids[targetIndex] as string]);
        // {m}a is still on its owner, {m}b on neither: a command of both is TRYAGAIN.
        await assert.rejects(owner.sendCommand(["MGET", "{m}a", "{m}b"]), /TRYAGAIN/);
        const [a, b] = await Promise.all([backend.get("{m}a"), backend.get("{m}b")]);
        assert.deepEqual([a?.toString(), b], ["1", undefined]);
        const found = await backend.getMany(["{m}a", "{m}b"]);
        assert.deepEqual(
          [...found].map(([key, value]) => [key, value.toString()]),
          [["{m}a", "1"]],
        );
        assert.equal(await backend.deleteMany(["{m}a", "{m}b"]), 1);
        await backend.set("{m}a", "1", {});
        // setMany is atomic per slot, so it is sent again until the migration ends (here, 50 ms on).
        const written = backend.setMany(
          [
            ["{m}a", "2"],
            ["{m}c", "3"],
          ],
          undefined,
        );
        await new Promise((resolve) => setTimeout(resolve, 50));
        const targetPort = cluster.nodes[targetIndex]?.port as number;
        const keys = await owner.sendCommand<string[]>(["CLUSTER", "GETKEYSINSLOT", String(slot), "100"]);
        if (keys.length > 0) {
          await owner.sendCommand(["MIGRATE", "127.0.0.1", String(targetPort), "", "0", "5000", "KEYS", ...keys]);
        }
        for (const client of [target, owner, ...inspectors.filter((each) => each !== owner && each !== target)]) {
          await client.sendCommand(["CLUSTER", "SETSLOT", String(slot), "NODE", ids[targetIndex] as string]);
        }
        await written;
        const after = await backend.getMany(["{m}a", "{m}c"]);
        assert.deepEqual([...after.values()].map(String), ["2", "3"]);
      } finally {
        await backend.close();
      }
    });
  });
}

if (cluster !== undefined) {
  describe("resharding under load (F16 a)", () => {
    // Runs last: it moves slots between the masters.
    it("64 callers read and write while slots move: MOVED, ASK and TRYAGAIN never surface, no wrong value", async () => {
      const ids = await Promise.all(
        cluster.nodes.map(async (node) => (await rawCommand(node.port, "CLUSTER MYID", 1000, true)).split("\r\n")[1]),
      );
      const backend = new RedisBackend({ url: cluster.url(), timeout: 2000 });
      await using cache = new Cache<{ key: string; version: number }>({ backend, serializer: "json://" });
      const CALLERS = 64;
      const KEYS_PER_CALLER = 8;
      const errors = new Map<string, number>();
      const wrong: string[] = [];
      let operations = 0;
      let moving = true;
      // Half the callers keep their keys in eight hot slots (a {hash tag} each, with 400 more keys there, so
      // that moving one takes a while); the others spread theirs over the whole key space.
      const HOT_TAGS = Array.from({ length: 8 }, (_, tag) => `{hot${String(tag)}}`);
      for (const tag of HOT_TAGS) {
        await cache.setMany(
          Array.from({ length: 400 }, (_, index): [string, { key: string; version: number }] => [
            `${tag}:fill${String(index)}`,
            { key: `${tag}:fill${String(index)}`, version: 0 },
          ]),
        );
      }
      const caller = async (index: number): Promise<void> => {
        const tag = index % 2 === 0 ? (HOT_TAGS[(index / 2) % HOT_TAGS.length] as string) : "";
        const keys = Array.from({ length: KEYS_PER_CALLER }, (_, key) => `${tag}c${String(index)}:k${String(key)}`);
        /** Per key: the last version acknowledged, and the highest sent (a timed-out write may land later). */
        const acknowledged = new Map<string, number>();
        const sent = new Map<string, number>();
        const check = (key: string, value: { key: string; version: number } | undefined): void => {
          const low = acknowledged.get(key) ?? 0;
          const high = sent.get(key) ?? 0;
          if (value === undefined ? low > 0 : value.key !== key || value.version < low || value.version > high) {
            wrong.push(`${key}: read ${JSON.stringify(value)}, acknowledged ${String(low)}, sent ${String(high)}`);
          }
        };
        let round = 0;
        while (moving) {
          const key = keys[round % keys.length] as string;
          const other = keys[(round + 3) % keys.length] as string;
          try {
            switch (round++ % 4) {
              case 0: {
                const version = (sent.get(key) ?? 0) + 1;
                sent.set(key, version);
                await cache.set(key, { key, version });
                acknowledged.set(key, version);
                break;
              }
              case 1:
                check(key, await cache.get(key));
                break;
              case 2: {
                const found = await cache.getMany(...keys);
                for (const each of keys) check(each, found.get(each));
                break;
              }
              default: {
                const versions = [key, other].map((each) => (sent.get(each) ?? 0) + 1);
                sent.set(key, versions[0] as number);
                sent.set(other, versions[1] as number);
                await cache.setMany([
                  [key, { key, version: versions[0] as number }],
                  [other, { key: other, version: versions[1] as number }],
                ]);
                acknowledged.set(key, versions[0] as number);
                acknowledged.set(other, versions[1] as number);
              }
            }
            operations++;
          } catch (error) {
            const name =
              error instanceof Error ? `${error.name}: ${error.message.replace(/\d+/g, "N")}` : String(error);
            errors.set(name, (errors.get(name) ?? 0) + 1);
          }
        }
      };
      const load = Promise.all(Array.from({ length: CALLERS }, (_, index) => caller(index)));
      const reshard = async (from: number, to: number): Promise<void> => {
        await promisify(execFile)(
          "redis-cli",
          [
            "--cluster",
            "reshard",
            `127.0.0.1:${String(cluster.nodes[0]?.port)}`,
            "--cluster-from",
            ids[from] as string,
            "--cluster-to",
            ids[to] as string,
            "--cluster-slots",
            "1500",
            "--cluster-yes",
          ],
          { timeout: 120_000 },
        );
      };
      /** The redirections and refusals the masters sent, from INFO errorstats: proof the load met the moves. */
      const redirections = async (): Promise<Record<string, number>> => {
        const counts: Record<string, number> = { MOVED: 0, ASK: 0, TRYAGAIN: 0 };
        for (const node of cluster.nodes) {
          const info = await rawCommand(node.port, "INFO errorstats", 1000, true);
          for (const match of info.matchAll(/errorstat_(MOVED|ASK|TRYAGAIN):count=(\d+)/g)) {
            counts[match[1] as string] = (counts[match[1] as string] ?? 0) + Number(match[2]);
          }
        }
        return counts;
      };
      const before = await redirections();
      const started = performance.now();
      try {
        await new Promise((resolve) => setTimeout(resolve, 300));
        const slotOf = loadSlotFunction();
        for (const [index, tag] of HOT_TAGS.entries()) {
          const topology = await cluster.topology();
          const owner = topology.findIndex(({ slots }) =>
            slots.some(([start, end]) => start <= slotOf(tag) && slotOf(tag) <= end),
          );
          const target = topology[(owner + 1 + (index % 2)) % topology.length];
          await cluster.migrateSlot(slotOf(tag), target?.port ?? 0);
        }
        await reshard(0, 1);
        await reshard(1, 2);
        await new Promise((resolve) => setTimeout(resolve, 300));
      } finally {
        moving = false;
        await load;
      }
      const elapsed = performance.now() - started;
      const after = await redirections();
      const met = Object.fromEntries(Object.entries(after).map(([name, count]) => [name, count - (before[name] ?? 0)]));
      console.log(
        `# F16a: ${String(operations)} operations by ${String(CALLERS)} callers while 8 hot slots moved key by key, then 3000 slots by redis-cli, in ${elapsed.toFixed(0)} ms; replies met ${JSON.stringify(met)}; errors ${JSON.stringify(Object.fromEntries(errors))}`,
      );
      assert.ok((met["MOVED"] ?? 0) > 0 && (met["ASK"] ?? 0) > 0, "the load never met a slot on the move");
      assert.deepEqual(wrong, []);
      for (const name of errors.keys()) assert.match(name, /^BackendError: .* timed out after/, name);
      assert.ok(operations > CALLERS * 10, `only ${String(operations)} operations`);
    });
  });
}
