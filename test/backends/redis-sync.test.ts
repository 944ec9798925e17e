/**
 * The synchronous Redis backend runs its client in a worker thread. Node 20 cannot start a worker
 * from a `.ts` file under tsx, so these tests use the built package (`npm test` builds first): they
 * test exactly what ships.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, describe, it } from "node:test";
import { Cache, SyncCache } from "../../dist/esm/index.js";
import { RedisBackend } from "../../dist/esm/backends/sync/index.js";
import { SyncBackendAdapter } from "../../src/backends/sync-adapter.js";
import { runBackendConformance } from "../support/conformance.js";
import { sleep } from "../support/fault-guard.js";
import { redisUnavailableReason, RedisServer } from "../support/redis-server.js";

const unavailable = redisUnavailableReason();
const server = unavailable === undefined ? await RedisServer.start() : undefined;
after(async () => {
  await server?.stop();
});

function url(database: number, query = ""): string {
  if (server === undefined) throw new Error("no redis-server");
  return `${server.url(database)}${query}`;
}

/** How long a synchronous call blocked the calling thread, and how it ended. */
function timed(call: () => unknown): { ms: number; outcome: string } {
  const started = performance.now();
  let outcome = "ok";
  try {
    call();
  } catch (error) {
    outcome = (error as Error).name;
  }
  return { ms: performance.now() - started, outcome };
}

if (server === undefined) {
  it("sync Redis backend", { skip: unavailable }, () => {});
} else {
  runBackendConformance(
    "redis:// (sync, worker thread)",
    () => {
      const backend = new RedisBackend({ url: url(6) });
      backend.clear("");
      return new SyncBackendAdapter(backend);
    },
    { timeScale: 3 },
  );

  describe("sync Redis backend", () => {
    it("tags: a SyncCache and an async Cache over one Redis see each other's deleteByTag and expireByTag", async () => {
      const cache = new SyncCache<string>({ backend: url(8), serializer: "json://", prefix: "tags:" });
      const other = new Cache<string>({ backend: url(8), serializer: "json://", prefix: "tags:", near: true });
      try {
        cache.set("a", "A", { tags: ["org:1"] });
        assert.equal(
          cache.getOrSet("b", () => "B", { timeToLive: "1h", tags: ["org:1", "org:2"] }),
          "B",
        );
        assert.equal(await other.get("a"), "A");
        assert.equal(await other.get("b"), "B");
        await other.deleteByTag("org:2");
        assert.equal(cache.get("b"), undefined);
        assert.equal(cache.get("a"), "A");
        cache.deleteByTag("org:1");
        for (let round = 0; round < 100 && (await other.get("a")) !== undefined; round++) await sleep(5);
        assert.equal(await other.get("a"), undefined, "the near tier heard of it");
        await other.set("c", "C", { tags: ["org:3"] });
        cache.expireByTag("org:3");
        assert.equal(cache.get("c"), undefined, "a tagged set has no stale window");
      } finally {
        cache.close();
        await other.close();
      }
    });

    it("serves a SyncCache built from a redis:// URL", () => {
      const cache = new SyncCache<{ n: number }>({ backend: url(7), serializer: "json://", prefix: "sync:" });
      try {
        cache.set("a", { n: 1 }, { timeToLive: "1m" });
        assert.deepEqual(cache.get("a"), { n: 1 });
        assert.deepEqual(cache.getMany("a", "b"), new Map([["a", { n: 1 }]]));
        assert.equal(cache.has("b"), false);
      } finally {
        cache.close();
      }
    });

    it("hands large values over from the worker without copying, and bounds the wait when even that is too slow", () => {
      // A 200 MB get takes 0.8-1.2 s here; the deadline leaves room for a busy machine.
      const backend = new RedisBackend({ url: url(9, "?timeout=2500") });
      // Writing 200 MB is not what is measured: a writer with a generous deadline, so that a busy machine
      // cannot fail the setup (it once took over 1.5 s).
      const writer = new RedisBackend({ url: url(9, "?timeout=20000") });
      try {
        for (const megabytes of [100, 200]) {
          const big = Buffer.alloc(megabytes * 1024 * 1024, megabytes);
          writer.set(`big:${String(megabytes)}`, big, {});
          backend.has(`big:${String(megabytes)}`); // the reader's worker is up, and is the one to keep
          const worker = backend.worker;
          const read = timed(() => {
            const value = backend.get(`big:${String(megabytes)}`) as Buffer;
            assert.equal(value.length, big.length);
            assert.equal(value[value.length - 1], megabytes);
          });
          console.log(`# sync get of ${String(megabytes)} MB: ${read.outcome} in ${read.ms.toFixed(0)} ms`);
          assert.equal(read.outcome, "ok");
          assert.equal(backend.worker, worker, "the worker was kept");
        }
        // A deadline shorter than the hand-over itself: the caller waits about the deadline, learns why,
        // and the worker, which is alive, is kept.
        const short = new RedisBackend({ url: url(9, "?timeout=20") });
        /**
         * Whether the 20 ms backend answers within 5 s: its connection may still be coming up, or busy
         * with the rest of a big reply, and its circuit may be open for a while after timeouts in a row.
         */
        const answers = (): boolean => {
          const pause = new Int32Array(new SharedArrayBuffer(4));
          for (let attempt = 0; attempt < 100; attempt++) {
            try {
              short.has("warm");
              return true;
            } catch {
              Atomics.wait(pause, 0, 0, 50);
            }
          }
          return false;
        };
        try {
          assert.ok(answers(), "the 20 ms backend connects");
          const worker = short.worker;
          let message = "";
          const slow = timed(() => {
            try {
              short.get("big:200");
            } catch (error) {
              message = (error as Error).message;
              throw error;
            }
          });
          console.log(
            `# sync get of 200 MB with a 20 ms deadline: ${slow.outcome} after ${slow.ms.toFixed(0)} ms: ${message}`,
          );
          assert.equal(slow.outcome, "BackendError");
          assert.match(message, /timed out after 20 ms|timeout 20 ms/);
          assert.ok(slow.ms < 20 + 50 + 500, `blocked ${String(slow.ms)} ms`);
          if (/still handing it over/.test(message)) assert.equal(short.worker, worker);
          assert.ok(answers(), "the backend still answers");
        } finally {
          short.close();
        }
      } finally {
        writer.close();
        backend.close();
      }
    });

    it("F18: blocks the caller at most about the deadline while Redis hangs, and recovers", () => {
      const backend = new RedisBackend({ url: url(8, "?timeout=200") });
      try {
        backend.set("k", "v", {});
        server.pause();
        const hung = [
          timed(() => backend.get("k")),
          timed(() => backend.set("k", "w", {})),
          timed(() => backend.has("k")),
        ];
        server.resume();
        console.log(`# F18 (hung server): blocked ${hung.map(({ ms }) => ms.toFixed(0)).join(", ")} ms`);
        for (const { ms, outcome } of hung) {
          assert.equal(outcome, "BackendError");
          assert.ok(ms <= 10 * 200, `blocked ${String(ms)} ms`);
        }
        let recovered = false;
        for (let attempt = 0; attempt < 20 && !recovered; attempt++)
          recovered = timed(() => backend.get("k")).outcome === "ok";
        assert.ok(recovered);
      } finally {
        backend.close();
      }
    });

    it("F18: blocks at most about the deadline while Redis is down, and works again after a restart", async () => {
      const backend = new RedisBackend({ url: url(9, "?timeout=200") });
      try {
        backend.set("k", "v", {});
        await server.crash();
        const down = [timed(() => backend.get("k")), timed(() => backend.set("k", "w", {}))];
        console.log(`# F18 (server down): blocked ${down.map(({ ms }) => ms.toFixed(0)).join(", ")} ms`);
        for (const { ms, outcome } of down) {
          assert.equal(outcome, "BackendError");
          assert.ok(ms <= 10 * 200, `blocked ${String(ms)} ms`);
        }
        await server.restart();
        const restartedAt = performance.now();
        let recovered = false;
        while (!recovered && performance.now() - restartedAt < 5000) {
          recovered = timed(() => backend.set("k", "again", {})).outcome === "ok";
          // Let the worker's reconnection timers run between attempts.
          if (!recovered) await new Promise((resolve) => setTimeout(resolve, 50));
        }
        console.log(`# F18: first success ${(performance.now() - restartedAt).toFixed(0)} ms after restart`);
        assert.ok(recovered);
      } finally {
        backend.close();
      }
    });

    it("F18: a worker that dies mid-call gives a typed error within the deadline, then a fresh worker", () => {
      const backend = new RedisBackend({ url: url(10, "?timeout=200") });
      try {
        backend.set("k", "v", {});
        const first = backend.worker;
        assert.ok(first !== undefined);
        void first.terminate();
        const crashed = timed(() => backend.get("k"));
        assert.equal(crashed.outcome, "BackendError");
        assert.ok(crashed.ms <= 10 * 200, `blocked ${String(crashed.ms)} ms`);
        assert.deepEqual(backend.get("k"), Buffer.from("v"));
        assert.notEqual(backend.worker, first);
      } finally {
        backend.close();
      }
    });

    it("does not keep the process alive, even when never closed", () => {
      const script = `
        const { SyncCache } = require("./dist/commonjs/index.js");
        const cache = new SyncCache({ backend: "${url(11)}", serializer: "json://" });
        cache.set("k", 1);
        console.log(cache.get("k"));
      `;
      const result = spawnSync(process.execPath, ["-e", script], {
        cwd: new URL("../..", import.meta.url),
        encoding: "utf8",
        timeout: 15_000,
      });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout.trim(), "1");
    });

    it("an error in the worker reaches the caller with its class, key and cause", async () => {
      const full = await RedisServer.start({ arguments: ["--maxmemory", "1mb", "--maxmemory-policy", "noeviction"] });
      const backend = new RedisBackend({ url: full.url(0) });
      try {
        assert.throws(
          () => backend.set("big", Buffer.alloc(2 * 1024 * 1024), {}),
          (error: unknown) => {
            // The built package's class: compared by code.
            assert.equal((error as { code?: unknown }).code, "CACHETORY_BACKEND");
            assert.equal((error as { key?: unknown }).key, "big");
            const cause = (error as Error).cause as Error | undefined;
            assert.ok(cause instanceof Error, "the cause crossed the thread");
            assert.match(cause.message, /OOM command not allowed/);
            return true;
          },
        );
      } finally {
        backend.close();
        await full.stop();
      }
    });

    it("refuses an injected client and redis+cluster://, with a ConfigurationError", () => {
      assert.throws(() => new RedisBackend({ url: "redis+cluster://127.0.0.1:7000" }), /does not offer redis\+cluster/);
      assert.throws(() => new RedisBackend({ url: "redis://127.0.0.1:0/0" }), /port must be an integer 1–65535/);
    });
  });
}
