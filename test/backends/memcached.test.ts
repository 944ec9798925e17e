import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MemcachedBackend } from "../../src/backends/memcached/backend.js";
import { expiryToken } from "../../src/backends/memcached/store.js";
import { KetamaRing, keyPoint } from "../../src/backends/memcached/ring.js";
import { fromUrl } from "../../src/backends/registry.js";
import { Cache } from "../../src/cache/cache.js";
import { BackendError, ConfigurationError } from "../../src/errors.js";
import { SyncBackendAdapter } from "../../src/backends/sync-adapter.js";
import { MemcachedBackend as SyncMemcachedBackend } from "../../dist/esm/backends/sync/index.js";
import { SyncCache } from "../../dist/esm/index.js";
import { runBackendConformance } from "../support/conformance.js";
import { MemcachedServer, memcachedCommand, needsMemcached } from "../support/memcached-server.js";

const available = needsMemcached();
const servers: MemcachedServer[] = [];
let namespaces = 0;

before(async () => {
  if (available.skip !== undefined) return;
  // Items of up to 4 MB: the suite stores a 1 MB value, and a 1 MB key (which a hashed key's value carries).
  for (let index = 0; index < 3; index++) servers.push(await MemcachedServer.start({ arguments: ["-I", "4m"] }));
});
after(async () => {
  await Promise.all(servers.map((server) => server.stop()));
});

function poolUrl(): string {
  return `memcached://${servers.map((server) => server.address).join(",")}`;
}

/** A backend over the three servers, in a namespace of its own (the suite's cases must not see each other). */
function pooled(): MemcachedBackend {
  return new MemcachedBackend({ url: poolUrl(), namespace: `t${String(namespaces++)}:` });
}

// memcached keeps time in whole seconds: the suite's 100 ms expiries become 2 s ones.
const seconds = { timeScale: 20 } as const;
if (available.skip === undefined) {
  runBackendConformance("memcached:// (three servers)", pooled, seconds);
  runBackendConformance(
    "memcached:// (one server, from a URL)",
    () => fromUrl(`memcached://${servers[0]?.address ?? ""}?namespace=u${String(namespaces++)}`),
    seconds,
  );
}

if (available.skip === undefined) {
  runBackendConformance(
    "memcached:// (sync, worker thread)",
    () => new SyncBackendAdapter(new SyncMemcachedBackend({ url: poolUrl(), namespace: `s${String(namespaces++)}:` })),
    seconds,
  );
}

describe("the ketama ring", () => {
  it("places keys as libketama does (the vector of its own test: eight weighted servers)", () => {
    const weighted: [string, number][] = [
      ["10.0.1.1", 600],
      ["10.0.1.2", 300],
      ["10.0.1.3", 200],
      ["10.0.1.4", 350],
      ["10.0.1.5", 1000],
      ["10.0.1.6", 800],
      ["10.0.1.7", 950],
      ["10.0.1.8", 100],
    ];
    const ring = new KetamaRing(weighted.map(([host, weight]) => ({ host, port: 11211, weight })));
    const expected: [string, number, string][] = [
      ["12936", 3769287096, "10.0.1.7"],
      ["27804", 435768809, "10.0.1.5"],
      ["37045", 1996655674, "10.0.1.2"],
      ["50829", 2954822664, "10.0.1.1"],
      ["65422", 1423001712, "10.0.1.6"],
      ["74912", 3809055594, "10.0.1.6"],
    ];
    for (const [key, point, host] of expected) {
      assert.equal(keyPoint(Buffer.from(key)), point, `the point of ${key}`);
      assert.equal(weighted[ring.serverFor(Buffer.from(key))]?.[0], host, `the server of ${key}`);
    }
  });

  it("moves only the removed server's keys when a server goes", () => {
    const four = new KetamaRing([1, 2, 3, 4].map((n) => ({ host: `10.0.0.${String(n)}`, port: 11211 })));
    const three = new KetamaRing([1, 2, 3].map((n) => ({ host: `10.0.0.${String(n)}`, port: 11211 })));
    let moved = 0;
    for (let index = 0; index < 10_000; index++) {
      const key = Buffer.from(`key:${String(index)}`);
      const before = four.serverFor(key);
      if (before !== 3 && three.serverFor(key) !== before) moved++;
    }
    assert.equal(moved, 0);
  });
});

describe("memcached's expiry rules", () => {
  it("rounds up to seconds, and past 30 days writes the Unix time, at most 2038's", () => {
    assert.equal(expiryToken(1), "T1");
    assert.equal(expiryToken(1001), "T2");
    assert.equal(expiryToken(30 * 86_400_000), "T2592000");
    assert.equal(expiryToken(31 * 86_400_000, 1_000_000_000_000), `T${String(1_000_000_000 + 31 * 86_400)}`);
    assert.equal(expiryToken(2 ** 40, 1_800_000_000_000), `T${String(2 ** 31 - 1)}`);
  });
});

describe("memcached backend", available, () => {
  it("keeps entries with a time to live beyond 30 days (not 1970) and tells their time left", async () => {
    const backend = pooled();
    try {
      await backend.set("month", "1", { timeToLive: 40 * 86_400_000 });
      await backend.set("decades", "1", { timeToLive: 2 ** 40 });
      assert.deepEqual(await backend.get("month"), Buffer.from("1"));
      assert.deepEqual(await backend.get("decades"), Buffer.from("1"));
      const left = await backend.ttl("month");
      assert.ok(typeof left === "number" && Math.abs(left - 40 * 86_400_000) < 5000, String(left));
    } finally {
      await backend.close();
    }
  });

  it("spreads keys over the servers by the ring, and getMany asks each server once", async () => {
    const backend = pooled();
    try {
      const keys = Array.from({ length: 300 }, (_, index) => `spread:${String(index)}`);
      await backend.setMany(
        keys.map((key) => [key, key]),
        undefined,
      );
      const where = new Map<string, number>();
      for (const key of keys) where.set(backend.serverOf(key), (where.get(backend.serverOf(key)) ?? 0) + 1);
      assert.equal(where.size, 3);
      for (const count of where.values()) assert.ok(count > 50, `uneven: ${JSON.stringify([...where])}`);
      const before = await Promise.all(servers.map((server) => getCount(server.port)));
      const found = await backend.getMany(keys);
      assert.equal(found.size, 300);
      const afterwards = await Promise.all(servers.map((server) => getCount(server.port)));
      // Each server saw its keys' reads and one read of the namespace's generation, in one round trip.
      const reads = afterwards.map((count, index) => count - (before[index] as number));
      assert.equal(
        reads.reduce((sum, count) => sum + count, 0),
        300 + 3,
      );
    } finally {
      await backend.close();
    }
  });

  it("stores keys memcached refuses (spaces, control characters, over 250 bytes) distinctly", async () => {
    const backend = pooled();
    try {
      const keys = [
        "a b",
        "a\u0000b",
        "a\nb",
        "tab\there",
        "k".repeat(251),
        "k".repeat(252),
        "é".repeat(200),
        "ab",
        "a_b",
      ];
      for (const key of keys) await backend.set(key, `v:${key}`, {});
      for (const key of keys)
        assert.deepEqual(await backend.get(key), Buffer.from(`v:${key}`), JSON.stringify(key.slice(0, 8)));
      const listed: string[] = [];
      let cursor = "0";
      do {
        const page = await backend.scan(cursor, {});
        listed.push(...page.keys);
        cursor = page.cursor;
      } while (cursor !== "0");
      assert.deepEqual(listed.sort(), [...keys].sort());
    } finally {
      await backend.close();
    }
  });

  it("refuses a value over the item size with a BackendError, and the connection goes on", async () => {
    const backend = pooled();
    try {
      await assert.rejects(backend.set("big", Buffer.alloc(5 * 1024 * 1024), {}), (error: unknown) => {
        assert.ok(error instanceof BackendError);
        assert.match(error.message, /over the item size of memcached/);
        return true;
      });
      await backend.set("small", "1", {});
      assert.deepEqual(await backend.get("small"), Buffer.from("1"));
      assert.equal(await backend.get("big"), undefined);
    } finally {
      await backend.close();
    }
  });

  it("set with ifNotExists lets exactly one of many racers win", async () => {
    const backends = Array.from({ length: 4 }, () => new MemcachedBackend({ url: poolUrl(), namespace: "race:" }));
    try {
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, index) =>
          (backends[index % 4] as MemcachedBackend).set("once", String(index), { ifNotExists: true }),
        ),
      );
      assert.equal(results.filter(Boolean).length, 1);
    } finally {
      await Promise.all(backends.map((backend) => backend.close()));
    }
  });

  it("clear() of one instance is seen by another at once, and never flushes the server", async () => {
    const namespace = `shared${String(namespaces++)}:`;
    const first = new MemcachedBackend({ url: poolUrl(), namespace });
    const second = new MemcachedBackend({ url: poolUrl(), namespace });
    const other = pooled();
    try {
      await first.setMany(
        Array.from({ length: 30 }, (_, index) => [`k${String(index)}`, "1"]),
        undefined,
      );
      await other.set("elsewhere", "1", {});
      assert.equal((await second.getMany(["k0", "k1", "k29"])).size, 3);
      await first.clear("");
      assert.equal((await second.getMany(["k0", "k1", "k29"])).size, 0);
      assert.equal(await second.get("k5"), undefined);
      assert.deepEqual(await other.get("elsewhere"), Buffer.from("1"), "another namespace keeps its keys");
      await second.set("k0", "2", {});
      assert.deepEqual(await first.get("k0"), Buffer.from("2"));
    } finally {
      await Promise.all([first.close(), second.close(), other.close()]);
    }
  });

  it("a Cache with a prefix clears only its own keys", async () => {
    const url = `${poolUrl()}?namespace=c${String(namespaces++)}`;
    const users = new Cache<string>({ backend: url, serializer: "json://", prefix: "users:" });
    const orders = new Cache<string>({ backend: url, serializer: "json://", prefix: "orders:" });
    try {
      await users.set("1", "ada");
      await orders.set("1", "book");
      await users.clear();
      assert.equal(await users.get("1"), undefined);
      assert.equal(await orders.get("1"), "book");
    } finally {
      await Promise.all([users.close(), orders.close()]);
    }
  });

  it("a SyncCache on memcached:// reads what an async Cache wrote", async () => {
    const url = `${poolUrl()}?namespace=sync${String(namespaces++)}`;
    const writer = new Cache<{ n: number }>({ backend: url, serializer: "json://" });
    const reader = new SyncCache<{ n: number }>({ backend: url, serializer: "json://" });
    try {
      await writer.set("a", { n: 1 }, { timeToLive: "1m" });
      assert.deepEqual(reader.get("a"), { n: 1 });
      const left = reader.ttl("a");
      assert.ok(typeof left === "number" && left > 58_000 && left <= 60_000, String(left));
    } finally {
      reader.close();
      await writer.close();
    }
  });

  it("rejects bad URLs and options with ConfigurationError, naming the problem", () => {
    assert.throws(() => new MemcachedBackend({ url: "memcached://h:0" }), /port must be an integer 1–65535/);
    assert.throws(() => new MemcachedBackend({ url: "memcached://a:1,a:1" }), /listed twice/);
    assert.throws(
      () => new MemcachedBackend({ url: "memcached://user:secret@h:1" }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigurationError);
        assert.doesNotMatch(error.message, /secret/);
        return true;
      },
    );
    assert.throws(() => new MemcachedBackend({ url: "memcached://h:1?namespace=a%20b" }), /namespace/);
    assert.throws(() => new MemcachedBackend({ url: "memcached://h:1?nope=1" }), /unknown parameter "nope"/);
    assert.throws(
      () => new MemcachedBackend({ url: "memcached://h:1", serverRetry: 10, serverRetryMax: 5 }),
      /serverRetryMax/,
    );
  });
});

/** How many keys the server was asked for so far (`cmd_get`). */
async function getCount(port: number): Promise<number> {
  const stats = await memcachedCommand(port, "stats\r\n", "END\r\n");
  return Number(/STAT cmd_get (\d+)/.exec(stats)?.[1]);
}
