/**
 * Reads coalesced into one MGET must not make one caller's trouble another's: a key the ACL forbids, a
 * user without MGET, and 32 callers of one big key in the same tick.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createClient } from "redis";
import { RedisBackend } from "../../src/backends/redis/backend.js";
import { needsRedis, RedisServer } from "../support/redis-server.js";

describe("coalesced reads", needsRedis(), () => {
  let server: RedisServer;
  let admin: ReturnType<typeof createClient>;
  before(async () => {
    server = await RedisServer.start({
      arguments: [
        ...["--user", "app", "on", ">app-password", "~app:*", "&*", "+@all"],
        ...["--user", "nomget", "on", ">nomget-password", "~*", "&*", "+@all", "-mget"],
        ...["--user", "admin", "on", ">admin-password", "~*", "&*", "+@all"],
      ],
    });
    admin = createClient({ url: `redis://admin:admin-password@127.0.0.1:${String(server.port)}/0` });
    await admin.connect();
  });
  after(async () => {
    admin.destroy();
    await server.stop();
  });
  const url = (user: string) => `redis://${user}:${user}-password@127.0.0.1:${String(server.port)}/0?timeout=2000`;

  it("a key the ACL forbids fails alone: the allowed key read in the same tick still answers", async () => {
    await admin.set("app:ok", "yes");
    await admin.hSet("app:hash", "field", "1");
    const backend = new RedisBackend({ url: url("app") });
    try {
      const [allowed, forbidden, hash, absent] = await Promise.allSettled([
        backend.get("app:ok"),
        backend.get("other:x"),
        backend.get("app:hash"),
        backend.get("app:absent"),
      ]);
      assert.deepEqual(allowed, { status: "fulfilled", value: Buffer.from("yes") });
      assert.equal(forbidden.status, "rejected");
      assert.match(String(forbidden.reason), /NOPERM/);
      // A key of another type reads as absent, as it does in an MGET.
      assert.deepEqual(hash, { status: "fulfilled", value: undefined });
      assert.deepEqual(absent, { status: "fulfilled", value: undefined });
      assert.deepEqual(await backend.get("app:ok"), Buffer.from("yes"));
    } finally {
      await backend.close();
    }
  });

  it("a user without MGET can still get, alone and in a batch", async () => {
    await admin.set("a", "1");
    await admin.set("b", "2");
    const backend = new RedisBackend({ url: url("nomget") });
    try {
      assert.deepEqual(await backend.get("a"), Buffer.from("1"));
      const both = await Promise.all([backend.get("a"), backend.get("b"), backend.get("nothing")]);
      assert.deepEqual(both, [Buffer.from("1"), Buffer.from("2"), undefined]);
    } finally {
      await backend.close();
    }
  });

  it("32 callers of one 4 MB key in one tick: the key is asked once, and every caller gets it", async () => {
    const big = Buffer.alloc(4 * 1024 * 1024, 7);
    await admin.set("big", big);
    const backend = new RedisBackend({ url: url("admin").replace("?timeout=2000", "?timeout=1000") });
    try {
      await backend.get("warm");
      const before = Number(/total_net_output_bytes:(\d+)/.exec(await admin.info("stats"))?.[1]);
      const values = await Promise.all(Array.from({ length: 32 }, () => backend.get("big")));
      const after = Number(/total_net_output_bytes:(\d+)/.exec(await admin.info("stats"))?.[1]);
      for (const value of values) assert.ok(value !== undefined && Buffer.from(value).equals(big));
      assert.ok(after - before < 2 * big.length, `Redis sent ${String(after - before)} bytes`);
    } finally {
      await backend.close();
    }
  });
});

describe("connection problems that a new user meets", needsRedis(), () => {
  let server: RedisServer;
  before(async () => {
    server = await RedisServer.start();
  });
  after(async () => {
    await server.stop();
  });

  async function failures(url: string): Promise<{ message: string; ms: number }[]> {
    const backend = new RedisBackend({ url });
    const seen: { message: string; ms: number }[] = [];
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        const started = performance.now();
        await assert.rejects(backend.get("k"), (error: unknown) => {
          seen.push({ message: (error as Error).message, ms: performance.now() - started });
          return (error as Error).name === "BackendError";
        });
      }
    } finally {
      await backend.close();
    }
    return seen;
  }

  it("rediss:// to an IP address prints no DEP0123, and to a server without TLS says why it waits", async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on("warning", onWarning);
    try {
      const seen = await failures(`rediss://127.0.0.1:${String(server.port)}/0?timeout=200`);
      for (const { message } of seen) assert.match(message, /the TLS handshake got no answer yet/);
    } finally {
      process.off("warning", onWarning);
    }
    assert.deepEqual(warnings.filter((warning) => (warning as { code?: string }).code === "DEP0123").map(String), []);
  });

  it("a database the server refuses fails at once after the first call, naming the reason", async () => {
    const seen = await failures(`redis://127.0.0.1:${String(server.port)}/99?timeout=400`);
    assert.match(seen[0]?.message ?? "", /DB index is out of range/);
    for (const { message, ms } of seen.slice(1)) {
      assert.match(message, /refused at once: .* refused the connection: ERR DB index is out of range/);
      assert.ok(ms < 400, `${String(ms)} ms`);
    }
  });

  it("redis+cluster:// pointed at a single server says so", async () => {
    const seen = await failures(`redis+cluster://127.0.0.1:${String(server.port)}?timeout=400`);
    for (const { message } of seen) {
      assert.match(message, /cluster support disabled \(a single server, not in cluster mode: use redis:\/\/\)/);
    }
  });
});
