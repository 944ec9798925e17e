/**
 * The near-cache workload: Zipf (s = 1) reads over 100 000 keys from 64 loops in this process, while a
 * second process (bench/peers/near-writer.ts) overwrites 1 % of the keys and, every 20 ms, a probe key.
 * Reported per contestant: reads per second, the near tier's hit ratio where it has one, and the
 * staleness window: from the writer's acknowledged write of the probe to this process first reading the
 * new value (p50/p99/max, on the machine's shared clock). Every library's writer is that library (so that
 * its own bus carries the change); cachetory's is a raw node-redis client, since Redis itself tells.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { BentoCache, bentostore } from "bentocache";
import { memoryDriver } from "bentocache/drivers/memory";
import { redisBusDriver, redisDriver } from "bentocache/drivers/redis";
import { Cacheable, Keyv, KeyvCacheableMemory } from "cacheable";
import KeyvRedis from "@keyv/redis";
import { RedisMessageProvider } from "@qified/redis";
import { Cache } from "cachetory";
import { createClient } from "redis";

export const ZIPF_KEYS = 100_000;
export const NEAR_ENTRIES = 100_000;
const WORKERS = 64;
const DURATION_MS = Number(process.env["BENCH_ZIPF_MS"] ?? 3000);
const VALUE = JSON.stringify("x".repeat(1000));

/** One contestant's figures in the Zipf workload. */
export interface ZipfResult {
  readonly contestant: string;
  readonly readsPerSecond: number;
  readonly writesPerSecond: number;
  /** Reads answered by the near tier, when the contestant reports it. */
  readonly nearHitRatio: number | undefined;
  readonly staleness: { readonly p50: number; readonly p99: number; readonly max: number; readonly probes: number };
  ratio?: number;
}

/** The contestants, as the reader and the writer build them. */
export type ZipfContestant =
  "cachetory near" | "cachetory without near" | "bentocache L1+L2+bus" | "cacheable L1+L2+sync";
export const ZIPF_CONTESTANTS: readonly ZipfContestant[] = [
  "cachetory near",
  "cachetory without near",
  "bentocache L1+L2+bus",
  "cacheable L1+L2+sync",
];

/** A library's cache, reduced to what the workload calls. */
export interface Contender {
  get(key: string): Promise<unknown>;
  set(key: string, value: string): Promise<unknown>;
  setMany(entries: readonly (readonly [string, string])[]): Promise<unknown>;
  hitRatio(): number | undefined;
  close(): Promise<unknown>;
}

/** Builds a contestant's cache over the Redis at `url` (port `port`). */
export function contender(name: ZipfContestant, url: string, port: number): Contender {
  switch (name) {
    case "cachetory near":
    case "cachetory without near": {
      const cache = new Cache<string>({
        backend: url,
        serializer: "json://",
        prefix: "z:",
        ...(name === "cachetory near" ? { near: { maxEntries: NEAR_ENTRIES } } : {}),
      });
      return {
        get: (key) => cache.get(key),
        set: (key, value) => cache.set(key, value),
        setMany: (entries) => cache.setMany(entries),
        hitRatio: () => {
          const near = cache.stats.near;
          return near === undefined ? undefined : near.hits / Math.max(1, near.hits + near.misses);
        },
        close: () => cache.close(),
      };
    }
    case "bentocache L1+L2+bus": {
      const connection = { host: "127.0.0.1", port };
      const bento = new BentoCache({
        default: "tiered",
        stores: {
          tiered: bentostore()
            .useL1Layer(memoryDriver({ maxItems: NEAR_ENTRIES }))
            .useL2Layer(redisDriver({ connection }))
            .useBus(redisBusDriver({ connection })),
        },
      });
      return {
        get: (key) => bento.get({ key }),
        set: (key, value) => bento.set({ key, value }),
        setMany: (entries) => Promise.all(entries.map(([key, value]) => bento.set({ key, value }))),
        hitRatio: () => undefined,
        close: () => bento.disconnect(),
      };
    }
    case "cacheable L1+L2+sync": {
      const cacheable = new Cacheable({
        primary: new Keyv({ store: new KeyvCacheableMemory({ lruSize: NEAR_ENTRIES }) }),
        secondary: new KeyvRedis(url),
        sync: { qified: new RedisMessageProvider({ uri: url }) },
      });
      return {
        get: (key) => cacheable.get(key),
        set: (key, value) => cacheable.set(key, value),
        setMany: (entries) => cacheable.setMany(entries.map(([key, value]) => ({ key, value }))),
        hitRatio: () => undefined,
        close: () => cacheable.disconnect(),
      };
    }
  }
}

/** `count` key indexes drawn from Zipf(s = 1) over `n` keys (the same sequence every run: a fixed seed). */
function zipfSamples(n: number, count: number): Uint32Array {
  const cumulative = new Float64Array(n);
  let sum = 0;
  for (let rank = 0; rank < n; rank++) cumulative[rank] = sum += 1 / (rank + 1);
  let seed = 0x2545f491;
  const random = (): number => {
    // xorshift32: enough for sampling, and repeatable.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const samples = new Uint32Array(count);
  for (let index = 0; index < count; index++) {
    const target = random() * sum;
    let low = 0;
    let high = n - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((cumulative[middle] ?? 0) < target) low = middle + 1;
      else high = middle;
    }
    samples[index] = low;
  }
  return samples;
}

const now = (): number => performance.timeOrigin + performance.now();

function percentiles(samples: readonly number[]): { p50: number; p99: number; max: number; probes: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (fraction: number): number =>
    sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? Number.NaN, probes: sorted.length };
}

/** Runs the workload for every contestant on the Redis at `url`. */
export async function zipfWorkload(url: string, port: number): Promise<ZipfResult[]> {
  const samples = zipfSamples(ZIPF_KEYS, 1 << 20);
  const keys = Array.from({ length: ZIPF_KEYS }, (_, index) => `k${String(index)}`);
  const results: ZipfResult[] = [];
  const flusher = createClient({ url });
  await flusher.connect();
  for (const name of ZIPF_CONTESTANTS) {
    await flusher.flushDb();
    const cache = contender(name, url, port);
    for (let start = 0; start < keys.length; start += 1000) {
      await cache.setMany(keys.slice(start, start + 1000).map((key) => [key, VALUE] as const));
    }
    await cache.set("probe", "0");
    // Warm: every loop reads its Zipf keys once before the clock starts.
    for (let index = 0; index < 200_000; index += WORKERS) {
      await Promise.all(
        Array.from({ length: WORKERS }, (_, worker) => cache.get(keys[samples[index + worker] ?? 0] ?? "k0")),
      );
    }
    const writer = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        new URL("near-writer.ts", import.meta.url).pathname,
        name,
        url,
        String(port),
        String(DURATION_MS),
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let output = "";
    writer.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    // The writer says when it starts writing.
    await new Promise<void>((resolve) => {
      const onData = (): void => {
        if (output.includes("ready\n")) {
          writer.stdout.off("data", onData);
          resolve();
        }
      };
      writer.stdout.on("data", onData);
    });
    /** When the probe was read, and what it held, in the order read. */
    const observed: [number, number][] = [];
    let reads = 0;
    let stop = false;
    const started = performance.now();
    const loops = Array.from({ length: WORKERS }, async (_, worker) => {
      let position = worker * 4099;
      while (!stop) {
        await cache.get(keys[samples[position++ & (samples.length - 1)] ?? 0] ?? "k0");
        reads++;
        // Near hits settle at once: a turn of the event loop now and then lets I/O in, as a server's would.
        if ((reads & 63) === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    });
    const probe = (async () => {
      while (!stop) {
        const seen = Number(await cache.get("probe"));
        if (seen !== observed.at(-1)?.[1]) observed.push([now(), seen]);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await once(writer, "exit");
    // A little longer than the writer's last write, so that its last probe can be seen.
    await new Promise((resolve) => setTimeout(resolve, 200));
    stop = true;
    await Promise.all([...loops, probe]);
    const seconds = (performance.now() - started) / 1000;
    const report = JSON.parse(output.slice(output.indexOf("ready\n") + "ready\n".length)) as {
      acknowledged: [number, number][];
      writes: number;
      seconds: number;
    };
    // A probe write is seen when the reader first reads it or a later one (it may never read a given one).
    const windows = report.acknowledged.map(([sequence, at]) => {
      const seenAt = observed.find(([, value]) => value >= sequence)?.[0] ?? Number.POSITIVE_INFINITY;
      return Math.max(0, seenAt - at);
    });
    results.push({
      contestant: name,
      readsPerSecond: reads / seconds,
      writesPerSecond: report.writes / report.seconds,
      nearHitRatio: cache.hitRatio(),
      staleness: percentiles(windows),
    });
    await cache.close();
  }
  await flusher.destroy();
  const ours = results[0]?.readsPerSecond ?? Number.NaN;
  for (const result of results) result.ratio = result.readsPerSecond / ours;
  return results;
}
