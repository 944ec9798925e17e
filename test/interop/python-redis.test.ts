/**
 * Values that Python cachetory stored in Redis read back through our Redis backend: each fixture's
 * bytes are written under a key with a plain client (as Python's redis-py does) and read with a Cache
 * over the same key prefix and serializer URL.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { createClient } from "redis";
import { RedisBackend } from "../../src/backends/redis.js";
import { Cache } from "../../src/caches/cache.js";
import { expectedValue, fixtures, normalize, SUPPORTED } from "../support/python-fixtures.js";
import { needsRedis, RedisServer } from "../support/redis-server.js";

const requirement = needsRedis();
const server = requirement.skip === undefined ? await RedisServer.start() : undefined;
after(async () => {
  await server?.stop();
});

describe("Python cachetory values in Redis", requirement, () => {
  const readable = fixtures.cases.filter((fixture) => SUPPORTED.test(fixture.url));

  it("read back through the Redis backend with the same serializer URL", async () => {
    if (server === undefined) throw new Error("no redis-server");
    const writer = createClient({ url: server.url(0) });
    await writer.connect();
    const backend = new RedisBackend({ url: server.url(0) });
    try {
      for (const [index, fixture] of readable.entries()) {
        await writer.set(`python:${String(index)}`, Buffer.from(fixture.wire, "hex"));
      }
      for (const [index, fixture] of readable.entries()) {
        const cache = new Cache<unknown>({ backend, serializer: fixture.url, prefix: "python:" });
        assert.deepEqual(
          normalize(await cache.get(String(index))),
          normalize(expectedValue(fixture.value)),
          `${fixture.url} ${fixture.name}`,
        );
      }
      assert.ok(readable.length >= 20, `${String(readable.length)} fixtures`);
    } finally {
      writer.destroy();
      await backend.close();
    }
  });
});
