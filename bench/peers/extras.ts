/**
 * The benchmark's scenarios that are not "ops/s of one call": a stampede, serializer and compressor
 * throughput, the redis-benchmark ceiling, event-loop delay under big values and bytes per entry.
 */
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { deserialize as v8Deserialize, serialize as v8Serialize } from "node:v8";
import { type CacheEntry, cachified } from "@epic-web/cachified";
import { BentoCache, bentostore } from "bentocache";
import { memoryDriver } from "bentocache/drivers/memory";
import { createCache } from "cache-manager";
import { Cache, cached, SyncCache } from "cachetory";
import { fromUrl as serializerFromUrl } from "cachetory/serializers";
import { LRUCache } from "lru-cache";
import { pack, unpack } from "msgpackr";
import { measure, medianMilliseconds, type Result } from "./measure.js";
import { CROSS_PROCESS_CONTESTANTS } from "./stampede-child.js";

/** A typical record of about 1 KB as JSON. */
export function record(id: number): Record<string, unknown> {
  return {
    id,
    name: `user ${String(id)}`,
    email: `user${String(id)}@example.com`,
    active: id % 2 === 0,
    score: id * 1.5,
    tags: ["alpha", "beta", "gamma", "delta"],
    created: "2026-11-24T12:00:00.000Z",
    bio: "lorem ipsum dolor sit amet ".repeat(30),
  };
}

// ---------------------------------------------------------------------------------------------------

export interface StampedeResult {
  readonly contestant: string;
  readonly callers: number;
  readonly factoryCalls: number;
  readonly medianMilliseconds: number;
}

/** 1 000 callers ask for one missing key at once; the factory takes 20 ms. */
export async function stampede(redisUrl: string): Promise<StampedeResult[]> {
  const callers = 1000;
  const rounds = 5;
  const results: StampedeResult[] = [];
  const slowFactory = (counter: { calls: number }) => async (): Promise<string> => {
    counter.calls++;
    await new Promise((resolve) => setTimeout(resolve, 20));
    return "fresh";
  };
  const contestants: [string, (key: string, factory: () => Promise<string>) => Promise<unknown>][] = [];
  const memory = new Cache<string>({ backend: "memory://", serializer: "noop://" });
  const redis = new Cache<string>({ backend: redisUrl, serializer: "json://" });
  const manager = createCache();
  const bento = new BentoCache({
    default: "memory",
    stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000, serialize: false })) },
  });
  const cachifiedStore = new LRUCache<string, CacheEntry>({ max: 10_000 });
  // cached() builds its key from the arguments: the key is the argument here.
  const byKey = (cache: Cache<string>) => {
    let factory: () => Promise<string> = async () => "unset";
    const memoized = cached(cache, { name: "stampede", timeToLive: 60_000 })(async (_key: string) => factory());
    return (key: string, next: () => Promise<string>) => {
      factory = next;
      return memoized(key);
    };
  };
  contestants.push(
    ["cachetory cached (memory)", byKey(memory)],
    ["cachetory cached (Redis)", byKey(redis)],
    ["cache-manager wrap", (key, factory) => manager.wrap(key, factory, 60_000)],
    ["bentocache getOrSet", (key, factory) => bento.getOrSet({ key, ttl: "1m", factory })],
    [
      "@epic-web/cachified",
      (key, factory) => cachified({ key, cache: cachifiedStore, ttl: 60_000, getFreshValue: factory }),
    ],
  );
  for (const [contestant, call] of contestants) {
    const counter = { calls: 0 };
    let round = 0;
    const milliseconds = await medianMilliseconds(rounds, async () => {
      const key = `stampede:${contestant}:${String(round++)}`;
      const factory = slowFactory(counter);
      await Promise.all(Array.from({ length: callers }, () => call(key, factory)));
    });
    results.push({ contestant, callers, factoryCalls: counter.calls / rounds, medianMilliseconds: milliseconds });
  }
  await memory.close();
  await redis.close();
  await bento.disconnect();
  return results;
}

/**
 * 4 processes × 250 callers ask for one missing key at once through one Redis (the factory takes 20 ms):
 * factory calls in all, and the time from the go until the last caller of the last process has the value.
 */
export async function crossProcessStampede(redisUrl: string, port: number): Promise<StampedeResult[]> {
  const processes = 4;
  const rounds = 5;
  const results: StampedeResult[] = [];
  const child = new URL("stampede-child.ts", import.meta.url).pathname;
  for (const contestant of CROSS_PROCESS_CONTESTANTS) {
    const children = Array.from({ length: processes }, () =>
      spawn(process.execPath, ["--import", "tsx", child, contestant, redisUrl, String(port)], {
        stdio: ["pipe", "pipe", "inherit"],
      }),
    );
    const lines = children.map((each) => createInterface({ input: each.stdout })[Symbol.asyncIterator]());
    const next = async (index: number): Promise<string> => {
      const line = await lines[index]?.next();
      if (line === undefined || line.done === true) throw new Error(`a ${contestant} process ended early`);
      return line.value;
    };
    await Promise.all(children.map((_, index) => next(index)));
    const times: number[] = [];
    let calls = 0;
    for (let round = 0; round < rounds; round++) {
      const key = `cross:${contestant}:${String(round)}`;
      const go = performance.timeOrigin + performance.now();
      for (const each of children) each.stdin.write(`${key}\n`);
      const done = (await Promise.all(children.map((_, index) => next(index)))).map(
        (line) => JSON.parse(line) as { calls: number; doneAt: number },
      );
      calls += done.reduce((sum, each) => sum + each.calls, 0);
      times.push(Math.max(...done.map((each) => each.doneAt)) - go);
    }
    for (const each of children) each.stdin.end("\n");
    await Promise.all(children.map((each) => once(each, "exit")));
    times.sort((a, b) => a - b);
    results.push({
      contestant,
      callers: processes * 250,
      factoryCalls: calls / rounds,
      medianMilliseconds: times[Math.floor(rounds / 2)] ?? Number.NaN,
    });
  }
  return results;
}

// ---------------------------------------------------------------------------------------------------

/** Round trips (serialize, then deserialize) per second: cachetory's serializers against the raw libraries. */
export async function serializerThroughput(): Promise<Result[]> {
  const results: Result[] = [];
  const shapes: [string, unknown][] = [
    ["1 KB object", record(1)],
    ["100 KB object", Array.from({ length: 100 }, (_, index) => record(index))],
  ];
  for (const [shape, value] of shapes) {
    for (const format of ["json", "msgpack", "v8"] as const) {
      const scenario = `${format} round trip, ${shape}`;
      const ours = serializerFromUrl(`${format}://`);
      results.push(
        await measure(scenario, `cachetory ${format}://`, () => ours.deserialize(ours.serialize(value)), { batch: 10 }),
      );
      const raw: () => unknown =
        format === "json"
          ? () => JSON.parse(Buffer.from(JSON.stringify(value)).toString())
          : format === "msgpack"
            ? () => unpack(pack(value))
            : () => v8Deserialize(v8Serialize(value));
      const rawName =
        format === "json" ? "JSON (raw, via bytes)" : format === "msgpack" ? "msgpackr (raw)" : "node:v8 (raw)";
      results.push(await measure(scenario, rawName, raw, { batch: 10 }));
    }
  }
  return results;
}

export interface CompressionResult {
  readonly compressor: string;
  readonly inputBytes: number;
  readonly ratio: number;
  readonly compressMegabytesPerSecond: number;
  readonly decompressMegabytesPerSecond: number;
}

/** Compression of 100 KB of JSON records: speed both ways and the size ratio, at each default level. */
export async function compressorThroughput(): Promise<CompressionResult[]> {
  const input = Buffer.from(JSON.stringify(Array.from({ length: 100 }, (_, index) => record(index))));
  const results: CompressionResult[] = [];
  for (const scheme of ["zlib", "gzip", "brotli", "zstd"]) {
    const compressor = serializerFromUrl(`${scheme}://`);
    const compressed = compressor.serialize(input) as Uint8Array;
    const compress = await measure("compress", scheme, () => compressor.serialize(input), { batch: 5 });
    const decompress = await measure("decompress", scheme, () => compressor.deserialize(compressed), { batch: 5 });
    results.push({
      compressor: `${scheme}://`,
      inputBytes: input.byteLength,
      ratio: input.byteLength / compressed.byteLength,
      compressMegabytesPerSecond: (compress.opsPerSecond * input.byteLength) / 1e6,
      decompressMegabytesPerSecond: (decompress.opsPerSecond * input.byteLength) / 1e6,
    });
  }
  return results;
}

// ---------------------------------------------------------------------------------------------------

export interface CeilingResult {
  readonly mode: string;
  readonly getsPerSecond: number;
}

/** `redis-benchmark` GET of 1 KB values on the same server: what the server and loopback allow. */
export function redisBenchmarkCeiling(port: number): CeilingResult[] {
  const results: CeilingResult[] = [];
  for (const [mode, pipeline] of [
    ["redis-benchmark, 64 connections", "1"],
    ["redis-benchmark, 64 connections, -P 16", "16"],
  ] as const) {
    const output = execFileSync(
      "redis-benchmark",
      [
        "-h",
        "127.0.0.1",
        "-p",
        String(port),
        "-t",
        "set,get",
        "-d",
        "1024",
        "-n",
        "400000",
        "-c",
        "64",
        "-P",
        pipeline,
        "-q",
      ],
      { encoding: "utf8" },
    );
    const match = /GET: ([\d.]+) requests per second/.exec(output.replace(/\r/g, "\n"));
    results.push({ mode, getsPerSecond: Number(match?.[1] ?? Number.NaN) });
  }
  return results;
}

// ---------------------------------------------------------------------------------------------------

export interface LoopDelayResult {
  readonly bytes: number;
  readonly serializer: string;
  readonly where: string;
  readonly maxDelayMilliseconds: number;
}

/** Compressible bytes: JSON records, repeated to the size asked. */
function bigValue(bytes: number): Buffer {
  const unit = Buffer.from(JSON.stringify(Array.from({ length: 1000 }, (_, index) => record(index))));
  const output = Buffer.alloc(bytes);
  for (let offset = 0; offset < bytes; offset += unit.byteLength) unit.copy(output, offset);
  return output;
}

/**
 * The event loop's longest stall while a 1 MB or 10 MB value is written to and read from Redis, with
 * each compressor, off the loop (the default) and on it (`off-thread-bytes` set past the value).
 */
export async function loopDelay(redisUrl: string): Promise<LoopDelayResult[]> {
  const results: LoopDelayResult[] = [];
  for (const bytes of [1024 * 1024, 10 * 1024 * 1024]) {
    const value = bigValue(bytes);
    for (const compressor of ["zlib", "gzip", "brotli", "zstd"]) {
      for (const [where, query] of [
        ["thread pool", ""],
        ["event loop", `?off-thread-bytes=${String(Number.MAX_SAFE_INTEGER)}`],
      ] as const) {
        const serializer = `noop+${compressor}://`;
        const cache = new Cache<Buffer>({ backend: `${redisUrl}?timeout=30000`, serializer: `${serializer}${query}` });
        await cache.set("warm", value);
        await cache.get("warm");
        // Start from a collected heap, so that garbage of earlier scenarios is not charged to this one.
        (globalThis as { gc?: () => void }).gc?.();
        const histogram = monitorEventLoopDelay({ resolution: 1 });
        histogram.enable();
        for (let round = 0; round < 3; round++) {
          await cache.set("big", value);
          const back = await cache.get("big");
          if (back?.byteLength !== bytes) throw new Error(`${serializer} lost the value`);
        }
        histogram.disable();
        await cache.close();
        results.push({ bytes, serializer, where, maxDelayMilliseconds: histogram.max / 1e6 });
      }
    }
  }
  return results;
}

// ---------------------------------------------------------------------------------------------------

export interface MemoryResult {
  readonly contestant: string;
  readonly entries: number;
  readonly bytesPerEntry: number;
}

function heapInUse(): number {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error("run with node --expose-gc");
  collect();
  collect();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

/** Heap per entry holding 100 000 distinct 1 KB strings, each store filled and then measured alone. */
export function bytesPerEntry(): MemoryResult[] {
  const entries = 100_000;
  // A flat string of its own per entry (`repeat` would share pieces between entries).
  const valueOf = (index: number): string => Buffer.alloc(1024, String(index).padStart(8, "0")).toString("latin1");
  const contestants: [string, () => { set: (key: string, value: string) => unknown; keep: unknown }][] = [
    [
      "lru-cache (raw)",
      () => {
        const lru = new LRUCache<string, string>({ max: entries });
        return { set: (key, value) => lru.set(key, value), keep: lru };
      },
    ],
    [
      "cachetory SyncCache (memory, noop)",
      () => {
        const cache = SyncCache.memory<string>({ maxEntries: entries });
        return { set: (key, value) => cache.set(key, value), keep: cache };
      },
    ],
    [
      "cachetory SyncCache (memory, noop, with TTL)",
      () => {
        const cache = SyncCache.memory<string>({ maxEntries: entries });
        return { set: (key, value) => cache.set(key, value, { timeToLive: 3_600_000 }), keep: cache };
      },
    ],
  ];
  const results: MemoryResult[] = [];
  // One call per store: the previous store is unreachable (not held by this frame) when the next starts.
  const fill = (create: () => { set: (key: string, value: string) => unknown; keep: unknown }): number => {
    const before = heapInUse();
    const store = create();
    for (let index = 0; index < entries; index++) store.set(`key:${String(index)}`, valueOf(index));
    const after = heapInUse();
    if (store.keep === undefined) throw new Error("unreachable: keeps the store alive until measured");
    return (after - before) / entries;
  };
  for (const [contestant, create] of contestants) {
    results.push({ contestant, entries, bytesPerEntry: fill(create) });
  }
  return results;
}
