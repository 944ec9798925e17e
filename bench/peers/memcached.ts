/**
 * cachetory's memcached backend against the Node clients of the field, on one private memcached on a
 * free port, in one run: memjs (the binary protocol), `@keyv/memcache` (Keyv over memjs), memcache-client
 * and memcached (the text protocol). `npm run bench` runs it after the peers; alone:
 * `node --import tsx bench/peers/memcached.ts`. Everyone reads and writes the same 1 KB value, as JSON
 * (cachetory and Keyv serialize; the raw clients are given `JSON.stringify`/`JSON.parse` around their
 * calls), at 1 and 64 calls in flight. Results go to bench/results/memcached.md and .json.
 */
import KeyvMemcache from "@keyv/memcache";
import { Cache } from "cachetory";
import { Keyv } from "keyv";
import { MemcacheClient } from "memcache-client";
import Memcached from "memcached";
import memjs from "memjs";
import { MemcachedServer } from "../../test/support/memcached-server.js";
import { RatioTable } from "./ratio-table.js";

const VALUE = JSON.stringify({ text: "x".repeat(1000) }).slice(0, 1024);
const KEYS = 1000;
const table = new RatioTable();
const closers: (() => unknown)[] = [];

let counter = 0;
/** One of KEYS keys, in turn. */
function nextKey(): string {
  counter = (counter + 1) % KEYS;
  return `k${String(counter)}`;
}

const server = await MemcachedServer.start();
closers.push(() => server.stop());
try {
  const ours = new Cache<string>({ backend: `memcached://${server.address}?timeout=5000`, serializer: "json://" });
  const binary = memjs.Client.create(server.address, { logger: { log: () => undefined } });
  const keyv = new Keyv<string>({ store: new KeyvMemcache(server.address) });
  const walmart = new MemcacheClient({ server: server.address, ignoreNotStored: true });
  const classic = new Memcached(server.address);
  closers.push(
    () => ours.close(),
    () => binary.close(),
    () => keyv.disconnect(),
    () => walmart.shutdown(),
    () => classic.end(),
  );
  const classicGet = (key: string): Promise<unknown> =>
    new Promise((resolve, reject) =>
      classic.get(key, (error: unknown, data: unknown) =>
        error ? reject(error as Error) : resolve(JSON.parse(String(data))),
      ),
    );
  const classicSet = (key: string, value: string, seconds: number): Promise<unknown> =>
    new Promise((resolve, reject) =>
      classic.set(key, JSON.stringify(value), seconds, (error: unknown) =>
        error ? reject(error as Error) : resolve(true),
      ),
    );
  for (let index = 0; index < KEYS; index++) {
    const key = `k${String(index)}`;
    await ours.set(key, VALUE);
    await binary.set(`memjs:${key}`, JSON.stringify(VALUE), {});
    await keyv.set(key, VALUE);
    await walmart.set(`mc:${key}`, JSON.stringify(VALUE), { lifetime: 0 });
    await classicSet(`classic:${key}`, VALUE, 0);
  }
  for (const concurrency of [1, 64]) {
    const options = { concurrency };
    const name = (operation: string): string => `memcached ${operation}, ${String(concurrency)} in flight`;
    await table.scenario([
      [name("get"), "cachetory", () => ours.get(nextKey()), options],
      [
        name("get"),
        "memjs",
        async () => JSON.parse(String((await binary.get(`memjs:${nextKey()}`)).value)) as unknown,
        options,
      ],
      [name("get"), "@keyv/memcache", () => keyv.get(nextKey()), options],
      [
        name("get"),
        "memcache-client",
        async () => JSON.parse(String((await walmart.get<string>(`mc:${nextKey()}`))?.value)) as unknown,
        options,
      ],
      [name("get"), "memcached", () => classicGet(`classic:${nextKey()}`), options],
    ]);
    await table.scenario([
      [name("set"), "cachetory", () => ours.set(nextKey(), VALUE, { timeToLive: 60_000 }), options],
      [name("set"), "memjs", () => binary.set(`memjs:${nextKey()}`, JSON.stringify(VALUE), { expires: 60 }), options],
      [name("set"), "@keyv/memcache", () => keyv.set(nextKey(), VALUE, 60_000), options],
      [
        name("set"),
        "memcache-client",
        () => walmart.set(`mc:${nextKey()}`, JSON.stringify(VALUE), { lifetime: 60 }),
        options,
      ],
      [name("set"), "memcached", () => classicSet(`classic:${nextKey()}`, VALUE, 60), options],
    ]);
  }
} finally {
  for (const close of closers.reverse()) await close();
}
table.write("memcached", "memcached backends and clients");
