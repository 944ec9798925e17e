import type { Duration } from "../../src/duration.js";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Redis as IoRedis } from "ioredis";
import { createClient } from "redis";
import { RedisBackend } from "../../src/backends/redis/backend.js";
import { fromUrl } from "../../src/backends/registry.js";
import { Cache } from "../../src/cache/cache.js";
import { BackendError, ConfigurationError } from "../../src/errors.js";
import { runBackendConformance } from "../support/conformance.js";
import { freePort, redisUnavailableReason, RedisServer } from "../support/redis-server.js";

const unavailable = redisUnavailableReason();
const server = unavailable === undefined ? await RedisServer.start() : undefined;
const skip = unavailable === undefined ? {} : { skip: unavailable };
after(async () => {
  await server?.stop();
});

function serverUrl(database: number, query = ""): string {
  if (server === undefined) throw new Error("no redis-server");
  return `${server.url(database)}${query}`;
}

/** A plain node-redis client on the test server, to look at what the backend did. */
async function inspector(database = 0) {
  const client = createClient({ url: serverUrl(database) });
  client.on("error", () => {});
  await client.connect();
  return client;
}

/** How often the server has run each command, from INFO commandstats. */
async function commandCalls(client: RawClient): Promise<Map<string, number>> {
  const info = await client.info("commandstats");
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1] ?? "", Number(match[2]));
  return calls;
}

type RawClient = Awaited<ReturnType<typeof inspector>>;

const onRedis = { timeScale: 3, capabilities: { locks: true } } as const;

if (server === undefined) {
  it("Redis backend conformance", skip, () => {});
} else {
  runBackendConformance(
    "redis:// (from a URL)",
    async () => {
      const backend = fromUrl(serverUrl(1));
      await backend.clear("");
      return backend;
    },
    onRedis,
  );

  runBackendConformance(
    "redis:// (an injected node-redis client)",
    async () => {
      const client = createClient({ url: serverUrl(2) });
      const backend = new RedisBackend({ client, closeClient: true });
      await backend.clear("");
      return backend;
    },
    onRedis,
  );

  runBackendConformance(
    "redis:// (an injected ioredis client)",
    async () => {
      const client = new IoRedis({ port: server.port, host: "127.0.0.1", db: 3, lazyConnect: true });
      const backend = new RedisBackend({ client, closeClient: true });
      await backend.clear("");
      return backend;
    },
    onRedis,
  );
}

describe("Redis backend", skip, () => {
  let raw: RawClient;
  before(async () => {
    raw = await inspector(4);
  });
  after(() => {
    raw.destroy();
  });

  async function withBackend(run: (backend: RedisBackend) => Promise<void>, query = ""): Promise<void> {
    await raw.flushDb();
    const backend = new RedisBackend({ url: serverUrl(4, query) });
    try {
      await run(backend);
    } finally {
      await backend.close();
    }
  }

  it("does not connect until the first operation, and then selects the database of the URL", () =>
    withBackend(async (backend) => {
      assert.equal(backend.connected, false);
      await backend.set("where", "db4", {});
      assert.equal(backend.connected, true);
      assert.equal(await raw.get("where"), "db4");
    }));

  it("reads a whole batch with one MGET and writes it with one MSET or one MULTI", () =>
    withBackend(async (backend) => {
      const keys = Array.from({ length: 100 }, (_, index) => `k${String(index)}`);
      const before = await commandCalls(raw);
      await backend.setMany(
        keys.map((key) => [key, key]),
        undefined,
      );
      await backend.setMany(
        keys.map((key) => [key, key]),
        60_000,
      );
      const found = await backend.getMany(keys);
      const after = await commandCalls(raw);
      const delta = (name: string): number => (after.get(name) ?? 0) - (before.get(name) ?? 0);
      assert.equal(found.size, 100);
      assert.equal(delta("mget"), 1);
      assert.equal(delta("mset"), 1);
      assert.equal(delta("exec"), 1);
      assert.equal(delta("set"), 100);
      const ttl = await raw.pTTL("k7");
      assert.ok(ttl > 50_000 && ttl <= 60_000, `PTTL ${String(ttl)}`);
    }));

  it("sends the gets of one tick as one MGET, each caller getting its own key's value", () =>
    withBackend(async (backend) => {
      await raw.mSet([
        ["a", "1"],
        ["b", "2"],
      ]);
      await raw.hSet("a-hash", "field", "x");
      const before = await commandCalls(raw);
      const values = await Promise.all(["a", "b", "absent", "a", "a-hash"].map((key) => backend.get(key)));
      const after = await commandCalls(raw);
      assert.deepEqual(values, [Buffer.from("1"), Buffer.from("2"), undefined, Buffer.from("1"), undefined]);
      assert.equal((after.get("mget") ?? 0) - (before.get("mget") ?? 0), 1);
      assert.equal(after.get("get") ?? 0, before.get("get") ?? 0);
      // A key of another type reads as absent alone too, not only inside a batch.
      assert.equal(await backend.get("a-hash"), undefined);
      // Gets in later ticks go in later batches.
      assert.deepEqual(await backend.get("b"), Buffer.from("2"));
      assert.equal(((await commandCalls(raw)).get("mget") ?? 0) - (after.get("mget") ?? 0), 2);
      // At most 64 distinct keys per MGET, so that one reply stays bounded: gets of 150 keys are 3 MGETs…
      const beforeMany = (await commandCalls(raw)).get("mget") ?? 0;
      const distinct = await Promise.all(Array.from({ length: 150 }, (_, index) => backend.get(`k${String(index)}`)));
      assert.equal(distinct.filter((value) => value === undefined).length, 150);
      assert.equal(((await commandCalls(raw)).get("mget") ?? 0) - beforeMany, 3);
      // …and 150 gets of two keys are one MGET of two (each reader of a key already in it joins it).
      const beforeShared = (await commandCalls(raw)).get("mget") ?? 0;
      const many = await Promise.all(Array.from({ length: 150 }, (_, index) => backend.get(index % 2 ? "a" : "b")));
      assert.equal(many.filter((value) => value?.toString() === "1").length, 75);
      assert.equal(((await commandCalls(raw)).get("mget") ?? 0) - beforeShared, 1);
    }));

  it("makes no round trip for empty batches (B11)", () =>
    withBackend(async (backend) => {
      await backend.get("warm-up");
      const before = await commandCalls(raw);
      assert.deepEqual(await backend.getMany([]), new Map());
      await backend.setMany([], 1000);
      assert.equal(await backend.deleteMany([]), 0);
      const after = await commandCalls(raw);
      for (const name of ["mget", "mset", "unlink", "multi", "exec"]) {
        assert.equal(after.get(name) ?? 0, before.get(name) ?? 0, name);
      }
    }));

  it("reports the truth for SET NX and keeps the first value", () =>
    withBackend(async (backend) => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, index) => backend.set("once", String(index), { ifNotExists: true })),
      );
      assert.equal(results.filter(Boolean).length, 1);
      const winner = results.indexOf(true);
      assert.equal(await raw.get("once"), String(winner));
    }));

  it("sets and removes expiry with PEXPIRE and PERSIST", () =>
    withBackend(async (backend) => {
      await backend.set("k", "v", {});
      assert.equal(await backend.expireIn("k", 5000), true);
      const ttl = await raw.pTTL("k");
      assert.ok(ttl > 4000 && ttl <= 5000);
      assert.equal(await backend.expireIn("k", undefined), true);
      assert.equal(await raw.pTTL("k"), -1);
      assert.equal(await backend.expireIn("k", undefined), true, "persisting a key without expiry still finds it");
      assert.equal(await backend.expireIn("absent", undefined), false);
    }));

  it("takes times to live up to 2^53 ms through a Cache, and refuses invalid ones before Redis sees them (B9)", () =>
    withBackend(async (backend) => {
      const cache = new Cache<number>({ backend, serializer: "json://" });
      await cache.set("long", 1, { timeToLive: 2 ** 31 });
      await cache.set("longest", 1, { timeToLive: 2 ** 53 });
      assert.ok((await raw.pTTL("long")) > 2 ** 31 - 10_000);
      assert.ok((await raw.pTTL("longest")) > 2 ** 52);
      for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, "", "5x"]) {
        await assert.rejects(cache.set("bad", 1, { timeToLive: bad as Duration }), RangeError);
      }
      assert.equal(await raw.exists("bad"), 0);
    }));

  it("round-trips a 10 MB value byte for byte", () =>
    withBackend(async (backend) => {
      const big = Buffer.alloc(10 * 1024 * 1024);
      for (let index = 0; index < big.length; index += 4096) big[index] = index % 251;
      await backend.set("big", big, {});
      assert.ok(big.equals((await backend.get("big")) as Buffer));
    }));

  it("clears only its prefix, with glob characters taken literally (B14)", () =>
    withBackend(async (backend) => {
      const prefixes = ["a*", "a?", "a[", "a\\", "app", "app:"];
      for (const prefix of prefixes) {
        for (let index = 0; index < 3; index++) await raw.set(`${prefix}${String(index)}`, "1");
      }
      await raw.set("abc", "1");
      await backend.clear("a*");
      assert.equal(await raw.exists(["a*0", "a*1", "a*2"]), 0);
      assert.equal(await raw.exists(["a?0", "a[0", "a\\0", "app0", "app:0", "abc"]), 6);
      await backend.clear("a?");
      await backend.clear("a[");
      await backend.clear("a\\");
      assert.equal(await raw.exists(["app0", "app:0", "abc"]), 3);
      await backend.clear("app:");
      assert.equal(await raw.exists(["app:0", "app:1", "app:2"]), 0);
      assert.equal(await raw.exists(["app0", "app1", "app2", "abc"]), 4);
    }));

  it("clears many keys under a prefix in several SCAN rounds", () =>
    withBackend(async (backend) => {
      const entries: [string, string][] = Array.from({ length: 5000 }, (_, index) => [`bulk:${String(index)}`, "v"]);
      await backend.setMany(entries, undefined);
      await raw.set("keep", "1");
      await backend.clear("bulk:");
      assert.equal(await raw.dbSize(), 1);
    }));

  it("empties the selected database only when there is no prefix (FLUSHDB)", async () => {
    const other = await inspector(5);
    try {
      await other.set("elsewhere", "1");
      await withBackend(async (backend) => {
        await raw.set("mine", "1");
        await backend.clear("");
        assert.equal(await raw.dbSize(), 0);
        assert.equal(await other.get("elsewhere"), "1");
      });
    } finally {
      await other.flushDb();
      other.destroy();
    }
  });

  it("refuses keys with a lone surrogate instead of letting them collide (B7)", () =>
    withBackend(async (backend) => {
      for (const key of ["\uD800", "x\uDC00"]) {
        await assert.rejects(backend.set(key, "v", {}), (error: unknown) => {
          assert.ok(error instanceof BackendError);
          assert.match(error.message, /lone UTF-16 surrogate/);
          return true;
        });
      }
      await assert.rejects(backend.getMany(["ok", "\uD800"]), BackendError);
      assert.equal(await raw.dbSize(), 0);
    }));

  it("stores text as UTF-8 and serves it through a Cache with any serializer", () =>
    withBackend(async (backend) => {
      const cache = new Cache<{ name: string }>({ backend, serializer: "json+zlib://", prefix: "users:" });
      await cache.set("1", { name: "Zoë" }, { timeToLive: "1m" });
      assert.deepEqual(await cache.get("1"), { name: "Zoë" });
      assert.deepEqual(await cache.getMany("1", "2"), new Map([["1", { name: "Zoë" }]]));
      assert.ok((await raw.pTTL("users:1")) > 0);
    }));

  it("rejects values that are neither text nor bytes with a SerializationError naming the key", () =>
    withBackend(async (backend) => {
      await assert.rejects(backend.set("k", 42, {}), /value of key "k" is a number/);
    }));

  it("closes an injected client only when asked", async () => {
    const client = createClient({ url: serverUrl(4) });
    await client.connect();
    const backend = new RedisBackend(client);
    await backend.set("injected", "1", {});
    await backend.close();
    assert.equal(client.isOpen, true);
    assert.equal(await client.get("injected"), "1");
    client.destroy();
  });

  it("works over a Unix socket (redis+unix://)", async () => {
    const socketServer = await RedisServer.start({
      arguments: ["--unixsocket", `/tmp/cachetory-test-${String(process.pid)}.sock`, "--unixsocketperm", "700"],
    });
    const backend = fromUrl(`redis+unix:///tmp/cachetory-test-${String(process.pid)}.sock?db=2`);
    try {
      await backend.set("over-unix", "1", {});
      assert.deepEqual(await backend.get("over-unix"), Buffer.from("1"));
    } finally {
      await backend.close();
      await socketServer.stop();
    }
  });
});

describe("Redis over TLS (rediss://)", skip, () => {
  it("verifies the server's certificate and then works", async () => {
    const directory = mkdtempSync(join(tmpdir(), "cachetory-tls-"));
    const tlsPort = await freePort();
    let tlsServer: RedisServer | undefined;
    try {
      execFileSync(
        "openssl",
        [
          ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"],
          ...["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", join(directory, "key.pem")],
          ...["-out", join(directory, "cert.pem")],
        ],
        { stdio: "ignore" },
      );
      tlsServer = await RedisServer.start({
        arguments: [
          ...["--tls-port", String(tlsPort), "--tls-auth-clients", "no"],
          ...["--tls-cert-file", join(directory, "cert.pem"), "--tls-key-file", join(directory, "key.pem")],
          ...["--tls-ca-cert-file", join(directory, "cert.pem")],
        ],
      });
      // Node reads extra CAs only at start-up, hence a child process per case.
      const script = `
        import { Cache } from "./src/cache/cache.ts";
        const cache = new Cache({ backend: "rediss://127.0.0.1:${String(tlsPort)}/0?timeout=1000", serializer: "json://" });
        try { await cache.set("k", { tls: true }); console.log(JSON.stringify(await cache.get("k"))); }
        catch (error) { console.log(error.name + ": " + error.message); }
        await cache.close();
      `;
      const run = (environment: NodeJS.ProcessEnv): string =>
        execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
          cwd: new URL("../..", import.meta.url),
          encoding: "utf8",
          env: environment,
        }).trim();
      assert.equal(run({ ...process.env, NODE_EXTRA_CA_CERTS: join(directory, "cert.pem") }), '{"tls":true}');
      assert.match(run(process.env), /^BackendError: .*self-signed certificate/);
    } finally {
      await tlsServer?.stop();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe("Redis credentials (B13)", skip, () => {
  it("decodes a percent-encoded password with @ : + % / exactly (+ stays +)", async () => {
    const password = "p@ss:w+rd%/x y";
    const authed = await RedisServer.start({ arguments: ["--requirepass", password] });
    try {
      const encoded = encodeURIComponent(password);
      const backend = fromUrl(`redis://:${encoded}@127.0.0.1:${String(authed.port)}/0?timeout=1000`);
      assert.equal(await backend.set("k", "v", {}), true);
      await backend.close();
      const wrong = fromUrl(
        `redis://:${encoded.replace("%2B", "+").replace("%20", "+")}@127.0.0.1:${String(authed.port)}/0?timeout=300`,
      );
      await assert.rejects(wrong.get("k"), /WRONGPASS|invalid username-password|timed out/);
      await wrong.close();
    } finally {
      await authed.stop();
    }
  });
});

describe("Redis URLs", () => {
  it("accepts the Redis schemes without connecting", async () => {
    for (const url of [
      "redis://127.0.0.1:1/0",
      "rediss://user:p%40ss@cache.internal:6380/2?timeout=250&connect-timeout=1000",
      "redis+unix:///run/redis.sock?db=3",
      "redis+cluster://127.0.0.1:7000,127.0.0.1:7001",
      "redis://[::1]:6379",
      "redis://",
    ]) {
      const backend = fromUrl(url);
      assert.ok(backend instanceof RedisBackend, url);
      await backend.close();
    }
  });

  it("names the bad part and its range (B13)", () => {
    const cases: [string, RegExp][] = [
      ["redis://127.0.0.1:0/0", /port must be an integer 1–65535.*got "0"/],
      ["redis://127.0.0.1:70000/0", /port must be an integer 1–65535.*got "70000"/],
      ["redis://127.0.0.1:6379/x", /database \(the path\) must be an integer ≥ 0/],
      ["redis://127.0.0.1/0?timeout=0", /timeout must be an integer 1–2147483647/],
      ["redis://127.0.0.1/0?max-in-flight=-1", /max-in-flight must be an integer/],
      [
        "redis://127.0.0.1/0?pool=3",
        /unknown parameter "pool".*known: breaker-duration, breaker-threshold, connect-timeout, max-in-flight/,
      ],
      ["redis+unix://relative.sock", /needs an absolute socket path/],
      ["redis+cluster://127.0.0.1:7000/2", /only database 0/],
    ];
    for (const [url, message] of cases) {
      assert.throws(
        () => fromUrl(url),
        (error: unknown) => {
          assert.ok(error instanceof ConfigurationError, url);
          assert.match(error.message, message, url);
          return true;
        },
      );
    }
  });

  it("never quotes a password, even a malformed one (S1)", () => {
    for (const url of ["redis://user:S3cr3t%zz@127.0.0.1:0/0", "redis://user:S3cr3t%40x@127.0.0.1:0/0"]) {
      assert.throws(
        () => fromUrl(url),
        (error: unknown) => {
          assert.ok(error instanceof ConfigurationError);
          assert.doesNotMatch(error.message, /S3cr3t/);
          assert.doesNotMatch(String(error.stack), /S3cr3t/);
          return true;
        },
      );
    }
  });

  it("refuses both a URL and a client, and timings out of range", () => {
    const client = createClient();
    assert.throws(() => new RedisBackend({ client, url: "redis://" }), /a url or a client, not both/);
    assert.throws(() => new RedisBackend({ timeout: 0 }), /timeout must be an integer 1–2147483647, got 0/);
  });
});
