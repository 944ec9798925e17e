/**
 * One instance of the cross-process stampede (extras.ts): a contestant's cache over the given Redis.
 * Prints "ready"; then for each key read from stdin, 250 concurrent callers ask for it at once through
 * the contestant (the factory takes 20 ms), and it prints `{ calls, doneAt }` as JSON: its factory calls
 * and when its last caller had the value (on the machine's shared clock).
 */
import { createInterface } from "node:readline";
import KeyvRedis from "@keyv/redis";
import { BentoCache, bentostore } from "bentocache";
import { redisDriver } from "bentocache/drivers/redis";
import { createCache } from "cache-manager";
import { Cache } from "cachetory";
import { Keyv } from "keyv";

export const CROSS_PROCESS_CONTESTANTS = [
  "cachetory getOrSet, lock distributed",
  "cachetory getOrSet, lock process",
  "bentocache getOrSet (redis)",
  "cache-manager wrap (keyv redis)",
] as const;
export type CrossProcessContestant = (typeof CROSS_PROCESS_CONTESTANTS)[number];

const CALLERS = 250;
const now = (): number => performance.timeOrigin + performance.now();

async function contestant(
  name: CrossProcessContestant,
  url: string,
  port: number,
): Promise<{ call(key: string, factory: () => Promise<string>): Promise<unknown>; close(): Promise<unknown> }> {
  if (name.startsWith("cachetory")) {
    const cache = new Cache<string>({ backend: url, serializer: "json://" });
    const options = { timeToLive: 60_000, lock: name.endsWith("distributed") ? "distributed" : "process" } as const;
    return { call: (key, factory) => cache.getOrSet(key, factory, options), close: () => cache.close() };
  }
  if (name.startsWith("bentocache")) {
    const bento = new BentoCache({
      default: "redis",
      stores: { redis: bentostore().useL2Layer(redisDriver({ connection: { host: "127.0.0.1", port } })) },
    });
    return { call: (key, factory) => bento.getOrSet({ key, ttl: "1m", factory }), close: () => bento.disconnect() };
  }
  const manager = createCache({ stores: [new Keyv({ store: new KeyvRedis(url) })] });
  return { call: (key, factory) => manager.wrap(key, factory, 60_000), close: () => manager.disconnect() };
}

const [name, url, port] = process.argv.slice(2) as [CrossProcessContestant, string, string];
if (process.argv[1]?.endsWith("stampede-child.ts") === true) {
  const cache = await contestant(name, url, Number(port));
  process.stdout.write("ready\n");
  for await (const key of createInterface({ input: process.stdin })) {
    if (key === "") break;
    let calls = 0;
    const factory = async (): Promise<string> => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return "fresh";
    };
    await Promise.all(Array.from({ length: CALLERS }, () => cache.call(key, factory)));
    process.stdout.write(`${JSON.stringify({ calls, doneAt: now() })}\n`);
  }
  await cache.close();
}
