/**
 * The second process of the near-cache workload (near.ts): for the given duration, overwrites 1 % of the
 * keys (1 000 of 100 000, spread over the key space, round robin, 1 in flight) through the contestant's
 * own library, or a raw node-redis client for cachetory, and every 20 ms the probe key with the next
 * number, noting when each probe write was acknowledged. Prints "ready", then the probes as JSON.
 */
import { createClient } from "redis";
import { contender, ZIPF_KEYS, type ZipfContestant } from "./near.js";

const [name, url, port, duration] = process.argv.slice(2) as [ZipfContestant, string, string, string];
const now = (): number => performance.timeOrigin + performance.now();
const VALUE = JSON.stringify("y".repeat(1000));

/** How this contestant's writer writes: its own library, or (cachetory) any client at all. */
async function writerFor(): Promise<{ set(key: string, value: string): Promise<unknown>; close(): Promise<unknown> }> {
  if (!name.startsWith("cachetory")) return contender(name, url, Number(port));
  const raw = createClient({ url });
  await raw.connect();
  return {
    // cachetory's keys are under its prefix, JSON-encoded.
    set: (key, value) => raw.set(`z:${key}`, JSON.stringify(value)),
    close: () => raw.destroy(),
  };
}

const writer = await writerFor();
const written = Array.from({ length: ZIPF_KEYS / 100 }, (_, index) => `k${String(index * 100 + 7)}`);
const acknowledged: [number, number][] = [];
let writes = 0;
let stop = false;
process.stdout.write("ready\n");
const started = performance.now();
const bulk = (async () => {
  let index = 0;
  while (!stop) {
    await writer.set(written[index++ % written.length] ?? "k7", VALUE);
    writes++;
  }
})();
for (let sequence = 1; performance.now() - started < Number(duration); sequence++) {
  await writer.set("probe", String(sequence));
  acknowledged.push([sequence, now()]);
  await new Promise((resolve) => setTimeout(resolve, 20));
}
stop = true;
await bulk;
const seconds = (performance.now() - started) / 1000;
await writer.close();
process.stdout.write(JSON.stringify({ acknowledged, writes, seconds }));
process.exit(0);
