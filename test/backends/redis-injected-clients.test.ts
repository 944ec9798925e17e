/**
 * Clients that applications inject, with the options they usually have: ioredis with its offline queue
 * and its resend of unanswered commands after a reconnect (both on by default), node-redis with its
 * offline queue, and ioredis's own `keyPrefix`. "A call that was told it failed is never sent later"
 * and "clear() clears what the cache wrote" must hold for every client we accept.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { Cluster as IoRedisCluster, Redis as IoRedis } from "ioredis";
import { createClient } from "redis";
import { RedisBackend } from "../../src/backends/redis/backend.js";
import { sleep } from "../support/fault-guard.js";
import { needsRedis, RedisServer } from "../support/redis-server.js";

const servers: RedisServer[] = [];
const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  for (const server of servers.splice(0)) await server.stop();
});

async function startServer(): Promise<RedisServer> {
  const server = await RedisServer.start();
  servers.push(server);
  return server;
}

describe("injected clients", needsRedis(), () => {
  const flavours = [
    ["an ioredis client with its default options", (port: number) => new IoRedis(port, "127.0.0.1")],
    [
      "a node-redis client with its offline queue",
      (port: number) => createClient({ url: `redis://127.0.0.1:${String(port)}` }),
    ],
  ] as const;

  for (const [name, makeClient] of flavours) {
    it(`never sends a write later that was reported failed (${name})`, async () => {
      const server = await startServer();
      const client = makeClient(server.port);
      // The application's own client: its errors are the application's to hear (ioredis logs them otherwise).
      client.on("error", () => undefined);
      if ("connect" in client && !("status" in client)) await client.connect();
      closers.push(() => {
        if ("status" in client) client.disconnect();
        else client.destroy();
      });
      const backend = new RedisBackend({ client, timeout: 200 });
      closers.push(() => backend.close());
      assert.equal(await backend.set("k", "old", {}), true);
      server.pause();
      await assert.rejects(backend.set("k", "stale", {}), /timed out/);
      await assert.rejects(backend.set("fresh", "stale", {}), /timed out/);
      await server.crash();
      await server.restart();
      // Another writer, right after the restart (before the injected client is back).
      const other = createClient({ url: server.url() });
      await other.connect();
      closers.push(() => {
        other.destroy();
      });
      await other.set("k", "newer");
      // Long enough for any client to reconnect and replay what it kept.
      await sleep(3000);
      assert.equal(await backend.set("probe", "1", {}), true, "the backend works again");
      assert.equal(await other.get("k"), "newer");
      assert.equal(await other.exists("fresh"), 0);
    });
  }

  it("refuses an ioredis client or cluster with its own keyPrefix, which clear() and SCAN would not honour", async () => {
    const server = await startServer();
    const client = new IoRedis(server.port, "127.0.0.1", { keyPrefix: "app:", lazyConnect: true });
    closers.push(() => {
      client.disconnect();
    });
    assert.throws(() => new RedisBackend({ client }), {
      name: "ConfigurationError",
      message: /ioredis client has keyPrefix "app:".*prefix: "app:"/,
    });
    const cluster = new IoRedisCluster([{ host: "127.0.0.1", port: server.port }], {
      lazyConnect: true,
      keyPrefix: "app:",
    });
    closers.push(() => {
      cluster.disconnect();
    });
    assert.throws(() => new RedisBackend({ client: cluster }), { name: "ConfigurationError", message: /keyPrefix/ });
  });
});
