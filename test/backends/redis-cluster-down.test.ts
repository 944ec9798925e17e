/**
 * reliability.md F16 c: a Redis Cluster of three masters without replicas loses one (SIGKILL). Until the
 * others agree it has failed, only its own keys fail; then the cluster refuses every command
 * (`cluster-require-full-coverage yes`, the default) with CLUSTERDOWN: each call fails as a BackendError that
 * names it, within its deadline, and none hangs.
 */
import assert from "node:assert/strict";
import { after, it } from "node:test";
import { RedisBackend } from "../../src/backends/redis/backend.js";
import { loadSlotFunction } from "../../src/backends/redis/drivers/driver.js";
import { Cache } from "../../src/cache/cache.js";
import { BackendError } from "../../src/errors.js";
import { RedisCluster } from "../support/redis-cluster.js";
import { needsRedis, rawCommand } from "../support/redis-server.js";

const requirement = needsRedis();
const cluster = requirement.skip === undefined ? await RedisCluster.start() : undefined;
after(async () => {
  await cluster?.stop();
});

it(
  "a master lost without a replica: CLUSTERDOWN as a typed error within the deadline (F16 c)",
  requirement,
  async () => {
    if (cluster === undefined) return;
    const TIMEOUT = 500;
    await using cache = new Cache<number>({
      backend: new RedisBackend({ url: cluster.url(), timeout: TIMEOUT, breakerThreshold: 0 }),
      serializer: "json://",
    });
    const keys = Array.from({ length: 30 }, (_, index) => `key${String(index)}`);
    await cache.setMany(keys.map((key, index): [string, number] => [key, index]));
    assert.equal((await cache.getMany(...keys)).size, keys.length);

    const [, , victim] = cluster.nodes;
    const slotOf = loadSlotFunction();
    const owners = await cluster.topology();
    const ownerOf = (key: string): number | undefined =>
      owners.find(({ slots }) => slots.some(([start, end]) => start <= slotOf(key) && slotOf(key) <= end))?.port;
    const onLiveNodes = keys.filter((key) => ownerOf(key) !== victim?.port);
    assert.ok(onLiveNodes.length > 0 && onLiveNodes.length < keys.length);
    await victim?.crash();

    /** One get of every key: how long the round took and what each call failed with (all must fail typed). */
    const attempt = async (): Promise<{ ms: number; errors: unknown[] }> => {
      const started = performance.now();
      const outcomes = await Promise.allSettled(keys.map((key) => cache.get(key)));
      return {
        ms: performance.now() - started,
        errors: outcomes.flatMap((outcome) => (outcome.status === "rejected" ? [outcome.reason as unknown] : [])),
      };
    };
    let clusterDown: BackendError | undefined;
    const deadline = Date.now() + 20_000;
    const slowest: number[] = [];
    const seen = new Set<string>();
    let round = 0;
    while (clusterDown === undefined && Date.now() < deadline) {
      const { ms, errors } = await attempt();
      slowest.push(ms);
      // Until the others agree the master failed (cluster-node-timeout 2 s), only its own keys fail: a read
      // batched with its keys in the same tick does not fail with them.
      if (round++ === 0) assert.equal(errors.length, keys.length - onLiveNodes.length);
      assert.ok(errors.length > 0, "the dead master's keys answered");
      for (const error of errors) {
        assert.ok(error instanceof BackendError, `expected a BackendError, got ${String(error)}`);
        if (/CLUSTERDOWN/.test(error.message)) clusterDown = error;
        else seen.add(error.message.replace(/\d+/g, "N"));
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const states = await Promise.all(
      cluster.nodes.slice(0, 2).map((node) => rawCommand(node.port, "CLUSTER INFO", 1000, true)),
    );
    console.log(
      `# F16c: ${String(slowest.length)} rounds of 30 gets until CLUSTERDOWN; the slowest round settled in ${Math.max(...slowest).toFixed(0)} ms; cluster_state on the others: ${states.map((info) => /cluster_state:(\w+)/.exec(info)?.[1] ?? "?").join(", ")}`,
    );
    assert.ok(clusterDown !== undefined, `no CLUSTERDOWN within 20 s: ${[...seen].join("; ")}`);
    assert.ok(Math.max(...slowest) < TIMEOUT + 300, `a round took ${String(Math.max(...slowest))} ms`);
    // Writes and bulk reads fail typed within the deadline too (CLUSTERDOWN, or an offline node while
    // node-redis looks for the slots again).
    for (const operation of [() => cache.set(onLiveNodes[0] as string, 1), () => cache.getMany(...keys)]) {
      const started = performance.now();
      await assert.rejects(operation(), BackendError);
      assert.ok(performance.now() - started < TIMEOUT + 300);
    }
  },
);
