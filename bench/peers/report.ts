/** The benchmark's report: tables per scenario, then the issue's targets with the ratios measured in this run. */
import type { CeilingResult, CompressionResult, LoopDelayResult, MemoryResult, StampedeResult } from "./extras.js";
import type { Result } from "./measure.js";
import type { ZipfResult } from "./near.js";

export interface Report {
  readonly machine: string;
  readonly measuredAt: string;
  readonly measureMilliseconds: number;
  readonly results: readonly Result[];
  readonly zipf: readonly ZipfResult[];
  readonly stampedes: readonly StampedeResult[];
  readonly crossProcessStampedes: readonly StampedeResult[];
  readonly compression: readonly CompressionResult[];
  readonly ceiling: readonly CeilingResult[];
  readonly loopDelays: readonly LoopDelayResult[];
  readonly memory: readonly MemoryResult[];
}

const number = (value: number, digits = 0): string =>
  value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

interface Target {
  readonly target: string;
  readonly measured: string;
  readonly holds: boolean;
}

function targets(report: Report): Target[] {
  const find = (scenario: string, contestant: string): Result => {
    const found = report.results.find((result) => result.scenario === scenario && result.contestant === contestant);
    if (found === undefined) throw new Error(`no result for ${contestant} in ${scenario}`);
    return found;
  };
  const ops = (scenario: string, contestant: string): number => find(scenario, contestant).opsPerSecond;
  const fastest = (scenario: string, contestants: readonly string[]): [string, number] =>
    contestants
      .map((name): [string, number] => [name, ops(scenario, name)])
      .reduce((best, next) => (next[1] > best[1] ? next : best));
  const list: Target[] = [];
  {
    const scenario = "memory get hit";
    const [peer, peerOps] = fastest(scenario, ["keyv", "cache-manager", "cacheable", "bentocache"]);
    const ratio = ops(scenario, "cachetory Cache") / peerOps;
    list.push({
      target: "memory `Cache.get` ≥ 2× the fastest peer",
      measured: `${number(ratio, 2)}× (${peer})`,
      holds: ratio >= 2,
    });
    const sync = ops(scenario, "cachetory SyncCache") / ops(scenario, "lru-cache (raw, the limit)");
    list.push({ target: "`SyncCache.get` ≥ 0.5× raw lru-cache", measured: `${number(sync, 2)}×`, holds: sync >= 0.5 });
  }
  for (const [what, scenario] of [
    ["get", "Redis get hit, 64 in flight"],
    ["set with TTL", "Redis set with TTL, 64 in flight"],
  ] as const) {
    const raw = ops(scenario, "node-redis 6, no timeout (raw)");
    const bytes = ops(scenario, "cachetory Cache (bytes, noop)") / raw;
    const json = ops(scenario, "cachetory Cache (json)") / raw;
    list.push({
      target: `Redis ${what} at 64 in flight ≥ 0.9× raw node-redis (same commands, no serializer)`,
      measured: `${number(bytes, 2)}× (with JSON: ${number(json, 2)}×)`,
      holds: bytes >= 0.9,
    });
    const [peer, peerOps] = fastest(scenario, [
      "keyv + @keyv/redis",
      "cache-manager (keyv redis)",
      "bentocache (redis)",
    ]);
    const lead = ops(scenario, "cachetory Cache (json)") / peerOps;
    list.push({
      target: `Redis ${what} at 64 in flight ahead of every peer (all JSON)`,
      measured: `${number(lead, 2)}× the fastest (${peer})`,
      holds: lead > 1,
    });
  }
  for (const scenario of ["Redis get hit, 1 in flight", "Redis set with TTL, 1 in flight"]) {
    const latency =
      find(scenario, "cachetory Cache (bytes, noop)").p50Microseconds /
      find(scenario, "node-redis 6, no timeout (raw)").p50Microseconds;
    list.push({
      target: `${scenario.replace("Redis ", "Redis ")}: p50 latency within 1.1× raw`,
      measured: `${number(latency, 2)}×`,
      holds: latency <= 1.1,
    });
  }
  {
    const scenario = "Redis getMany of 100 keys";
    const ratio = ops(scenario, "cachetory Cache (bytes, noop)") / ops(scenario, "node-redis 6, no timeout (raw)");
    const json = ops(scenario, "cachetory Cache (json)") / ops(scenario, "node-redis 6, no timeout (raw)");
    list.push({
      target: "Redis `getMany` of 100 keys (one MGET) ≥ 0.9× raw MGET",
      measured: `${number(ratio, 2)}× (with JSON: ${number(json, 2)}×)`,
      holds: ratio >= 0.9,
    });
  }
  for (const scenario of ["getOrSet hit (memory)", "getOrSet hit (Redis, 64 in flight)"]) {
    const get = ops(scenario, "cachetory Cache.get (same key)");
    const cost = get / ops(scenario, "cachetory getOrSet");
    const enveloped = get / ops(scenario, "cachetory getOrSet (swr + grace entry)");
    list.push({
      target: `a ${scenario.replace(" hit (", " hit costs ≤ 1.1× a plain `get` (")}`,
      measured: `${number(cost, 2)}× (an entry with swr and grace: ${number(enveloped, 2)}×)`,
      holds: cost <= 1.1 && enveloped <= 1.1,
    });
  }
  {
    const distributed = report.crossProcessStampedes.find((entry) => entry.contestant.endsWith("distributed"));
    list.push({
      target: "cross-process stampede (4 × 250 callers): one factory call in all with lock distributed",
      measured: `${number(distributed?.factoryCalls ?? Number.NaN, 1)} in ${number(distributed?.medianMilliseconds ?? Number.NaN, 0)} ms`,
      holds: distributed?.factoryCalls === 1,
    });
  }
  {
    const scenario = "memoized hit (memory)";
    const cost = ops(scenario, "cachetory Cache.get (same key)") / ops(scenario, "cachetory cached");
    const built = ops(scenario, "cachetory Cache.get (key built per call)") / ops(scenario, "cachetory cached");
    list.push({
      target: "a memoized hit costs ≤ 1.2× a plain `cache.get` (memory)",
      measured: `${number(cost, 2)}× a get of a constant key; ${number(built, 2)}× a get whose key is built per call`,
      holds: cost <= 1.2,
    });
    const redis = "memoized hit (Redis, 1 in flight)";
    const redisCost = ops(redis, "cachetory Cache.get (same key)") / ops(redis, "cachetory cached");
    list.push({
      target: "a memoized hit costs ≤ 1.2× a plain `cache.get` (Redis)",
      measured: `${number(redisCost, 2)}×`,
      holds: redisCost <= 1.2,
    });
  }
  {
    const pipelined = report.ceiling.find((entry) => entry.mode.includes("-P 16"))?.getsPerSecond ?? Number.NaN;
    const ours = ops("Redis get hit, 64 in flight", "cachetory Cache (bytes, noop)");
    const share = ours / pipelined;
    list.push({
      target: "GET at 64 in flight ≥ 50% of `redis-benchmark -P 16`",
      measured: `${number(share * 100, 0)}% (${number(ours)} of ${number(pipelined)} GET/s)`,
      holds: share >= 0.5,
    });
  }
  {
    const scenario = "near hit (in front of Redis)";
    const ratio =
      ops(scenario, "cachetory near hit (Redis, json)") / ops(scenario, "cachetory memory:// Cache.get (noop)");
    list.push({
      target: "a near hit ≥ 0.8× a memory-backend `Cache.get`",
      measured: `${number(ratio, 2)}×`,
      holds: ratio >= 0.8,
    });
    const [peer, peerOps] = fastest(scenario, ["bentocache L1 hit (L1+L2+bus)", "cacheable L1 hit (L1+L2+sync)"]);
    const lead = ops(scenario, "cachetory near hit (Redis, json)") / peerOps;
    list.push({
      target: "a near hit ahead of every peer's L1 hit",
      measured: `${number(lead, 2)}× (${peer})`,
      holds: lead > 1,
    });
    const reads = (contestant: string): number =>
      report.zipf.find((entry) => entry.contestant === contestant)?.readsPerSecond ?? Number.NaN;
    const withoutNear = reads("cachetory near") / reads("cachetory without near");
    list.push({
      target: "Zipf reads with a writer: near ≥ 5× without near",
      measured: `${number(withoutNear, 1)}×`,
      holds: withoutNear >= 5,
    });
    const peers = Math.max(reads("bentocache L1+L2+bus"), reads("cacheable L1+L2+sync"));
    const zipfLead = reads("cachetory near") / peers;
    list.push({
      target: "Zipf reads with a writer: near ahead of bentocache L1+L2+bus and cacheable L1+L2",
      measured: `${number(zipfLead, 1)}× the faster of them`,
      holds: zipfLead > 1,
    });
  }
  {
    const worst = report.loopDelays
      .filter((entry) => entry.where === "thread pool" && entry.bytes >= 10 * 1024 * 1024)
      .reduce((max, entry) => Math.max(max, entry.maxDelayMilliseconds), 0);
    list.push({
      target: "no event-loop stall > 20 ms while a 10 MB value is (de)compressed",
      measured: `${number(worst, 1)} ms at worst`,
      holds: worst <= 20,
    });
  }
  return list;
}

/** The whole report as Markdown (printed, and written to bench/results/latest.md for the README). */
export function renderMarkdown(report: Report): string {
  const parts: string[] = [
    `Machine: ${report.machine}; ${String(report.measureMilliseconds)} ms per contestant after a warm-up; ${report.measuredAt.slice(0, 10)}.`,
    "",
    "### Targets",
    "",
    table(
      ["target", "measured", "holds"],
      targets(report).map((entry) => [entry.target, entry.measured, entry.holds ? "yes" : "**no**"]),
    ),
  ];
  for (const scenario of new Set(report.results.map((result) => result.scenario))) {
    parts.push(
      "",
      `### ${scenario}`,
      "",
      table(
        ["contestant", "ops/s", "p50 µs", "p99 µs", "× cachetory"],
        report.results
          .filter((result) => result.scenario === scenario)
          .map((result) => [
            result.contestant,
            number(result.opsPerSecond),
            number(result.p50Microseconds, 1),
            number(result.p99Microseconds, 1),
            number(result.ratio ?? Number.NaN, 2),
          ]),
      ),
    );
  }
  parts.push(
    "",
    "### Zipf (s = 1) reads over 100 000 keys, 64 in flight, while another process writes 1 % of the keys",
    "",
    "Staleness: from the writer's acknowledged write of a probe key (every 20 ms) to this process first reading it.",
    "",
    table(
      ["contestant", "reads/s", "× cachetory near", "near hit ratio", "writes/s", "stale p50 ms", "p99 ms", "max ms"],
      report.zipf.map((entry) => [
        entry.contestant,
        number(entry.readsPerSecond),
        number(entry.ratio ?? Number.NaN, 2),
        entry.nearHitRatio === undefined ? "–" : `${number(entry.nearHitRatio * 100, 1)}%`,
        number(entry.writesPerSecond),
        number(entry.staleness.p50, 2),
        number(entry.staleness.p99, 2),
        number(entry.staleness.max, 2),
      ]),
    ),
    "",
    "### Stampede: 1 000 callers of one missing key (factory takes 20 ms; median of 5)",
    "",
    table(
      ["contestant", "factory calls", "ms until every caller has the value"],
      report.stampedes.map((entry) => [
        entry.contestant,
        number(entry.factoryCalls, 1),
        number(entry.medianMilliseconds, 1),
      ]),
    ),
    "",
    "### Stampede across processes: 4 processes × 250 callers of one missing key, one Redis (factory takes 20 ms; median of 5)",
    "",
    table(
      ["contestant", "factory calls in all", "ms until every caller has the value"],
      report.crossProcessStampedes.map((entry) => [
        entry.contestant,
        number(entry.factoryCalls, 1),
        number(entry.medianMilliseconds, 1),
      ]),
    ),
    "",
    "### Compressors on 100 KB of JSON records (default levels)",
    "",
    table(
      ["compressor", "ratio", "compress MB/s", "decompress MB/s"],
      report.compression.map((entry) => [
        entry.compressor,
        `${number(entry.ratio, 1)}:1`,
        number(entry.compressMegabytesPerSecond),
        number(entry.decompressMegabytesPerSecond),
      ]),
    ),
    "",
    "### The server's ceiling: redis-benchmark GET, 1 KB values",
    "",
    table(
      ["mode", "GET/s"],
      report.ceiling.map((entry) => [entry.mode, number(entry.getsPerSecond)]),
    ),
    "",
    "### Event-loop stall while a big value is written to and read from Redis (longest, 3 rounds)",
    "",
    table(
      ["value", "serializer", "compressed on the", "longest stall ms"],
      report.loopDelays.map((entry) => [
        `${String(entry.bytes / 1024 / 1024)} MB`,
        entry.serializer,
        entry.where,
        number(entry.maxDelayMilliseconds, 1),
      ]),
    ),
    "",
    "### Memory: heap per entry, 100 000 entries of a distinct 1 KB string",
    "",
    table(
      ["store", "bytes per entry"],
      report.memory.map((entry) => [entry.contestant, number(entry.bytesPerEntry)]),
    ),
    "",
  );
  return parts.join("\n");
}
