/**
 * F12, the outage soak (reported, never asserted): a cache on a private redis-server serves 2 000
 * operations per second; Redis is killed for 30 s, then restarted. Prints RSS growth, the most
 * operations ever waiting inside the backend, and latency percentiles before, in the first second of
 * the outage (until the circuit opens), with the circuit open, and after.
 *
 *   npm run bench:chaos            (OUTAGE_SECONDS=30 by default)
 */
import { RedisBackend } from "../../src/backends/redis/backend.js";
import { Cache } from "../../src/cache/cache.js";
import { RedisServer } from "../../test/support/redis-server.js";

const outageSeconds = Number(process.env["OUTAGE_SECONDS"] ?? 30);
const rate = 2000;

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

const server = await RedisServer.start();
const backend = new RedisBackend({ url: server.url(0) });
const cache = new Cache<string>({ backend, serializer: "json://", onError: () => {} });
const phases = new Map<string, number[]>();
let phase = "before";
let maxWaiting = 0;
let running = true;

const load = (async () => {
  let sent = 0;
  const started = performance.now();
  while (running) {
    const due = started + (sent * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    sent++;
    const key = `k${String(sent % 1000)}`;
    const at = performance.now();
    const latencies = phases.get(phase) ?? [];
    phases.set(phase, latencies);
    void cache
      .set(key, "v")
      .catch(() => undefined)
      .finally(() => latencies.push(performance.now() - at));
    maxWaiting = Math.max(maxWaiting, backend.inFlight);
  }
})();

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
await sleep(3000);
global.gc?.();
const rssBefore = process.memoryUsage().rss;
await server.crash();
// The first timeouts open the circuit; after that, calls are refused at once.
phase = "down";
await sleep(1000);
phase = "open";
await sleep(outageSeconds * 1000 - 1000);
const rssDown = process.memoryUsage().rss;
await server.restart();
phase = "after";
await sleep(3000);
running = false;
await load;
await cache.close();
await server.stop();

console.log(`F12 outage soak: ${String(rate)} ops/s, Redis down ${String(outageSeconds)} s (Node ${process.version})`);
console.log(`  RSS growth during the outage: ${((rssDown - rssBefore) / 2 ** 20).toFixed(1)} MB`);
console.log(`  most operations waiting in the backend at once: ${String(maxWaiting)} (max-in-flight 10000)`);
for (const [name, latencies] of phases) {
  const sorted = latencies.sort((a, b) => a - b);
  console.log(
    `  ${name.padEnd(6)} ${String(sorted.length).padStart(6)} ops  p50 ${percentile(sorted, 0.5).toFixed(2)} ms  p99 ${percentile(sorted, 0.99).toFixed(2)} ms  max ${percentile(sorted, 1).toFixed(1)} ms`,
  );
}
