/**
 * What checksum:// and hmac:// cost over json:// alone: a set and a get of one value through a Cache, 1 KB
 * and 100 KB values, over the memory backend (where json:// keeps its text as it is, and a sealed chain
 * pays for the bytes too: the worst case) and over a Redis server of its own on loopback; the chains
 * interleaved round by round and the median of each kept.
 *
 *   npm run build && node --expose-gc --import tsx bench/micro/integrity.ts
 */
import { Cache } from "../../dist/esm/index.js";
import { RedisServer } from "../../test/support/redis-server.js";

process.env["BENCH_HMAC_KEY"] ??= "bench-only-key-".repeat(3);
const CHAINS = ["json://", "json+checksum://", "json+hmac://?key-env=BENCH_HMAC_KEY"];
const ROUNDS = 31;

function valueOf(bytes: number): { id: number; name: string; score: number }[] {
  const items: { id: number; name: string; score: number }[] = [];
  while (JSON.stringify(items).length < bytes)
    items.push({ id: items.length, name: `item ${String(items.length)}`, score: items.length / 7 });
  return items;
}

async function microsPerRoundTrip(cache: Cache<unknown>, value: unknown, operations: number): Promise<number> {
  const started = process.hrtime.bigint();
  for (let index = 0; index < operations; index++) {
    await cache.set("k", value);
    if ((await cache.get("k")) === undefined) throw new Error("lost the value");
  }
  return Number(process.hrtime.bigint() - started) / operations / 1000;
}

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

const server = await RedisServer.start();
for (const [backend, size] of [
  ["memory://", 1024],
  ["memory://", 100 * 1024],
  [server.url(0), 1024],
  [server.url(0), 100 * 1024],
] as const) {
  const value = valueOf(size);
  const remote = backend !== "memory://";
  const operations = (size > 10_000 ? 200 : 5000) / (remote ? 5 : 1);
  const caches = CHAINS.map(
    (serializer, index) => new Cache<unknown>({ backend, serializer, prefix: `${String(index)}:` }),
  );
  const samples = CHAINS.map((): number[] => []);
  for (const cache of caches) await microsPerRoundTrip(cache, value, operations / 5);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [index, cache] of caches.entries())
      samples[index]?.push(await microsPerRoundTrip(cache, value, operations));
  }
  const base = median(samples[0] ?? []);
  console.log(
    `\n${remote ? "Redis" : "memory"}, ${String(size / 1024)} KB value (${String(JSON.stringify(value).length)} bytes of JSON), set + get, median of ${String(ROUNDS)}`,
  );
  console.log("| serializer | µs per set + get | ÷ json:// |\n| --- | ---: | ---: |");
  for (const [index, chain] of CHAINS.entries()) {
    const micros = median(samples[index] ?? []);
    console.log(`| \`${chain.split("?")[0] ?? chain}\` | ${micros.toFixed(1)} | ${(micros / base).toFixed(3)} |`);
  }
  for (const cache of caches) await cache.close();
}
await server.stop();
