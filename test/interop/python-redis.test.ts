/**
 * Values that Python cachetory stored in Redis read back through our Redis backend: each fixture's
 * bytes are written under a key with a plain client (as Python's redis-py does) and read with a Cache
 * over the same key prefix and serializer URL. Then a real Python process (standard library and
 * python3-redis) and we share one cache with pickle://, both ways.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, describe, it } from "node:test";
import { createClient } from "redis";
import { RedisBackend } from "../../src/backends/redis/backend.js";
import { Cache } from "../../src/cache/cache.js";
import { expectedValue, fixtures, normalize, SUPPORTED } from "../support/python-fixtures.js";
import { findPython } from "../support/python.js";
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

/** A Python service: the standard library plus python3-redis, storing under the prefix as cachetory does. */
const PYTHON_SERVICE = `
import json, pickle, sys, redis
port, mode = int(sys.argv[1]), sys.argv[2]
client = redis.Redis(host="127.0.0.1", port=port, db=2)
if mode == "write":
    for key, value in json.load(sys.stdin).items():
        client.set("orders:" + key, pickle.dumps(value, protocol=4), px=60000)
    print("ok")
else:
    keys = json.load(sys.stdin)
    json.dump({key: pickle.loads(client.get("orders:" + key)) for key in keys}, sys.stdout)
`;

describe("one Redis cache shared by a Python service and us (pickle://)", () => {
  const python = findPython(["redis"]);
  const unavailable =
    requirement.skip ??
    ("reason" in python && process.env.CACHETORY_REQUIRE_SERVERS !== "1" ? python.reason : undefined);

  it(
    "reads what Python stored, and Python reads what we stored",
    unavailable === undefined ? {} : { skip: unavailable },
    async () => {
      if (server === undefined) throw new Error("no redis-server");
      if ("reason" in python) assert.fail(python.reason);
      const orders = {
        "1": { id: 1, items: ["book", "pen"], total: 12.5, paid: true, note: null },
        "2": { id: 2, items: [], total: 0, paid: false, note: "Zoë ✓" },
      };
      const written = spawnSync(python.python, ["-c", PYTHON_SERVICE, String(server.port), "write"], {
        input: JSON.stringify(orders),
        encoding: "utf8",
      });
      assert.equal(written.status, 0, written.stderr);
      await using cache = new Cache<unknown>({ backend: server.url(2), serializer: "pickle://", prefix: "orders:" });
      assert.deepEqual(await cache.getMany("1", "2"), new Map(Object.entries(orders)));

      const ours = { id: 3, items: ["lamp"], total: 2 ** 40, paid: true, note: "from Node" };
      await cache.set("3", ours, { timeToLive: "1m" });
      const read = spawnSync(python.python, ["-c", PYTHON_SERVICE, String(server.port), "read"], {
        input: JSON.stringify(["3"]),
        encoding: "utf8",
      });
      assert.equal(read.status, 0, read.stderr);
      assert.deepEqual(JSON.parse(read.stdout), { "3": ours });
    },
  );
});
