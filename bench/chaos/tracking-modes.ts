/**
 * Redis's two tracking modes side by side, as docs/near-cache.md reports them: `npm run bench:chaos
 * tracking-modes`. On a private redis-server, 100 000 keys under `app:`; a RESP3 reader reads 10 % of them
 * (default mode: those keys are tracked for it) or subscribes to the prefix (`BCAST PREFIX app:`); a writer
 * then overwrites all 100 000. Reported: the server's memory for the tracking, the invalidations the
 * reader received, and the staleness window (from the writer's acknowledged write of a key the reader
 * holds to the reader receiving its invalidation) over 1 000 writes.
 */
import { createClient } from "redis";
import { RedisServer } from "../../test/support/redis-server.js";

const KEYS = 100_000;
const READ = KEYS / 10;

const server = await RedisServer.start();
const url = server.url(0);
const writer = createClient({ url });
await writer.connect();

async function usedMemory(): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await writer.info("memory"))?.[1]);
}

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

const rows: string[] = [];
for (const mode of ["default", "bcast"] as const) {
  await writer.flushAll();
  for (let start = 0; start < KEYS; start += 10_000) {
    await writer.mSet(
      Array.from({ length: 10_000 }, (_, offset) => [`app:${String(start + offset)}`, "v"] as [string, string]),
    );
  }
  const reader = createClient({ url, RESP: 3, emitInvalidate: true });
  let invalidations = 0;
  const arrivals = new Map<string, number>();
  reader.on("invalidate", (key: unknown) => {
    invalidations++;
    if (key !== null) arrivals.set(String(key), performance.now());
  });
  await reader.connect();
  const before = await usedMemory();
  if (mode === "bcast") {
    await reader.sendCommand(["CLIENT", "TRACKING", "OFF"]);
    await reader.sendCommand(["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "app:"]);
  }
  for (let start = 0; start < READ; start += 1000) {
    await reader.sendCommand(["MGET", ...Array.from({ length: 1000 }, (_, offset) => `app:${String(start + offset)}`)]);
  }
  const memory = (await usedMemory()) - before;
  const tracked = Number(/tracking_total_keys:(\d+)/.exec(await writer.info("stats"))?.[1]);
  const windows: number[] = [];
  for (let index = 0; index < KEYS; index++) {
    const key = `app:${String(index)}`;
    if (index < 1000) {
      // A key the reader holds: time its invalidation from the acknowledgement.
      await writer.set(key, "w");
      const acknowledged = performance.now();
      while (!arrivals.has(key)) await new Promise((resolve) => setImmediate(resolve));
      // The reader may see the push before this process has handled the write's reply: that is no delay.
      windows.push(Math.max(0, (arrivals.get(key) ?? acknowledged) - acknowledged));
    } else if (index % 1000 === 0) {
      await writer.mSet(
        Array.from({ length: 1000 }, (_, offset) => [`app:${String(index + offset)}`, "w"] as [string, string]),
      );
    }
  }
  await reader.ping();
  windows.sort((a, b) => a - b);
  rows.push(
    `| ${mode === "default" ? "default" : "BCAST PREFIX app:"} | ${String(Math.round(memory / 1024))} KiB | ${String(tracked)} | ${String(invalidations)} | ${percentile(windows, 0.5).toFixed(3)} / ${percentile(windows, 0.99).toFixed(3)} / ${(windows.at(-1) ?? 0).toFixed(3)} |`,
  );
  reader.destroy();
}
writer.destroy();
await server.stop();
console.log(
  [
    `${String(KEYS)} keys under app:, the reader reads ${String(READ)}, the writer overwrites all`,
    "",
    "| mode | server memory for tracking | keys tracked | invalidations received | staleness p50 / p99 / max ms |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n"),
);
