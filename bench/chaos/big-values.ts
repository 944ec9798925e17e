/**
 * L7, hot key and big values (reported, never asserted): one key written and read back in a loop on a
 * private redis-server, for values of 1 KB to 10 MB through json/msgpack/v8 with no compressor, zlib
 * or zstd. Prints operations per second and the event loop's delay (max and p99) meanwhile. Runs on the
 * built package (`npm run bench:chaos` builds it first).
 *
 *   npm run bench:chaos -- big-values
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
// The built package: its zstd worker is JavaScript, which Node 20 can start (not a .ts file).
import { Cache } from "../../dist/esm/index.js";
import { RedisServer } from "../../test/support/redis-server.js";

const server = await RedisServer.start();
const sizes = [1024, 100 * 1024, 1024 * 1024, 10 * 1024 * 1024];
const formats = ["json", "msgpack", "v8"];
const compressors = ["", "+zlib", "+zstd"];

function valueOf(bytes: number): { items: string[] } {
  const item = "x".repeat(1000);
  return { items: Array.from({ length: Math.max(1, Math.round(bytes / 1000)) }, () => item) };
}

console.log(`L7 hot key, big values, Redis on loopback (Node ${process.version})`);
console.log("size     serializer        ops/s   loop delay max   p99");
for (const size of sizes) {
  const value = valueOf(size);
  for (const format of formats) {
    for (const compressor of compressors) {
      const url = `${format}${compressor}://`;
      const cache = new Cache<{ items: string[] }>({ backend: `${server.url(0)}?timeout=10000`, serializer: url });
      const histogram = monitorEventLoopDelay({ resolution: 1 });
      histogram.enable();
      const rounds = size >= 1024 * 1024 ? 5 : 200;
      const started = performance.now();
      for (let round = 0; round < rounds; round++) {
        await cache.set("hot", value);
        await cache.get("hot");
      }
      const seconds = (performance.now() - started) / 1000;
      histogram.disable();
      await cache.close();
      console.log(
        `${`${String(size / 1024)} KB`.padEnd(8)} ${url.padEnd(16)} ${((rounds * 2) / seconds).toFixed(0).padStart(7)}   ${(histogram.max / 1e6).toFixed(1).padStart(8)} ms ${(histogram.percentile(99) / 1e6).toFixed(1).padStart(6)} ms`,
      );
    }
  }
}
await server.stop();
