/**
 * The near tier over a real redis-server, kept coherent by Redis's own invalidations (CLIENT TRACKING):
 * N1 (any writer: a raw client and a Python process overwrite, delete, expire and evict keys held near),
 * N2 (a read and the invalidation of its key in one chunk), N3 and F17 (a lost stream: CLIENT KILL, a
 * restart, FLUSHDB, FLUSHALL), N4 (bounds, with the server's tracking table smaller than the near tier),
 * N5 (Redis killed while near hits are served), and the rules of docs/near-cache.md: time to live,
 * our own writes, getMany, the coalesced path, prefixes, shared and injected clients. Staleness figures are
 * printed; only liveness bounds with wide slack are asserted.
 */
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { after, afterEach, describe, it } from "node:test";
import { Redis } from "ioredis";
import { createClient } from "redis";
import { RedisBackend } from "../../src/backends/redis/backend.js";
import { Cache } from "../../src/cache/cache.js";
import { BackendError, ConfigurationError } from "../../src/errors.js";
import { NearBackend } from "../../src/layers/near.js";
import { runBackendConformance } from "../support/conformance.js";
import { sleep } from "../support/fault-guard.js";
import { findPython } from "../support/python.js";
import { needsRedis, RedisServer, serversRequired } from "../support/redis-server.js";

const requirement = needsRedis();
const server = requirement.skip === undefined ? await RedisServer.start() : undefined;
const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
after(async () => {
  await server?.stop();
});

/** A plain client of another writer (RESP2, no tracking). */
const plainClient = (url: string) => createClient({ url });
type Raw = ReturnType<typeof plainClient>;

function running(): RedisServer {
  if (server === undefined) throw new Error("no redis-server");
  return server;
}

/** A connected plain client of the shared server, closed after the test. */
async function rawClient(database = 0): Promise<Raw> {
  const client = plainClient(running().url(database));
  await client.connect();
  closers.push(() => {
    client.destroy();
  });
  return client;
}

/**
 * A redis-server of the test's own (started with `serverArguments`), a raw client of it (which outlives the
 * server's restarts) and a near cache over it, all stopped after the test.
 */
async function ownServer(
  serverArguments: string[],
  options: { near?: object | true; query?: string } = {},
): Promise<{ own: RedisServer; raw: Raw; cache: Cache<string> }> {
  const own = await RedisServer.start({ arguments: serverArguments });
  closers.push(() => own.stop());
  const raw = plainClient(own.url(0));
  raw.on("error", () => undefined);
  await raw.connect();
  closers.push(() => {
    raw.destroy();
  });
  const cache = new Cache<string>({
    backend: `${own.url(0)}${options.query ?? ""}`,
    serializer: "json://",
    prefix: "n:",
    near: options.near ?? true,
  });
  closers.push(() => cache.close());
  return { own, raw, cache };
}

function nearCache(options: { prefix?: string; database?: number; near?: object } = {}): Cache<string> {
  const cache = new Cache<string>({
    backend: running().url(options.database ?? 0),
    serializer: "json://",
    prefix: options.prefix ?? "n:",
    near: options.near ?? { maxEntries: 100_000 },
  });
  closers.push(() => cache.close());
  return cache;
}

/** Waits until `check` holds, for at most `withinMs`; how long it took. */
async function until(
  check: () => boolean | Promise<boolean>,
  withinMs = 2000,
  what = "the condition",
): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > withinMs) assert.fail(`${what} did not hold within ${String(withinMs)} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return performance.now() - started;
}

function percentiles(samples: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (fraction: number): number =>
    sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? 0;
  const round = (value: number): number => Math.round(value * 1000) / 1000;
  return { p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted.at(-1) ?? 0) };
}

/**
 * A round trip on the near cache's connection (a key it does not hold): every invalidation the server sent
 * it before has been seen once this returns.
 */
async function syncedWithServer(cache: Cache<string>): Promise<void> {
  await cache.has("never-held");
}

const KEYS = Array.from({ length: 1000 }, (_, index) => `k${String(index)}`);

/** Stores `KEYS` under `n:` with the raw client and reads them all through the near cache, which then holds them. */
async function seed(raw: Raw, cache: Cache<string>, value = "v0"): Promise<void> {
  await raw.mSet(KEYS.map((key) => [`n:${key}`, JSON.stringify(value)] as [string, string]));
  await syncedWithServer(cache);
  for (let start = 0; start < KEYS.length; start += 100) await cache.getMany(...KEYS.slice(start, start + 100));
  assert.equal(cache.stats.near?.entries, KEYS.length, "every key held near");
  for (const key of KEYS.slice(0, 10)) assert.equal(await cache.get(key), value);
}

/**
 * For each key: `write` (another writer's command, awaited: its reply is the acknowledgement), then the time
 * until the near cache returns `expected`; afterwards, every key read once more must still be new (no stale
 * read after that point).
 */
async function staleness(
  cache: Cache<string>,
  write: (key: string) => Promise<unknown>,
  expected: string | undefined,
): Promise<{ p50: number; p99: number; max: number }> {
  const windows: number[] = [];
  for (const key of KEYS) {
    await write(key);
    windows.push(await until(async () => (await cache.get(key)) === expected, 1000, `the new state of ${key}`));
  }
  for (const key of KEYS) assert.equal(await cache.get(key), expected, `${key} read again`);
  return percentiles(windows);
}

describe("near tier over Redis", requirement, () => {
  runBackendConformance("near tier over redis:// (notifyChanges)", async () => {
    const backend = new NearBackend<unknown>(new RedisBackend({ url: running().url(3), notifyChanges: true }));
    await backend.clear("");
    return backend;
  });

  it("answers hits with no round trip, and counts them", async () => {
    const raw = await rawClient();
    const cache = nearCache();
    await raw.set("n:hot", JSON.stringify("value"));
    assert.equal(await cache.get("hot"), "value");
    const before = Number(/cmdstat_mget:calls=(\d+)/.exec(await raw.info("commandstats"))?.[1]);
    for (let index = 0; index < 1000; index++) assert.equal(await cache.get("hot"), "value");
    const afterwards = Number(/cmdstat_mget:calls=(\d+)/.exec(await raw.info("commandstats"))?.[1]);
    assert.equal(afterwards, before, "no MGET for the hits");
    assert.equal(cache.stats.near?.hits, 1000);
    assert.equal(cache.stats.near?.misses, 1);
  });

  describe("N1 / F17: a raw client's writes reach the near tier within the push delivery", () => {
    it("overwrite, delete and PEXPIRE 1 of 1 000 keys held near", async () => {
      const raw = await rawClient();
      const cache = nearCache();
      await seed(raw, cache);
      const overwrite = await staleness(cache, (key) => raw.set(`n:${key}`, JSON.stringify("v1")), "v1");
      await seed(raw, cache);
      const deleted = await staleness(cache, (key) => raw.del(`n:${key}`), undefined);
      await seed(raw, cache);
      const expired = await staleness(cache, (key) => raw.pExpire(`n:${key}`, 1), undefined);
      console.log(
        `# N1 raw writer staleness in ms: overwrite ${JSON.stringify(overwrite)}, delete ${JSON.stringify(deleted)}, PEXPIRE 1 ${JSON.stringify(expired)}`,
      );
    });

    it("keys evicted by maxmemory (allkeys-lru) leave the near tier too", async () => {
      const { raw, cache } = await ownServer(["--maxmemory-policy", "allkeys-lru"]);
      const big = "x".repeat(1000);
      await seed(raw, cache, big);
      const used = Number(/used_memory:(\d+)/.exec(await raw.info("memory"))?.[1]);
      await raw.configSet("maxmemory", String(used + 512 * 1024));
      // Filler written by the raw client, never read near: Redis evicts the least recently used keys.
      for (let round = 0; round < 40; round++) {
        await raw.mSet(
          Array.from(
            { length: 100 },
            (_, index) => [`filler:${String(round)}:${String(index)}`, big] as [string, string],
          ),
        );
      }
      const gone: string[] = [];
      for (const key of KEYS) if ((await raw.exists(`n:${key}`)) === 0) gone.push(key);
      assert.ok(gone.length > 100, `Redis evicted ${String(gone.length)} of the keys held near`);
      for (const key of gone) await until(async () => (await cache.get(key)) === undefined, 1000, `evicted ${key}`);
      await raw.configSet("maxmemory", "0");
      console.log(`# N1 eviction: ${String(gone.length)} keys evicted, all gone from the near tier`);
    });
  });

  describe("N1: a Python process's writes (python3-redis)", () => {
    const python = findPython(["redis"]);
    const skip = "reason" in python && !serversRequired ? python.reason : undefined;
    it("overwrite, delete and PEXPIRE 1 of 1 000 keys held near", skip === undefined ? {} : { skip }, async () => {
      if ("reason" in python) assert.fail(python.reason);
      const writer = new PythonWriter(python.python, running().port);
      closers.push(() => {
        writer.stop();
      });
      const raw = await rawClient();
      const cache = nearCache();
      await seed(raw, cache);
      const overwrite = await staleness(cache, (key) => writer.run("set", `n:${key}`, JSON.stringify("py")), "py");
      await seed(raw, cache);
      const deleted = await staleness(cache, (key) => writer.run("delete", `n:${key}`), undefined);
      await seed(raw, cache);
      const expired = await staleness(cache, (key) => writer.run("pexpire", `n:${key}`), undefined);
      console.log(
        `# N1 Python writer staleness in ms: overwrite ${JSON.stringify(overwrite)}, delete ${JSON.stringify(deleted)}, PEXPIRE 1 ${JSON.stringify(expired)}`,
      );
    });
  });

  it("N2: a read racing another writer's writes never keeps the old value once the write is acknowledged (10 000 rounds)", async () => {
    const raw = await rawClient();
    const cache = nearCache();
    await raw.set("n:race", JSON.stringify("0"));
    let stop = false;
    let reads = 0;
    // Reads of the key, back to back: their replies share chunks with the invalidations of the writes.
    const readers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        await cache.get("race");
        reads++;
        // A near hit settles at once: without a turn of the event loop, nothing else would run.
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
    let checks = 0;
    try {
      // Writes back to back: each lands while the readers' read after the last invalidation is in flight.
      // A stale value kept then would stay for good (Redis stops tracking a key once it has invalidated it),
      // so a check every 100 rounds finds it.
      for (let round = 1; round <= 10_000; round++) {
        await raw.set("n:race", JSON.stringify(String(round)));
        if (round % 100 !== 0) continue;
        await syncedWithServer(cache);
        const seen = await cache.get("race");
        checks++;
        if (seen !== String(round))
          assert.fail(`round ${String(round)}: read ${String(seen)} after the write was acknowledged`);
      }
    } finally {
      stop = true;
      await Promise.all(readers);
    }
    assert.ok(reads > 10_000, `${String(reads)} racing reads`);
    assert.equal(checks, 100);
    console.log(
      `# N2: 10000 rounds, ${String(reads)} racing reads, ${String(cache.stats.near?.invalidations)} invalidations, no stale value kept`,
    );
  });

  describe("N3 / F17: when the stream may have missed something, the near tier is emptied before it serves again", () => {
    it("CLIENT KILL of the near cache's connection", async () => {
      const raw = await rawClient();
      const cache = nearCache();
      await seed(raw, cache);
      const flushes = cache.stats.near?.flushes ?? 0;
      const clients = await raw.sendCommand<string>(["CLIENT", "LIST"]);
      const tracking = clients.split("\n").filter((line) => /flags=\S*t/.test(line));
      assert.equal(tracking.length, 1, "one tracking connection");
      await raw.sendCommand(["CLIENT", "KILL", "ID", /id=(\d+)/.exec(tracking[0] ?? "")?.[1] ?? ""]);
      await raw.set("n:k0", JSON.stringify("after the kill"));
      await until(() => (cache.stats.near?.flushes ?? 0) > flushes, 2000, "the flush");
      assert.equal(cache.stats.near?.entries, 0);
      assert.equal(await cache.get("k0"), "after the kill");
    });

    it("a server restart (nothing kept on disk)", async () => {
      const { own, raw, cache } = await ownServer([]);
      await cache.set("k", "before");
      assert.equal(await cache.get("k"), "before");
      assert.equal(cache.stats.near?.entries, 1);
      await own.restart();
      await until(() => raw.isReady, 5000, "the raw client's reconnection");
      await raw.set("n:k", JSON.stringify("after"));
      await until(() => cache.stats.near?.flushes === 1, 2000, "the flush");
      assert.equal(await cache.get("k"), "after");
    });

    for (const command of ["FLUSHDB", "FLUSHALL"]) {
      it(command, async () => {
        const raw = await rawClient();
        const cache = nearCache();
        await seed(raw, cache);
        await raw.sendCommand([command]);
        await syncedWithServer(cache);
        assert.equal(cache.stats.near?.entries, 0);
        assert.equal(cache.stats.near?.flushes, 1);
        assert.equal(await cache.get("k1"), undefined);
      });
    }
  });

  it("N4: 1 000 000 distinct keys through maxEntries 10 000, with the server tracking at most 1 000: bounded, never stale", async () => {
    const { raw, cache } = await ownServer(["--tracking-table-max-keys", "1000"], { near: { maxEntries: 10_000 } });
    const total = 1_000_000;
    const batch = 1000;
    const name = (index: number): string => `m${String(index)}`;
    for (let start = 0; start < total; start += 10_000) {
      await raw.mSet(
        Array.from({ length: 10_000 }, (_, offset) => [`n:${name(start + offset)}`, '"v"'] as [string, string]),
      );
    }
    const heapAt: number[] = [];
    let largest = 0;
    for (let start = 0; start < total; start += batch) {
      const keys = Array.from({ length: batch }, (_, offset) => name(start + offset));
      await cache.getMany(...keys);
      largest = Math.max(largest, cache.stats.near?.entries ?? 0);
      if (start === 100_000 || start + batch === total) {
        global.gc?.();
        heapAt.push(process.memoryUsage().heapUsed);
      }
    }
    assert.ok(largest <= 10_000, `at most 10 000 entries near (held ${String(largest)})`);
    const tracked = Number(/tracking_total_keys:(\d+)/.exec(await raw.info("stats"))?.[1]);
    assert.ok(tracked <= 1000, `the server tracks ${String(tracked)} keys`);
    // The keys read last: those the near tier may still hold, and those the server stopped tracking.
    const recent = Array.from({ length: 10_000 }, (_, offset) => name(total - 10_000 + offset));
    for (let start = 0; start < recent.length; start += 1000) {
      await raw.mSet(recent.slice(start, start + 1000).map((key) => [`n:${key}`, '"new"'] as [string, string]));
    }
    await syncedWithServer(cache);
    const found = await cache.getMany(...recent);
    const stale = recent.filter((key) => found.get(key) !== "new");
    assert.deepEqual(stale.slice(0, 5), [], `${String(stale.length)} stale reads`);
    const [atStart = 0, atEnd = 0] = heapAt;
    console.log(
      `# N4: largest near tier ${String(largest)} entries, server tracking ${String(tracked)} keys, heap ${String(Math.round(atStart / 2 ** 20))} MiB at 100k keys, ${String(Math.round(atEnd / 2 ** 20))} MiB at 1M`,
    );
    if (global.gc !== undefined) assert.ok(atEnd - atStart < 64 * 2 ** 20, "the heap stays bounded");
  });

  it("N5: Redis killed while near hits are served: they stop once the connection is known lost", async () => {
    const { own: dying, cache } = await ownServer([], { query: "?timeout=200" });
    await cache.set("k", "held");
    assert.equal(await cache.get("k"), "held");
    const hits = cache.stats.near?.hits ?? 0;
    assert.equal(await cache.get("k"), "held");
    assert.equal(cache.stats.near?.hits, hits + 1, "served near");
    await dying.crash();
    const known = await until(() => cache.stats.near?.flushes === 1, 2000, "the flush");
    assert.equal(cache.stats.near?.entries, 0);
    await assert.rejects(cache.get("k"), BackendError);
    console.log(`# N5: near tier emptied ${known.toFixed(1)} ms after the kill`);
  });

  it("an entry never outlives the key's time to live in Redis, even before Redis expires it", async () => {
    const raw = await rawClient();
    const cache = nearCache();
    // Redis then removes expired keys only when they are touched: no invalidation comes at expiry.
    await raw.sendCommand(["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    closers.push(() => raw.sendCommand(["DEBUG", "SET-ACTIVE-EXPIRE", "1"]));
    await raw.set("n:short", JSON.stringify("v"), { PX: 150 });
    assert.equal(await cache.get("short"), "v");
    assert.equal(cache.stats.near?.entries, 1);
    await sleep(200);
    assert.equal(cache.stats.near?.invalidations, 0, "no invalidation came");
    assert.equal(await cache.get("short"), undefined);
    const bounded = nearCache({ prefix: "b:", near: { timeToLive: 100 } });
    await bounded.set("k", "v");
    const misses = bounded.stats.near?.misses ?? 0;
    assert.equal(await bounded.get("k"), "v");
    assert.equal(bounded.stats.near?.misses, misses, "served near");
    await sleep(150);
    assert.equal(await bounded.get("k"), "v");
    assert.equal(bounded.stats.near?.misses, misses + 1, "near.timeToLive bounds it too: read from Redis again");
  });

  it("our own writes, deletes, expireIn and clear() update the near tier at once", async () => {
    const cache = nearCache({ prefix: "own:" });
    await cache.set("a", "1");
    await cache.setMany({ b: "2", c: "3" });
    const hits = cache.stats.near?.hits ?? 0;
    assert.deepEqual([await cache.get("a"), await cache.get("b"), await cache.get("c")], ["1", "2", "3"]);
    assert.equal(cache.stats.near?.hits, hits + 3, "what we wrote is served near");
    await cache.set("a", "1b");
    assert.equal(await cache.get("a"), "1b");
    await cache.delete("b");
    assert.equal(await cache.get("b"), undefined);
    await cache.expireIn("c", 1);
    await sleep(20);
    assert.equal(await cache.get("c"), undefined);
    await cache.clear();
    assert.equal(cache.stats.near?.entries, 0);
    assert.equal(await cache.get("a"), undefined);
  });

  it("a write still in flight when we write or delete the key again is not kept near: the later one is what Redis holds", async () => {
    const cache = nearCache({ prefix: "order:" });
    await cache.set("warm", "w");
    await Promise.all([cache.set("k", "first"), cache.delete("k")]);
    assert.equal(await cache.get("k"), undefined);
    await Promise.all([cache.setMany({ k: "many" }), cache.set("k", "single")]);
    assert.equal(await cache.get("k"), "single");
    await Promise.all([cache.set("k", "again"), cache.deleteMany("k")]);
    assert.equal(await cache.get("k"), undefined);
    await Promise.all([cache.set("k", "v", { timeToLive: "1h" }), cache.expireIn("k", 1)]);
    await sleep(20);
    assert.equal(await cache.get("k"), undefined);
  });

  it("two caches over one backend: a write through one reaches the other's near tier at once", async () => {
    const backend = new RedisBackend({ url: running().url(0), notifyChanges: true });
    const first = new Cache<string>({ backend, serializer: "json://", prefix: "two:", near: true });
    const second = new Cache<string>({ backend, serializer: "json://", prefix: "two:", near: true });
    closers.push(() => backend.close());
    await first.set("k", "v1");
    assert.equal(await second.get("k"), "v1");
    assert.equal(await second.get("k"), "v1");
    await first.set("k", "v2");
    assert.equal(await second.get("k"), "v2");
    await first.delete("k");
    assert.equal(await second.get("k"), undefined);
  });

  it("getMany reads what is not near in one round trip and keeps it; concurrent gets still share one MGET", async () => {
    const raw = await rawClient();
    const cache = nearCache({ prefix: "many:" });
    await raw.mSet(
      Array.from(
        { length: 64 },
        (_, index) => [`many:${String(index)}`, JSON.stringify(String(index))] as [string, string],
      ),
    );
    const keys = Array.from({ length: 64 }, (_, index) => String(index));
    const mgets = async (): Promise<number> =>
      Number(/cmdstat_mget:calls=(\d+)/.exec(await raw.info("commandstats"))?.[1] ?? 0);
    const before = await mgets();
    const values = await Promise.all(keys.slice(0, 32).map((key) => cache.get(key)));
    assert.deepEqual(values, keys.slice(0, 32));
    assert.equal((await mgets()) - before, 1, "32 concurrent misses: one MGET");
    const found = await cache.getMany(...keys);
    assert.equal(found.size, 64);
    assert.equal((await mgets()) - before, 2, "getMany: one more, for the 32 not held");
    assert.equal(cache.stats.near?.entries, 64);
  });

  it("prefixes keep caches apart: an invalidation under one leaves the other's entries", async () => {
    const raw = await rawClient();
    const a = nearCache({ prefix: "a:" });
    const b = nearCache({ prefix: "b:" });
    await raw.mSet([
      ["a:k", '"a"'],
      ["b:k", '"b"'],
    ]);
    assert.deepEqual([await a.get("k"), await b.get("k")], ["a", "b"]);
    await raw.set("a:k", '"a2"');
    await syncedWithServer(a);
    assert.equal(await a.get("k"), "a2");
    assert.equal(b.stats.near?.entries, 1);
    assert.equal(await b.get("k"), "b");
  });

  it("takes an injected node-redis client created to track, and refuses one that was not, or ioredis, saying why", async () => {
    const client = createClient({ url: running().url(0), RESP: 3, emitInvalidate: true });
    const cache = new Cache<string>({
      backend: new RedisBackend({ client, closeClient: true }),
      serializer: "json://",
      near: true,
    });
    closers.push(() => cache.close());
    const raw = await rawClient();
    await raw.set("injected", '"v1"');
    assert.equal(await cache.get("injected"), "v1");
    await raw.set("injected", '"v2"');
    await until(async () => (await cache.get("injected")) === "v2", 1000, "the invalidation");
    assert.throws(
      () =>
        new Cache({
          backend: new RedisBackend({ client: createClient({ url: running().url(0) }) }),
          serializer: "json://",
          near: true,
        }),
      (error: unknown) =>
        error instanceof ConfigurationError && /notifyChanges/.test(error.message) && /timeToLive/.test(error.message),
    );
    const ioredis = new Redis({ port: running().port, host: "127.0.0.1", lazyConnect: true });
    closers.push(() => {
      ioredis.disconnect();
    });
    assert.throws(
      () => new RedisBackend({ client: ioredis, notifyChanges: true }),
      (error: unknown) => error instanceof ConfigurationError && /ioredis speaks RESP2/.test(error.message),
    );
    const bounded = new Cache<string>({
      backend: new RedisBackend({ client: ioredis }),
      serializer: "json://",
      near: { timeToLive: 1000 },
    });
    closers.push(() => bounded.close());
    await raw.set("io", '"v"');
    assert.equal(await bounded.get("io"), "v");
    assert.equal(bounded.stats.near?.entries, 1, "bounded staleness with a timeToLive");
  });

  it("never puts a password in the message of a refused near tier", () => {
    const backend = new RedisBackend({ url: "redis://user:hunter2@127.0.0.1:1/0" });
    closers.push(() => backend.close());
    assert.throws(
      () => new Cache({ backend, serializer: "json://", near: true }),
      (error: unknown) =>
        error instanceof ConfigurationError &&
        /RedisBackend cannot tell/.test(error.message) &&
        !error.message.includes("hunter2"),
    );
  });
});

/** A Python process with python3-redis that runs one command per line it reads and answers "ok" once done. */
class PythonWriter {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #replies: AsyncIterator<string>;

  constructor(python: string, port: number) {
    this.#child = spawn(python, [
      "-u",
      "-c",
      `
import sys, redis
client = redis.Redis(host="127.0.0.1", port=${String(port)}, db=0)
for line in sys.stdin:
    operation, key, *value = line.rstrip("\\n").split(" ", 2)
    if operation == "set":
        client.set(key, value[0])
    elif operation == "delete":
        client.delete(key)
    elif operation == "pexpire":
        client.pexpire(key, 1)
    print("ok", flush=True)
`,
    ]);
    this.#replies = createInterface({ input: this.#child.stdout })[Symbol.asyncIterator]();
  }

  /** Runs one command and waits for Python to say it got the server's reply. */
  async run(operation: string, key: string, value?: string): Promise<void> {
    this.#child.stdin.write(`${operation} ${key}${value === undefined ? "" : ` ${value}`}\n`);
    const reply = await this.#replies.next();
    if (reply.value !== "ok") throw new Error(`python writer: ${String(reply.value)}`);
  }

  stop(): void {
    this.#child.kill("SIGKILL");
  }
}
