/**
 * cachetory against its peers, in one process run, on one private redis-server: `npm run bench`.
 * Every contestant reads the same 1 KB value; where a library has a choice of serializer, JSON is used
 * for Redis (what the peers do by default) and nothing for memory tiers that store references. Each
 * measurement warms up, then times only the operation, and reports ops/s, p50/p99 latency and the
 * ratio of the contestant to cachetory. Then come the scenarios that are not one call's throughput
 * (see extras.ts). Results go to bench/results/latest.json, latest.svg and latest.md.
 */
import { writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { type CacheEntry, cachified } from "@epic-web/cachified";
import KeyvRedis from "@keyv/redis";
import { BentoCache, bentostore } from "bentocache";
import { memoryDriver } from "bentocache/drivers/memory";
import { redisBusDriver, redisDriver } from "bentocache/drivers/redis";
import { createCache } from "cache-manager";
import { Cacheable, KeyvCacheableMemory } from "cacheable";
import { RedisMessageProvider } from "@qified/redis";
import { Cache, cached, SyncCache } from "cachetory";
import { RedisBackend } from "cachetory/backends";
import { Redis as IoRedis } from "ioredis";
import { Keyv } from "keyv";
import { LRUCache } from "lru-cache";
import { createClient } from "redis";
import { createClient as createClient5 } from "redis5";
import { RedisServer } from "../../test/support/redis-server.js";
import { renderChart } from "./chart.js";
import {
  bytesPerEntry,
  compressorThroughput,
  crossProcessStampede,
  loopDelay,
  redisBenchmarkCeiling,
  serializerThroughput,
  stampede,
} from "./extras.js";
import { compareInRounds, MEASURE_MS, type Measurement, type Result } from "./measure.js";
import { zipfWorkload } from "./near.js";
import { type Report, renderMarkdown } from "./report.js";

const VALUE = JSON.stringify({ text: "x".repeat(1000) }).slice(0, 1024);
const MEMORY = { batch: 100 };
const results: Result[] = [];
const queued: Measurement[] = [];
/** Queues one contestant of the scenario at hand; `settle()` measures the queue in interleaved rounds. */
function run(...measurement: Measurement): void {
  queued.push(measurement);
}
async function settle(): Promise<void> {
  results.push(...(await compareInRounds(queued)));
  queued.length = 0;
}

// Bytes per entry first, while the heap holds nothing else of ours.
const memory = bytesPerEntry();

const server = await RedisServer.start();
const redisUrl = server.url(0);
const closers: (() => unknown)[] = [];

// Memory tiers: the value is stored once and read back.
{
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
  closers.push(
    () => cache.close(),
    () => bento.disconnect(),
  );
  {
    const scenario = "memory get hit";
    await cache.set("k", VALUE);
    syncCache.set("k", VALUE);
    lru.set("k", VALUE);
    await keyv.set("k", VALUE);
    await manager.set("k", VALUE);
    await cacheable.set("k", VALUE);
    await bento.set({ key: "k", value: VALUE });
    run(scenario, "cachetory Cache", () => cache.get("k"), MEMORY);
    run(scenario, "cachetory SyncCache", () => syncCache.get("k"), MEMORY);
    run(scenario, "lru-cache (raw, the limit)", () => lru.get("k"), MEMORY);
    run(scenario, "keyv", () => keyv.get("k"), MEMORY);
    run(scenario, "cache-manager", () => manager.get("k"), MEMORY);
    run(scenario, "cacheable", () => cacheable.get("k"), MEMORY);
    run(scenario, "bentocache", () => bento.get({ key: "k" }), MEMORY);
    await settle();
  }
  {
    const scenario = "memory set with TTL";
    run(scenario, "cachetory Cache", () => cache.set("t", VALUE, { timeToLive: 60_000 }), MEMORY);
    run(scenario, "cachetory SyncCache", () => syncCache.set("t", VALUE, { timeToLive: 60_000 }), MEMORY);
    run(scenario, "lru-cache (raw, the limit)", () => lru.set("t", VALUE, { ttl: 60_000 }), MEMORY);
    run(scenario, "keyv", () => keyv.set("t", VALUE, 60_000), MEMORY);
    run(scenario, "cache-manager", () => manager.set("t", VALUE, 60_000), MEMORY);
    run(scenario, "cacheable", () => cacheable.set("t", VALUE, 60_000), MEMORY);
    run(scenario, "bentocache", () => bento.set({ key: "t", value: VALUE, ttl: "1m" }), MEMORY);
    await settle();
  }
  {
    const keys = Array.from({ length: 100 }, (_, index) => `many:${String(index)}`);
    const entries = keys.map((key) => ({ key, value: VALUE, ttl: 60_000 }));
    const asMap = new Map(keys.map((key) => [key, VALUE]));
    const batch = { batch: 10 };
    const scenario = "memory setMany of 100 keys";
    run(scenario, "cachetory Cache", () => cache.setMany(asMap, { timeToLive: 60_000 }), batch);
    run(scenario, "cachetory SyncCache", () => syncCache.setMany(asMap, { timeToLive: 60_000 }), batch);
    run(scenario, "keyv", () => keyv.setMany(entries), batch);
    run(scenario, "cache-manager", () => manager.mset(entries), batch);
    run(scenario, "cacheable", () => cacheable.setMany(entries), batch);
    await settle();
    const readScenario = "memory getMany of 100 keys";
    run(readScenario, "cachetory Cache", () => cache.getMany(...keys), batch);
    run(readScenario, "cachetory SyncCache", () => syncCache.getMany(...keys), batch);
    run(readScenario, "keyv", () => keyv.getMany(keys), batch);
    run(readScenario, "cache-manager", () => manager.mget(keys), batch);
    run(readScenario, "cacheable", () => cacheable.getMany(keys), batch);
    await settle();
  }
  {
    const scenario = "getOrSet hit (memory)";
    const plain = { timeToLive: 60_000 };
    const fresh = { timeToLive: 60_000, staleWhileRevalidate: 60_000, grace: 3_600_000 };
    const factory = async (): Promise<string> => VALUE;
    await cache.getOrSet("g:plain", factory, plain);
    await cache.getOrSet("g:enveloped", factory, fresh);
    run(scenario, "cachetory getOrSet", () => cache.getOrSet("g:plain", factory, plain), MEMORY);
    run(
      scenario,
      "cachetory getOrSet (swr + grace entry)",
      () => cache.getOrSet("g:enveloped", factory, fresh),
      MEMORY,
    );
    run(scenario, "cachetory Cache.get (same key)", () => cache.get("g:plain"), MEMORY);
    run(scenario, "bentocache getOrSet", () => bento.getOrSet({ key: "g:plain", ttl: "1m", factory }), MEMORY);
    run(scenario, "cache-manager wrap", () => manager.wrap("g:plain", factory, 60_000), MEMORY);
    await settle();
  }
  {
    const scenario = "memoized hit (memory)";
    const getUser = cached(cache, { name: "getUser" })(async (id: number) => `${VALUE}${String(id)}`);
    const cachifiedStore = new LRUCache<string, CacheEntry>({ max: 10_000 });
    await getUser(1);
    const id = 1;
    run(scenario, "cachetory cached", () => getUser(1), MEMORY);
    run(scenario, "cachetory Cache.get (same key)", () => cache.get("getUser:1"), MEMORY);
    run(scenario, "cachetory Cache.get (key built per call)", () => cache.get(`getUser:${String(id)}`), MEMORY);
    run(
      scenario,
      "@epic-web/cachified",
      () => cachified({ key: "user:1", cache: cachifiedStore, ttl: 60_000, getFreshValue: async () => `${VALUE}1` }),
      MEMORY,
    );
    run(
      scenario,
      "bentocache getOrSet",
      () => bento.getOrSet({ key: "user:1", ttl: "1m", factory: async () => `${VALUE}1` }),
      MEMORY,
    );
    run(scenario, "cache-manager wrap", () => manager.wrap("user:1", async () => `${VALUE}1`, 60_000), MEMORY);
    await settle();
  }
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
  // The same work as a raw client: bytes in, bytes out, no serializer.
  const bytesCache = new Cache<string | Uint8Array>({ backend: redisUrl, serializer: "noop://" });
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
  closers.push(
    () => cache.close(),
    () => bytesCache.close(),
    () => cacheOn5.close(),
    () => raw.destroy(),
    () => raw5.destroy(),
    () => rawNoTimeout.destroy(),
    () => io.disconnect(),
    () => keyv.disconnect(),
    () => manager.disconnect(),
    () => bento.disconnect(),
  );
  await raw.set("k", VALUE);
  await cache.set("json", VALUE);
  await keyv.set("k", VALUE);
  await manager.set("k", VALUE);
  await bento.set({ key: "k", value: VALUE });
  for (const concurrency of [1, 64]) {
    const scenario = `Redis get hit, ${String(concurrency)} in flight`;
    const options = { concurrency };
    run(scenario, "cachetory Cache (json)", () => cache.get("json"), options);
    run(scenario, "cachetory Cache (bytes, noop)", () => bytesCache.get("k"), options);
    run(scenario, "cachetory Cache (json, node-redis 5)", () => cacheOn5.get("json"), options);
    run(scenario, "node-redis 6 (raw GET)", () => raw.get("k"), options);
    run(scenario, "node-redis 6, no timeout (raw)", () => rawNoTimeout.get("k"), options);
    run(scenario, "node-redis 5 (raw GET)", () => raw5.get("k"), options);
    run(scenario, "ioredis (raw GET)", () => io.get("k"), options);
    run(scenario, "keyv + @keyv/redis", () => keyv.get("k"), options);
    run(scenario, "cache-manager (keyv redis)", () => manager.get("k"), options);
    run(scenario, "bentocache (redis)", () => bento.get({ key: "k" }), options);
    await settle();
  }
  for (const concurrency of [1, 64]) {
    const scenario = `Redis set with TTL, ${String(concurrency)} in flight`;
    const options = { concurrency };
    const ttl = { timeToLive: 60_000 };
    run(scenario, "cachetory Cache (json)", () => cache.set("json", VALUE, ttl), options);
    run(scenario, "cachetory Cache (bytes, noop)", () => bytesCache.set("k", VALUE, ttl), options);
    run(scenario, "node-redis 6 (raw SET PX)", () => raw.set("k", VALUE, { PX: 60_000 }), options);
    run(scenario, "node-redis 6, no timeout (raw)", () => rawNoTimeout.set("k", VALUE, { PX: 60_000 }), options);
    run(scenario, "node-redis 5 (raw SET PX)", () => raw5.set("k", VALUE, { PX: 60_000 }), options);
    run(scenario, "ioredis (raw SET PX)", () => io.set("k", VALUE, "PX", 60_000), options);
    run(scenario, "keyv + @keyv/redis", () => keyv.set("k", VALUE, 60_000), options);
    run(scenario, "cache-manager (keyv redis)", () => manager.set("k", VALUE, 60_000), options);
    run(scenario, "bentocache (redis)", () => bento.set({ key: "k", value: VALUE, ttl: "1m" }), options);
    await settle();
  }
  {
    const keys = Array.from({ length: 100 }, (_, index) => `many:${String(index)}`);
    const bytesKeys = keys.map((key) => `bytes:${key}`);
    const entries = keys.map((key) => ({ key, value: VALUE, ttl: 60_000 }));
    const pairs = keys.map((key) => [key, VALUE] as [string, string]);
    const bytesPairs = bytesKeys.map((key) => [key, VALUE] as [string, string]);
    const scenario = "Redis setMany of 100 keys";
    run(scenario, "cachetory Cache (json)", () => cache.setMany(new Map(pairs)));
    run(scenario, "cachetory Cache (bytes, noop)", () => bytesCache.setMany(new Map(bytesPairs)));
    run(scenario, "node-redis 6, no timeout (raw MSET)", () => rawNoTimeout.mSet(bytesPairs));
    run(scenario, "keyv + @keyv/redis", () => keyv.setMany(entries));
    run(scenario, "cache-manager (keyv redis)", () => manager.mset(entries));
    // Every contestant reads the keys it wrote (cache-manager's keyv store adds its own namespace).
    await settle();
    const readScenario = "Redis getMany of 100 keys";
    run(readScenario, "cachetory Cache (json)", () => cache.getMany(...keys));
    run(readScenario, "cachetory Cache (bytes, noop)", () => bytesCache.getMany(...bytesKeys));
    run(readScenario, "node-redis 6 (raw MGET)", () => raw.mGet(bytesKeys));
    run(readScenario, "node-redis 6, no timeout (raw)", () => rawNoTimeout.mGet(bytesKeys));
    run(readScenario, "keyv + @keyv/redis", () => keyv.getMany(keys));
    run(readScenario, "cache-manager (keyv redis)", () => manager.mget(keys));
    const found = [
      (await cache.getMany(...keys)).size,
      (await keyv.getMany(keys)).filter((value) => value !== undefined).length,
      (await manager.mget(keys)).filter((value) => value !== undefined && value !== null).length,
    ];
    if (found.some((size) => size !== 100)) throw new Error(`getMany contestants found ${found.join("/")} of 100`);
    await settle();
  }
  for (const concurrency of [1, 64]) {
    const scenario = `getOrSet hit (Redis, ${String(concurrency)} in flight)`;
    const options = { concurrency };
    const plain = { timeToLive: 60_000 };
    const fresh = { timeToLive: 60_000, staleWhileRevalidate: 60_000, grace: 3_600_000 };
    const factory = async (): Promise<string> => VALUE;
    await cache.getOrSet("g:plain", factory, plain);
    await cache.getOrSet("g:enveloped", factory, fresh);
    run(scenario, "cachetory getOrSet", () => cache.getOrSet("g:plain", factory, plain), options);
    run(
      scenario,
      "cachetory getOrSet (swr + grace entry)",
      () => cache.getOrSet("g:enveloped", factory, fresh),
      options,
    );
    run(scenario, "cachetory Cache.get (same key)", () => cache.get("g:plain"), options);
    run(scenario, "bentocache getOrSet", () => bento.getOrSet({ key: "g:plain", ttl: "1m", factory }), options);
    run(scenario, "cache-manager wrap", () => manager.wrap("g:plain", factory, 60_000), options);
    await settle();
  }
  for (const concurrency of [1, 64]) {
    // A tagged read checks its tags' states: read alongside the entry (pipelined), not after it.
    const scenario = `tagged get (Redis, ${String(concurrency)} in flight)`;
    const options = { concurrency };
    const tags = ["org:7", "user:1"];
    await cache.set("t:plain", VALUE);
    await cache.set("t:tagged", VALUE, { tags });
    if ((await cache.get("t:tagged")) !== VALUE) throw new Error("the tagged entry does not read back");
    await bento.set({ key: "t:plain", value: VALUE });
    await bento.set({ key: "t:tagged", value: VALUE, tags });
    if ((await bento.get({ key: "t:tagged" })) !== VALUE)
      throw new Error("bentocache's tagged entry does not read back");
    run(scenario, "cachetory Cache.get (untagged)", () => cache.get("t:plain"), options);
    run(scenario, "cachetory Cache.get (2 tags)", () => cache.get("t:tagged"), options);
    run(scenario, "bentocache get (untagged)", () => bento.get({ key: "t:plain" }), options);
    run(scenario, "bentocache get (2 tags)", () => bento.get({ key: "t:tagged" }), options);
    await settle();
  }
  {
    const scenario = "memoized hit (Redis, 1 in flight)";
    // One in flight: concurrent calls of one key would share a single read (single flight).
    const options = { concurrency: 1 };
    const getUser = cached(cache, { name: "getUser" })(async (id: number) => `${VALUE}${String(id)}`);
    await getUser(1);
    run(scenario, "cachetory cached", () => getUser(1), options);
    run(scenario, "cachetory Cache.get (same key)", () => cache.get("getUser:1"), options);
    const factory = async (): Promise<string> => `${VALUE}1`;
    run(scenario, "bentocache getOrSet", () => bento.getOrSet({ key: "user:1", ttl: "1m", factory }), options);
    run(scenario, "cache-manager wrap", () => manager.wrap("user:1", factory, 60_000), options);
    await settle();
  }
}

// Near tiers in front of Redis: a hit, each peer with its own bus as its docs recommend.
{
  const scenario = "near hit (in front of Redis)";
  const near = new Cache<string>({ backend: redisUrl, serializer: "json://", prefix: "near:", near: true });
  const memoryCache = new Cache<string>({ backend: "memory://", serializer: "noop://" });
  const connection = { host: "127.0.0.1", port: server.port };
  const bento = new BentoCache({
    default: "tiered",
    stores: {
      tiered: bentostore()
        .useL1Layer(memoryDriver({ maxItems: 10_000 }))
        .useL2Layer(redisDriver({ connection }))
        .useBus(redisBusDriver({ connection })),
    },
  });
  const cacheable = new Cacheable({
    primary: new Keyv({ store: new KeyvCacheableMemory({ lruSize: 10_000 }) }),
    secondary: new KeyvRedis(redisUrl),
    sync: { qified: new RedisMessageProvider({ uri: redisUrl }) },
  });
  closers.push(
    () => near.close(),
    () => memoryCache.close(),
    () => bento.disconnect(),
    () => cacheable.disconnect(),
  );
  await near.set("k", VALUE);
  await near.get("k");
  await memoryCache.set("k", VALUE);
  await bento.set({ key: "near:k", value: VALUE });
  await cacheable.set("near:k", VALUE);
  await near.set("tagged", VALUE, { tags: ["org:7", "user:1"] });
  // Let Redis's invalidations of our own writes (the tags' states created) arrive, then hold them again.
  await new Promise((resolve) => setTimeout(resolve, 50));
  await near.get("tagged");
  // The key, the tagged key and its two tags' two state keys each.
  if (near.stats.near?.entries !== 6) throw new Error("the near tier does not hold the keys");
  const missesBefore = near.stats.near?.misses ?? 0;
  run(scenario, "cachetory near hit (Redis, json)", () => near.get("k"), MEMORY);
  run(scenario, "cachetory near hit, 2 tags (Redis, json)", () => near.get("tagged"), MEMORY);
  run(scenario, "cachetory memory:// Cache.get (noop)", () => memoryCache.get("k"), MEMORY);
  run(scenario, "bentocache L1 hit (L1+L2+bus)", () => bento.get({ key: "near:k" }), MEMORY);
  run(scenario, "cacheable L1 hit (L1+L2+sync)", () => cacheable.get("near:k"), MEMORY);
  await settle();
  // A peer's setup empties the database once (Redis then tells every tracking client to flush): refilling
  // what was held near costs a few misses; more than one in 10 000 reads means hits went to Redis.
  const reads = (near.stats.near?.hits ?? 0) + (near.stats.near?.misses ?? 0);
  if ((near.stats.near?.misses ?? 0) - missesBefore > 20 + reads / 10_000) throw new Error("near hits went to Redis");
}
const zipf = await zipfWorkload(server.url(1), server.port);

const stampedes = await stampede(redisUrl);
const crossProcessStampedes = await crossProcessStampede(server.url(2), server.port);
results.push(...(await serializerThroughput()));
const compression = await compressorThroughput();
const ceiling = redisBenchmarkCeiling(server.port);
const loopDelays = await loopDelay(redisUrl);

for (const close of closers) await close();
await server.stop();

// Ratios against cachetory in each scenario (the first contestant measured).
for (const scenario of new Set(results.map((result) => result.scenario))) {
  const inScenario = results.filter((result) => result.scenario === scenario);
  const ours = inScenario[0]?.opsPerSecond ?? Number.NaN;
  for (const result of inScenario) result.ratio = result.opsPerSecond / ours;
}

const machine = `${cpus()[0]?.model ?? "unknown CPU"} × ${String(cpus().length)}, ${String(Math.round(totalmem() / 2 ** 30))} GiB, Node ${process.version}`;
const report: Report = {
  machine,
  measuredAt: new Date().toISOString(),
  measureMilliseconds: MEASURE_MS,
  results,
  zipf,
  stampedes,
  crossProcessStampedes,
  compression,
  ceiling,
  loopDelays,
  memory,
};
const markdown = renderMarkdown(report);
console.log(markdown);
const directory = new URL("../results/", import.meta.url);
writeFileSync(new URL("latest.json", directory), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(new URL("latest.md", directory), markdown);
writeFileSync(new URL("latest.svg", directory), renderChart(results, machine));
