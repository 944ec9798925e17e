/**
 * cachetory against its peers, in one process run, on one private redis-server: `npm run bench`.
 * Every contestant reads the same 1 KB value; where a library has a choice of serializer, JSON is used
 * for Redis (what the peers do by default) and nothing for memory tiers that store references. Each
 * measurement warms up, then times only the operation, and reports ops/s, p50/p99 latency and the
 * ratio of the contestant to cachetory. Results go to bench/results/latest.json and an SVG chart.
 */
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { type CacheEntry, cachified } from "@epic-web/cachified";
import KeyvRedis from "@keyv/redis";
import { BentoCache, bentostore } from "bentocache";
import { memoryDriver } from "bentocache/drivers/memory";
import { redisDriver } from "bentocache/drivers/redis";
import { createCache } from "cache-manager";
import { Cacheable } from "cacheable";
import { Cache, cached, SyncCache } from "cachetory";
import { RedisBackend } from "cachetory/backends";
import { Redis as IoRedis } from "ioredis";
import { Keyv } from "keyv";
import { LRUCache } from "lru-cache";
import { createClient } from "redis";
import { createClient as createClient5 } from "redis5";
import { RedisServer } from "../../test/support/redis-server.js";
import { renderChart } from "./chart.js";

type Operation = () => unknown;

interface Result {
  readonly scenario: string;
  readonly contestant: string;
  readonly opsPerSecond: number;
  readonly p50Microseconds: number;
  readonly p99Microseconds: number;
  ratio?: number;
}

const WARM_UP_MS = 300;
const MEASURE_MS = Number(process.env["BENCH_MS"] ?? 1500);
const VALUE = JSON.stringify({ text: "x".repeat(1000) }).slice(0, 1024);
const results: Result[] = [];

function percentile(sorted: Float64Array, fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

/**
 * Runs `operation` from `concurrency` loops for the measuring window; latencies are timed per call
 * (per batch of 100 for synchronous calls, whose cost is below the timer's resolution).
 */
async function measure(scenario: string, contestant: string, operation: Operation, concurrency = 1): Promise<void> {
  const run = async (milliseconds: number, latencies: number[] | undefined): Promise<number> => {
    let count = 0;
    const until = performance.now() + milliseconds;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < until) {
          const started = performance.now();
          const first = operation();
          if (first instanceof Promise) {
            await first;
            count++;
            latencies?.push(performance.now() - started);
          } else {
            for (let index = 1; index < 100; index++) operation();
            count += 100;
            latencies?.push((performance.now() - started) / 100);
            // Let other loops and timers run between batches.
            if (count % 100_000 === 0) await new Promise((resolve) => setImmediate(resolve));
          }
        }
      }),
    );
    return count;
  };
  await run(WARM_UP_MS, undefined);
  const latencies: number[] = [];
  const started = performance.now();
  const count = await run(MEASURE_MS, latencies);
  const seconds = (performance.now() - started) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  results.push({
    scenario,
    contestant,
    opsPerSecond: count / seconds,
    p50Microseconds: percentile(sorted, 0.5) * 1000,
    p99Microseconds: percentile(sorted, 0.99) * 1000,
  });
}

const server = await RedisServer.start();
const redisUrl = server.url(0);
const closers: (() => unknown)[] = [];

// Memory tiers: the value is stored once and read back.
{
  const scenario = "memory get hit";
  const cache = new Cache<string>({ backend: "memory://", serializer: "noop://" });
  const syncCache = SyncCache.memory<string>();
  const lru = new LRUCache<string, string>({ max: 10_000 });
  const keyv = new Keyv<string>();
  const manager = createCache();
  const cacheable = new Cacheable();
  const bento = new BentoCache({
    default: "memory",
    stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000, serialize: false })) },
  });
  await cache.set("k", VALUE);
  syncCache.set("k", VALUE);
  lru.set("k", VALUE);
  await keyv.set("k", VALUE);
  await manager.set("k", VALUE);
  await cacheable.set("k", VALUE);
  await bento.set({ key: "k", value: VALUE });
  await measure(scenario, "cachetory Cache", () => cache.get("k"));
  await measure(scenario, "cachetory SyncCache", () => syncCache.get("k"));
  await measure(scenario, "lru-cache (raw, the limit)", () => lru.get("k"));
  await measure(scenario, "keyv", () => keyv.get("k"));
  await measure(scenario, "cache-manager", () => manager.get("k"));
  await measure(scenario, "cacheable", () => cacheable.get("k"));
  await measure(scenario, "bentocache", () => bento.get({ key: "k" }));
  closers.push(
    () => cache.close(),
    () => bento.disconnect(),
  );

  const memoScenario = "memoized hit (memory)";
  const getUser = cached(cache, { name: "getUser" })(async (id: number) => `${VALUE}${String(id)}`);
  const cachifiedStore = new LRUCache<string, CacheEntry>({ max: 10_000 });
  await getUser(1);
  await measure(memoScenario, "cachetory cached", () => getUser(1));
  await measure(memoScenario, "@epic-web/cachified", () =>
    cachified({ key: "user:1", cache: cachifiedStore, ttl: 60_000, getFreshValue: async () => `${VALUE}1` }),
  );
  await measure(memoScenario, "bentocache getOrSet", () =>
    bento.getOrSet({ key: "user:1", ttl: "1m", factory: async () => `${VALUE}1` }),
  );
  await measure(memoScenario, "cache-manager wrap", () => manager.wrap("user:1", async () => `${VALUE}1`, 60_000));
}

// Redis: every contestant on the same server, JSON where the library serializes.
{
  const raw = createClient({ url: redisUrl });
  await raw.connect();
  // node-redis 5, which cachetory also supports: the peers built on it (keyv, cache-manager) inherit its speed.
  const raw5 = createClient5({ url: redisUrl });
  await raw5.connect();
  // node-redis 6 without its default per-command timeout (an AbortSignal per command), as cachetory runs it.
  const rawNoTimeout = createClient({ url: redisUrl, commandOptions: { timeout: 0 } });
  await rawNoTimeout.connect();
  const io = new IoRedis(server.port, "127.0.0.1");
  const cache = new Cache<string>({ backend: redisUrl, serializer: "json://" });
  const cacheOn5 = new Cache<string>({
    backend: new RedisBackend({ client: createClient5({ url: redisUrl }), closeClient: true }),
    serializer: "json://",
  });
  const keyv = new Keyv<string>({ store: new KeyvRedis(redisUrl), namespace: undefined, useKeyPrefix: false });
  const manager = createCache({ stores: [new Keyv({ store: new KeyvRedis(redisUrl) })] });
  const bento = new BentoCache({
    default: "redis",
    stores: { redis: bentostore().useL2Layer(redisDriver({ connection: { host: "127.0.0.1", port: server.port } })) },
  });
  await raw.set("k", VALUE);
  await cache.set("json", VALUE);
  await keyv.set("k", VALUE);
  await manager.set("k", VALUE);
  await bento.set({ key: "k", value: VALUE });
  for (const concurrency of [1, 64]) {
    const scenario = `Redis get hit, ${String(concurrency)} in flight`;
    await measure(scenario, "cachetory Cache", () => cache.get("json"), concurrency);
    await measure(scenario, "cachetory Cache (node-redis 5)", () => cacheOn5.get("json"), concurrency);
    await measure(scenario, "node-redis (raw GET)", () => raw.get("k"), concurrency);
    await measure(scenario, "node-redis 6, no timeout (raw)", () => rawNoTimeout.get("k"), concurrency);
    await measure(scenario, "node-redis 5 (raw GET)", () => raw5.get("k"), concurrency);
    await measure(scenario, "ioredis (raw GET)", () => io.get("k"), concurrency);
    await measure(scenario, "keyv + @keyv/redis", () => keyv.get("k"), concurrency);
    await measure(scenario, "cache-manager (keyv redis)", () => manager.get("k"), concurrency);
    await measure(scenario, "bentocache (redis)", () => bento.get({ key: "k" }), concurrency);
  }
  {
    const scenario = "Redis set with TTL, 64 in flight";
    await measure(scenario, "cachetory Cache", () => cache.set("json", VALUE, { timeToLive: 60_000 }), 64);
    await measure(scenario, "node-redis (raw SET PX)", () => raw.set("k", VALUE, { PX: 60_000 }), 64);
    await measure(scenario, "node-redis 6, no timeout (raw)", () => rawNoTimeout.set("k", VALUE, { PX: 60_000 }), 64);
    await measure(scenario, "keyv + @keyv/redis", () => keyv.set("k", VALUE, 60_000), 64);
    await measure(scenario, "cache-manager (keyv redis)", () => manager.set("k", VALUE, 60_000), 64);
    await measure(scenario, "bentocache (redis)", () => bento.set({ key: "k", value: VALUE, ttl: "1m" }), 64);
  }
  {
    const scenario = "Redis getMany of 100 keys";
    const keys = Array.from({ length: 100 }, (_, index) => `many:${String(index)}`);
    await cache.setMany(new Map(keys.map((key) => [key, VALUE])));
    await raw.mSet(keys.map((key) => [key, VALUE] as [string, string]));
    await measure(scenario, "cachetory Cache", () => cache.getMany(...keys));
    await measure(scenario, "node-redis (raw MGET)", () => raw.mGet(keys));
    await measure(scenario, "node-redis 6, no timeout (raw)", () => rawNoTimeout.mGet(keys));
    await measure(scenario, "keyv + @keyv/redis", () => keyv.getMany(keys));
    await measure(scenario, "cache-manager (keyv redis)", () => manager.mget(keys));
  }
  closers.push(
    () => cache.close(),
    () => cacheOn5.close(),
    () => raw.destroy(),
    () => raw5.destroy(),
    () => rawNoTimeout.destroy(),
    () => io.disconnect(),
    () => keyv.disconnect(),
    () => manager.disconnect(),
    () => bento.disconnect(),
  );
}

for (const close of closers) await close();
await server.stop();

// Ratios against cachetory in each scenario (the first contestant measured).
for (const scenario of new Set(results.map((result) => result.scenario))) {
  const inScenario = results.filter((result) => result.scenario === scenario);
  const ours = inScenario[0]?.opsPerSecond ?? Number.NaN;
  for (const result of inScenario) result.ratio = result.opsPerSecond / ours;
}

const machine = `${cpus()[0]?.model ?? "unknown CPU"} × ${String(cpus().length)}, Node ${process.version}`;
console.log(`cachetory against its peers (${machine}; ${String(MEASURE_MS)} ms per contestant)\n`);
for (const scenario of new Set(results.map((result) => result.scenario))) {
  console.log(scenario);
  console.log("  contestant                     ops/s        p50 µs     p99 µs   × cachetory");
  for (const result of results.filter((entry) => entry.scenario === scenario)) {
    console.log(
      `  ${result.contestant.padEnd(28)} ${result.opsPerSecond.toFixed(0).padStart(11)} ${result.p50Microseconds.toFixed(1).padStart(11)} ${result.p99Microseconds.toFixed(1).padStart(10)}   ${(result.ratio ?? Number.NaN).toFixed(2).padStart(6)}`,
    );
  }
  console.log("");
}
const directory = new URL("../results/", import.meta.url);
writeFileSync(
  new URL("latest.json", directory),
  `${JSON.stringify({ machine, measuredAt: new Date().toISOString(), results }, null, 2)}\n`,
);
writeFileSync(new URL("latest.svg", directory), renderChart(results, machine));
