/**
 * getOrSet against real redis-server processes: the locks capability and fenced writes; G2 (grace while
 * Redis is down, with and without a near tier, and past grace); L4 and G4 (4 child processes × 250
 * callers, one factory call in all with lock "distributed"; the holder killed with -9, and stopped with
 * SIGSTOP past lockTimeout and resumed, never overwriting the newer value); G5 and L6 (10 000 keys of
 * the same time to live read from 4 processes: misses per 100 ms at expiry without early refresh,
 * refreshes spread before it with). Figures are printed; the bounds asserted have wide slack.
 */
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { after, afterEach, describe, it } from "node:test";
import { Redis } from "ioredis";
import { RedisBackend } from "../../src/backends/redis/backend.js";
import { Cache } from "../../src/cache/cache.js";
import { ENVELOPE_MARKER, FENCE_DIGITS, FENCE_OFFSET } from "../../src/cache/envelope.js";
import { BackendError } from "../../src/errors.js";
import { sleep } from "../support/fault-guard.js";
import { needsRedis, RedisServer } from "../support/redis-server.js";

const requirement = needsRedis();
const server = requirement.skip === undefined ? await RedisServer.start() : undefined;
const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
after(async () => {
  await server?.stop();
});

function running(): RedisServer {
  if (server === undefined) throw new Error("no redis-server");
  return server;
}

const CHILD = fileURLToPath(new URL("../support/get-or-set-child.ts", import.meta.url));

/** A child process running get-or-set-child.ts. */
class Instance {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: AsyncIterator<string>;
  readonly #stderr: string[] = [];

  private constructor(url: string) {
    this.#child = spawn(process.execPath, ["--import", "tsx", CHILD, url], { stdio: "pipe" });
    this.#child.stderr.on("data", (chunk: Buffer) => this.#stderr.push(chunk.toString()));
    this.#lines = createInterface({ input: this.#child.stdout })[Symbol.asyncIterator]();
    closers.push(() => {
      if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill("SIGKILL");
    });
  }

  static async start(url: string): Promise<Instance> {
    const instance = new Instance(url);
    await instance.next("ready");
    return instance;
  }

  get pid(): number {
    const pid = this.#child.pid;
    if (pid === undefined) throw new Error("no child");
    return pid;
  }

  send(command: unknown): void {
    this.#child.stdin.write(`${JSON.stringify(command)}\n`);
  }

  /** The next message with this event (others are skipped). */
  async next<T = Record<string, unknown>>(event: string): Promise<T> {
    for (;;) {
      const line = await this.#lines.next();
      if (line.done === true) throw new Error(`the child ended before "${event}": ${this.#stderr.join("")}`);
      const message = JSON.parse(line.value) as { event: string };
      if (message.event === event) return message as T;
    }
  }

  signal(signal: NodeJS.Signals): void {
    process.kill(this.pid, signal);
  }
}

interface Done {
  readonly calls: number;
  readonly answers: string[];
}

let nextDatabase = 1;
function database(): string {
  return running().url(nextDatabase++ % 16);
}

describe("getOrSet over Redis", requirement, () => {
  for (const client of ["node-redis", "ioredis"] as const) {
    it(`locks over ${client}: set with a token unless held, released only by its holder; fenced writes refuse what is not older`, async () => {
      const backend =
        client === "node-redis"
          ? new RedisBackend({ url: database() })
          : new RedisBackend({ client: new Redis(database(), { lazyConnect: true }), closeClient: true });
      closers.push(() => backend.close());
      await backend.clear("");
      const locks = backend.capabilities.locks;
      assert.ok(locks !== undefined);
      assert.equal(await locks.acquire("lock", "a", 200), true);
      assert.equal(await locks.acquire("lock", "b", 200), "a", "held: the holder's token");
      assert.equal(await locks.release("lock", "b"), false);
      assert.equal(await locks.release("lock", "a"), true);
      assert.equal(await locks.acquire("lock", "b", 50), true);
      await sleep(80);
      assert.equal(await locks.acquire("lock", "c", 50), true, "an expired lock is free");

      const fence = (value: number) => ({ marker: ENVELOPE_MARKER, offset: FENCE_OFFSET, digits: FENCE_DIGITS, value });
      const enveloped = (value: number) =>
        Buffer.concat([
          Buffer.from(ENVELOPE_MARKER),
          Buffer.from([0]),
          Buffer.from(value.toString(16).padStart(16, "0")),
          Buffer.alloc(30),
        ]);
      assert.equal(await locks.setFenced("k", enveloped(5), 10_000, fence(5)), true, "absent: written");
      assert.equal(await locks.setFenced("k", enveloped(5), 10_000, fence(5)), false, "the same fence: refused");
      assert.equal(await locks.setFenced("k", enveloped(4), 10_000, fence(4)), false, "an older fence: refused");
      assert.equal(await locks.setFenced("k", enveloped(6), undefined, fence(6)), true, "a newer fence: written");
      assert.deepEqual(await backend.get("k"), enveloped(6));
      await backend.set("plain", "v", {});
      assert.equal(await locks.setFenced("plain", enveloped(9), 10_000, fence(9)), false, "a plain value is newer");
    });
  }

  describe("G2: grace while Redis is down", () => {
    const GRACE = { timeToLive: 20, grace: 60_000 } as const;

    async function cacheOver(url: string, options: { near?: boolean; failedReads?: "miss" } = {}) {
      const cache = new Cache<unknown>({
        backend: `${url}?timeout=200&breaker-threshold=1000`,
        serializer: "json://",
        onError: () => undefined,
        ...(options.near === true ? { near: true } : {}),
        ...(options.failedReads === undefined ? {} : { failedReads: options.failedReads }),
      });
      closers.push(() => cache.close());
      return cache;
    }

    it("with a near tier: the stale value, counted as a stale hit; past grace, BackendError; without one, BackendError", async () => {
      const own = await RedisServer.start();
      closers.push(() => own.stop());
      const near = await cacheOver(own.url(), { near: true });
      const plain = await cacheOver(own.url());
      const missing = await cacheOver(own.url(), { failedReads: "miss" });
      await near.getOrSet("k", () => "stored", GRACE);
      await near.getOrSet("short", () => "short-lived", { timeToLive: 10, grace: 150 });
      assert.equal(await plain.get("k"), "stored");
      await sleep(30);
      await own.crash();
      // Until the client notices, the near tier still answers, and an entry in grace is refreshed (S9–S12).
      for (let waited = 0; (near.stats.near?.flushes ?? 0) === 0; waited += 5) {
        if (waited > 2000) throw new Error("the near tier never noticed the crash");
        await sleep(5);
      }
      const factoryCalls: string[] = [];
      const factory = (name: string) => () => (factoryCalls.push(name), `${name} computed`);

      assert.equal(await near.getOrSet("k", factory("near"), GRACE), "stored");
      assert.equal(near.stats.staleHits, 1);
      assert.equal(near.stats.failedReads, 1);
      await assert.rejects(plain.getOrSet("k", factory("plain"), GRACE), BackendError);
      // failedReads "miss": the read failure is a miss, so the factory computes (its store fails, reported).
      assert.equal(await missing.getOrSet("k", factory("miss"), GRACE), "miss computed");
      await sleep(200);
      await assert.rejects(near.getOrSet("short", factory("near"), { timeToLive: 10, grace: 150 }), BackendError);
      assert.deepEqual(factoryCalls, ["miss"]);
      await own.restart();
    });
  });

  describe("L4 and G4: one computation across processes", () => {
    async function instances(count: number, url: string): Promise<Instance[]> {
      return Promise.all(Array.from({ length: count }, () => Instance.start(url)));
    }

    it("4 processes × 250 callers: one factory call in all with lock distributed, at most one per process without", async () => {
      const url = database();
      const cache = new Cache<unknown>({ backend: url, serializer: "json://" });
      closers.push(() => cache.close());
      await cache.clear();
      const children = await instances(4, url);
      for (const [index, child] of children.entries()) {
        child.send({
          op: "stampede",
          key: "locked",
          callers: 250,
          factoryMs: 300,
          tag: `p${String(index)}`,
          options: { timeToLive: "1m", lock: "distributed" },
        });
      }
      const locked = await Promise.all(children.map((child) => child.next<Done>("done")));
      const lockedCalls = locked.reduce((sum, done) => sum + done.calls, 0);
      const answers = new Set(locked.flatMap((done) => done.answers));
      console.log(
        `# L4/G4 lock distributed: ${String(lockedCalls)} factory call(s) for 1000 callers in 4 processes; answers ${[...answers].join(", ")}`,
      );
      assert.equal(lockedCalls, 1);
      assert.equal(answers.size, 1);

      for (const [index, child] of children.entries()) {
        child.send({
          op: "stampede",
          key: "unlocked",
          callers: 250,
          factoryMs: 300,
          tag: `p${String(index)}`,
          options: { timeToLive: "1m" },
        });
      }
      const unlocked = await Promise.all(children.map((child) => child.next<Done>("done")));
      console.log(`# L4 lock process: ${unlocked.map((done) => String(done.calls)).join(" + ")} factory calls`);
      for (const done of unlocked) assert.ok(done.calls <= 1);
      for (const child of children) child.send({ op: "exit" });
    });

    it("G4: the holder killed with -9: another computes within lockTimeout + deadline", async () => {
      const url = database();
      const cache = new Cache<unknown>({ backend: url, serializer: "json://" });
      closers.push(() => cache.close());
      await cache.clear();
      const [holder, ...others] = await instances(4, url);
      assert.ok(holder !== undefined);
      const options = { timeToLive: "1m", lock: "distributed", lockTimeout: 1000 };
      holder.send({ op: "stampede", key: "k", callers: 250, factoryMs: 60_000, tag: "holder", options });
      await holder.next("computing");
      const started = performance.now();
      for (const [index, child] of others.entries()) {
        child.send({ op: "stampede", key: "k", callers: 250, factoryMs: 100, tag: `p${String(index)}`, options });
      }
      await sleep(200);
      holder.signal("SIGKILL");
      const done = await Promise.all(others.map((child) => child.next<Done>("done")));
      const elapsed = performance.now() - started;
      const calls = done.reduce((sum, each) => sum + each.calls, 0);
      console.log(
        `# G4 holder killed: the others served in ${elapsed.toFixed(0)} ms with ${String(calls)} factory call(s)`,
      );
      // lockTimeout (1 s) + one deadline (500 ms) + the factory (100 ms), with slack for a loaded machine.
      assert.ok(elapsed < 1000 + 500 + 100 + 1500, `took ${elapsed.toFixed(0)} ms`);
      assert.equal(calls, 1, "the lock changed hands once: the others waited for the new holder");
      assert.ok(done.every((each) => each.answers.every((answer) => !answer.startsWith("error"))));
      for (const child of others) child.send({ op: "exit" });
    });

    it("G4: a holder stopped past lockTimeout that resumes never overwrites the newer value (fencing)", async () => {
      const url = database();
      const cache = new Cache<unknown>({ backend: url, serializer: "json://" });
      closers.push(() => cache.close());
      await cache.clear();
      const [stalled, other] = await instances(2, url);
      assert.ok(stalled !== undefined && other !== undefined);
      const options = { timeToLive: "1m", lock: "distributed", lockTimeout: 500 };
      stalled.send({ op: "stampede", key: "k", callers: 10, factoryMs: 1000, tag: "stalled", options });
      await stalled.next("computing");
      stalled.signal("SIGSTOP");
      other.send({ op: "stampede", key: "k", callers: 10, factoryMs: 50, tag: "newer", options });
      const newer = await other.next<Done>("done");
      assert.deepEqual(newer, { event: "done", calls: 1, answers: ["newer"] });
      assert.deepEqual(await cache.get("k"), { by: "newer" });
      stalled.signal("SIGCONT");
      const resumed = await stalled.next<Done>("done");
      // Its own callers get what it computed; the store keeps the newer value.
      assert.deepEqual(resumed.answers, ["stalled"]);
      await sleep(50);
      assert.deepEqual(await cache.get("k"), { by: "newer" });
      for (const child of [stalled, other]) child.send({ op: "exit" });
    });
  });

  describe("G5 and L6: 10 000 keys with the same time to live, read from 4 processes", () => {
    /**
     * The most keys first recomputed in one 100 ms bucket, the most misses (computations with no stale
     * value in hand) in one, and the misses in all.
     */
    function histogram(computations: [number, number, boolean][], since: number) {
      const buckets = new Map<number, number>();
      const missBuckets = new Map<number, number>();
      const firstPerKey = new Map<number, number>();
      let misses = 0;
      for (const [key, at, hadStale] of computations) {
        if (at < since) continue;
        if (!hadStale) {
          misses++;
          const bucket = Math.floor((at - since) / 100);
          missBuckets.set(bucket, (missBuckets.get(bucket) ?? 0) + 1);
        }
        if (!firstPerKey.has(key)) firstPerKey.set(key, at);
      }
      for (const at of firstPerKey.values()) {
        const bucket = Math.floor((at - since) / 100);
        buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1);
      }
      return {
        peak: Math.max(0, ...buckets.values()),
        peakMisses: Math.max(0, ...missBuckets.values()),
        misses,
        keys: firstPerKey.size,
      };
    }

    /**
     * How long the readers go on after the time to live: long enough for them to reach every key once
     * more after it, which takes computing all 10 000 (20 ms each, 64 at a time per process): 9 006 of them
     * were reached in the first second in one CI run on busy shared cores.
     */
    const AFTER_EXPIRY_MS = 2000;

    /**
     * Writes 10 000 keys at once (each computation taking 200 ms: XFetch's delta), then reads them from 4
     * processes for the time to live and {@link AFTER_EXPIRY_MS} more; the readers' own computations take 20 ms.
     */
    async function run(timeToLive: number, earlyRefresh: number) {
      const url = database();
      const children = await Promise.all(Array.from({ length: 4 }, () => Instance.start(url)));
      const cache = new Cache<unknown>({ backend: `${url}?timeout=10000&max-in-flight=100000`, serializer: "json://" });
      closers.push(() => cache.close());
      await cache.clear();
      const options = { timeToLive, earlyRefresh };
      await Promise.all(
        Array.from({ length: 10_000 }, (_, index) =>
          cache.getOrSet(`k${String(index)}`, async () => (await sleep(200), index), options),
        ),
      );
      const since = Date.now();
      for (const child of children) {
        child.send({
          op: "readers",
          keys: 10_000,
          durationMs: timeToLive + AFTER_EXPIRY_MS,
          options,
          factoryMs: 20,
          inFlight: 64,
        });
      }
      const done = await Promise.all(
        children.map((child) => child.next<{ computations: [number, number, boolean][]; reads: number }>("done")),
      );
      for (const child of children) child.send({ op: "exit" });
      const reads = done.reduce((sum, each) => sum + each.reads, 0);
      return {
        ...histogram(
          done.flatMap((each) => each.computations),
          since,
        ),
        readsPerSecond: reads / ((timeToLive + AFTER_EXPIRY_MS) / 1000),
      };
    }

    it("without early refresh the keys expire in a cliff; with it, refreshes spread out before expiry and misses are ≈ 0", async () => {
      const cliff = await run(2000, 0);
      console.log(
        `# L6 earlyRefresh off: ${String(cliff.misses)} misses, ${String(cliff.peakMisses)} in the busiest 100 ms (${cliff.readsPerSecond.toFixed(0)} reads/s from 4 processes)`,
      );
      const spread = await run(8000, 12);
      console.log(
        `# G5 earlyRefresh 12: ${String(spread.misses)} misses; ${String(spread.keys)} keys refreshed, at most ${String(spread.peak)} in one 100 ms (${spread.readsPerSecond.toFixed(0)} reads/s)`,
      );
      assert.ok(cliff.misses >= 10_000, "without early refresh, every key is missed at expiry");
      assert.ok(spread.keys >= 9000, `only ${String(spread.keys)} keys were refreshed`);
      assert.ok(spread.peak <= 2000, `peak bucket ${String(spread.peak)} > 20 % of 10 000 keys`);
      // ≈ 0 against the cliff's 10 000+: 7 on a quiet machine, 105 and then 200 in full CI runs, where stalls
      // of the shared cores near expiry let 1–2 % of refreshes land late. 3 % keeps the claim and not the noise.
      assert.ok(spread.misses <= 300, `${String(spread.misses)} misses`);
    });
  });
});
