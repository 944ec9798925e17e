/**
 * Tags across instances on a real redis-server and a local 3-master cluster: T1 (A tags 10 000 entries,
 * B holds them near, C reads without a near tier; A's deleteByTag costs O(1) commands, B and C miss them
 * all, the rest untouched), T2 (the same on a cluster, entries and tag states on different slots, tags
 * with `{}`: no CROSSSLOT reaches the caller), expireByTag across instances, and tag states evicted by
 * Redis itself (maxmemory) failing safe.
 */
import assert from "node:assert/strict";
import { after, afterEach, describe, it } from "node:test";
import { loadSlotFunction } from "../../src/backends/redis/drivers/driver.js";
import { Cache } from "../../src/cache/cache.js";
import { stateKeys } from "../../src/tags/tag-state.js";
import { RedisCluster } from "../support/redis-cluster.js";
import { rawCommand, redisUnavailableReason, RedisServer } from "../support/redis-server.js";

const unavailable = redisUnavailableReason();
const requirement = unavailable === undefined ? {} : { skip: unavailable };
const server = unavailable === undefined ? await RedisServer.start() : undefined;
const cluster = unavailable === undefined ? await RedisCluster.start() : undefined;
const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
after(async () => {
  await server?.stop();
  await cluster?.stop();
});

const ENTRIES = 10_000;
const tagged = Array.from({ length: ENTRIES }, (_, index) => `user:${String(index)}`);
const others = Array.from({ length: 100 }, (_, index) => `other:${String(index)}`);
const untagged = Array.from({ length: 100 }, (_, index) => `plain:${String(index)}`);

function cacheOver(url: string, near: boolean): Cache<string> {
  const cache = new Cache<string>({
    backend: `${url}${url.includes("?") ? "&" : "?"}timeout=5000`,
    serializer: "json://",
    prefix: "t:",
    ...(near ? { near: { maxEntries: 50_000 } } : {}),
  });
  closers.push(() => cache.close());
  return cache;
}

async function until(check: () => Promise<boolean>, withinMs: number, what: string): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > withinMs) assert.fail(`${what} did not hold within ${String(withinMs)} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return performance.now() - started;
}

async function readAll(cache: Cache<string>, keys: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (let start = 0; start < keys.length; start += 1000) {
    for (const [key, value] of await cache.getMany(...keys.slice(start, start + 1000))) found.set(key, value);
  }
  return found;
}

/** Commands the servers processed, summed over `ports` (an INFO counts the one before it, not itself). */
async function commandsProcessed(ports: readonly number[]): Promise<number> {
  let total = 0;
  for (const port of ports) {
    const info = await rawCommand(port, "INFO stats", 1000, true);
    total += Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? Number.NaN);
  }
  return total;
}

/** T1 (or, over a cluster, T2): the case of reliability.md, with the figures printed. */
async function tagsAcrossInstances(url: string, ports: readonly number[], label: string): Promise<void> {
  const writer = cacheOver(url, true);
  const holder = cacheOver(url, true);
  const reader = cacheOver(url, false);
  await writer.clear();
  await writer.setMany(
    tagged.map((key): [string, string] => [key, `v:${key}`]),
    { tags: ["org:7", "{org}:7 *"], timeToLive: "1h" },
  );
  await writer.setMany(
    others.map((key): [string, string] => [key, `v:${key}`]),
    { tags: ["org:8"] },
  );
  await writer.setMany(untagged.map((key): [string, string] => [key, `v:${key}`]));
  const everything = [...tagged, ...others, ...untagged];
  assert.equal((await readAll(holder, everything)).size, everything.length);
  assert.ok((holder.stats.near?.entries ?? 0) >= everything.length, "the holder has them near");
  assert.equal((await readAll(reader, everything)).size, everything.length);
  // Let every read's server-side work finish before counting.
  const before = await commandsProcessed(ports);
  await writer.deleteByTag("org:7");
  const commands = (await commandsProcessed(ports)) - before - ports.length;
  // One MSET, or with a tracking connection MULTI, SET, PTTL, EXEC (the key read back to stay tracked), per
  // node whose slots hold the tags' states: the same for 10 entries as for 10 000.
  assert.ok(commands <= 4 * ports.length, `deleteByTag cost ${String(commands)} commands`);
  // Without a near tier the very next read misses; a near tier learns of it by Redis's invalidation.
  assert.equal(await reader.get(tagged[0] as string), undefined);
  const window = await until(
    async () => (await holder.get(tagged[0] as string)) === undefined,
    1000,
    "the holder's miss",
  );
  const seenByHolder = await readAll(holder, everything);
  const seenByReader = await readAll(reader, everything);
  for (const seen of [seenByHolder, seenByReader]) {
    assert.equal(seen.size, others.length + untagged.length);
    for (const key of tagged) assert.equal(seen.has(key), false);
    for (const key of [...others, ...untagged]) assert.equal(seen.get(key), `v:${key}`);
  }
  console.log(
    `# ${label}: deleteByTag over ${String(ENTRIES)} entries cost ${String(commands)} command(s) in one round trip; the near holder missed ${window.toFixed(2)} ms after the call returned`,
  );
}

describe("tags across instances on Redis", requirement, () => {
  it("T1: A tags 10 000 entries, B holds them near, C reads them; A deletes the tag: both miss them all, nothing else", async () => {
    if (server === undefined) throw new Error("no redis-server");
    await tagsAcrossInstances(server.url(1), [server.port], "T1");
  });

  it("expireByTag on A makes B's near entries stale: served within staleWhileRevalidate while one refresh runs", async () => {
    if (server === undefined) throw new Error("no redis-server");
    const a = cacheOver(server.url(2), true);
    const b = cacheOver(server.url(2), true);
    const options = { timeToLive: "1h", staleWhileRevalidate: "1h", tags: ["org:1"] } as const;
    await a.getOrSet("k", () => "v1", options);
    assert.equal(await b.getOrSet("k", () => "unused", options), "v1");
    await a.expireByTag("org:1");
    let refreshes = 0;
    await until(
      async () => (await b.getOrSet("k", () => (refreshes++, "v2"), options)) === "v2",
      2000,
      "the refreshed value",
    );
    assert.equal(refreshes, 1, "one refresh");
    assert.equal(b.stats.staleHits >= 1, true);
    assert.equal(await a.get("k"), "v2", "what B stored, A reads");
  });

  it("tag states evicted by Redis (maxmemory, allkeys-random) fail safe: their entries read as gone, never again as current", async () => {
    const small = await RedisServer.start({
      arguments: ["--maxmemory", "3mb", "--maxmemory-policy", "allkeys-random"],
    });
    closers.push(() => small.stop());
    const cache = cacheOver(small.url(), false);
    const keys = Array.from({ length: 300 }, (_, index) => `e${String(index)}`);
    for (const key of keys) await cache.set(key, key, { tags: [`tag-of-${key}`] });
    const filler = "x".repeat(1000);
    let orphans: string[] = [];
    for (let round = 0; round < 200 && orphans.length === 0; round++) {
      await cache.setMany(
        Array.from({ length: 100 }, (_, index): [string, string] => [`fill:${String(round)}:${String(index)}`, filler]),
      );
      orphans = [];
      for (const key of keys) {
        const [generation] = stateKeys("t:", [`tag-of-${key}`]);
        const entryThere = (await rawCommand(small.port, `EXISTS t:${key}`)) === ":1";
        // The state key holds a NUL: ask by its bytes through the cache's own backend.
        const stateThere = await cache.backend.has(generation as string);
        if (entryThere && !stateThere) orphans.push(key);
      }
    }
    assert.ok(orphans.length > 0, "some entry outlived its tag's state");
    for (const key of orphans) assert.equal(await cache.get(key), undefined, `${key} reads as gone`);
    // A new write of the tag creates its state anew: the orphan still matches nothing.
    const orphan = orphans[0] as string;
    await cache.set("fresh", "f", { tags: [`tag-of-${orphan}`] });
    assert.equal(await cache.get(orphan), undefined);
    console.log(`# tag states evicted: ${String(orphans.length)} entries outlived theirs, all read as gone`);
  });
});

describe("tags when Redis fails", requirement, () => {
  it("deleteByTag, expireByTag and tagged writes reject with BackendError within the deadline; tagged reads follow failedReads", async () => {
    const doomed = await RedisServer.start();
    closers.push(() => doomed.stop());
    const strict = new Cache<string>({ backend: `${doomed.url()}?timeout=300`, serializer: "json://" });
    const lenient = new Cache<string>({
      backend: `${doomed.url()}?timeout=300`,
      serializer: "json://",
      failedReads: "miss",
      onError: () => undefined,
    });
    closers.push(
      () => strict.close(),
      () => lenient.close(),
    );
    await strict.set("k", "v", { tags: ["t"] });
    assert.equal(await lenient.get("k"), "v");
    await doomed.stop();
    for (const call of [
      () => strict.deleteByTag("t"),
      () => strict.expireByTag("t"),
      () => strict.set("k2", "v", { tags: ["t"] }),
      () => strict.setMany({ k3: "v" }, { tags: ["t"] }),
      () => strict.get("k"),
    ]) {
      const started = performance.now();
      await assert.rejects(call(), (error: unknown) => (error as Error).name === "BackendError");
      assert.ok(performance.now() - started < 2000, "settled within the deadline");
    }
    assert.equal(await lenient.get("k"), undefined, "failedReads: miss");
    assert.equal(await lenient.getOrSet("k", () => "computed", { timeToLive: "1m", tags: ["t"] }), "computed");
  });
});

describe("tags across instances on Redis Cluster", requirement, () => {
  it("T2: T1 with entries and tag states on different slots; no CROSSSLOT reaches the caller", async () => {
    if (cluster === undefined) throw new Error("no cluster");
    const slotOf = loadSlotFunction();
    const entrySlots = new Set(tagged.map((key) => slotOf(`t:${key}`)));
    assert.ok(entrySlots.size > 1000, "the entries span the slots");
    const stateSlots = new Set(stateKeys("t:", ["org:7", "{org}:7 *", "org:8"]).map((key) => slotOf(key)));
    assert.equal(stateSlots.size, 3, "each tag's two keys share a slot, the tags' slots differ");
    await tagsAcrossInstances(
      cluster.url(),
      cluster.nodes.map((node) => node.port),
      "T2",
    );
  });

  it("getOrSet, expireByTag and getMany over many slots and tags with {} and :", async () => {
    if (cluster === undefined) throw new Error("no cluster");
    const a = cacheOver(cluster.url(), true);
    const b = cacheOver(cluster.url(), false);
    const tags = ["{a}", "b:{c}", "}{", "ü"];
    for (const [index, tag] of tags.entries()) {
      await a.getOrSet(`g${String(index)}`, () => `v${String(index)}`, {
        timeToLive: "1h",
        grace: "1h",
        tags: [tag, "all"],
      });
    }
    assert.equal((await b.getMany("g0", "g1", "g2", "g3")).size, 4);
    await b.expireByTag("{a}", "}{");
    // A holds the tags' states near: it sees the expiry once Redis's invalidation has reached it.
    const options = { timeToLive: "1h", grace: "1h", tags: ["{a}", "all"] } as const;
    await until(async () => (await a.getOrSet("g0", () => "fresh", options)) === "fresh", 1000, "the refresh");
    assert.equal(await b.getOrSet("g1", () => "unused", { timeToLive: "1h", tags: ["b:{c}"] }), "v1");
    await a.deleteByTag("all");
    assert.equal((await b.getMany("g0", "g1", "g2", "g3")).size, 0);
  });
});
