/**
 * Sealed caches (checksum://, hmac://) over the memory backend and real Redis: reliability.md S4 and I2.
 * A flipped byte, a value copied to another key or namespace, a value of another (or no) integrity layer,
 * a forged value, a value signed with a retired key: each is an undecodable miss, counted, reported and
 * deleted (or thrown in strict mode), and no secret appears in any message, warning or `inspect` output.
 */
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { after, before, describe, it } from "node:test";
import type { AsyncBackend } from "../../src/backends/contract.js";
import { MemoryBackend } from "../../src/backends/memory/backend.js";
import { MemoryBackend as MemorySyncBackend } from "../../src/backends/memory/sync-backend.js";
import { RedisBackend } from "../../src/backends/redis/backend.js";
import { Cache } from "../../src/cache/cache.js";
import type { CacheOptions } from "../../src/cache/cache.js";
import { SyncCache } from "../../src/cache/sync-cache.js";
import { SerializationError } from "../../src/errors.js";
import { needsRedis, RedisServer } from "../support/redis-server.js";

const KEY = "current-hmac-key-".repeat(3);
const OLD_KEY = "retired-hmac-key-".repeat(3);
const FORGER_KEY = "forger-hmac-key-".repeat(3);
const SECRETS = [KEY, OLD_KEY, FORGER_KEY];
process.env["CACHETORY_I2_KEY"] = KEY;
process.env["CACHETORY_I2_OLD_KEY"] = OLD_KEY;
process.env["CACHETORY_I2_FORGER_KEY"] = FORGER_KEY;
const HMAC = "msgpack+hmac://?key-env=CACHETORY_I2_KEY";

interface Store {
  readonly name: string;
  readonly skip?: string;
  /** A backend over the shared store, used by the caches and as the raw view of what is stored. */
  backend(): AsyncBackend;
}

const requirement = needsRedis();
let server: RedisServer | undefined;
before(async () => {
  if (requirement.skip === undefined) server = await RedisServer.start();
});
after(async () => {
  await server?.stop();
});

const memory = new MemoryBackend();
const STORES: Store[] = [
  { name: "memory", backend: () => memory },
  {
    name: "Redis",
    ...requirement,
    backend: () => new RedisBackend({ url: (server as RedisServer).url(0) }),
  },
];

/** Everything a cache said: its errors (to onError) with their causes, as `inspect` shows them. */
function recorder(): { readonly errors: Error[]; readonly text: () => string } {
  const errors: Error[] = [];
  return { errors, text: () => errors.map((error) => inspect(error, { depth: 10 })).join("\n") };
}

function assertNoSecret(text: string): void {
  for (const secret of SECRETS) assert.ok(!text.includes(secret), `a secret appeared in: ${text.slice(0, 400)}`);
}

function flipped(bytes: Uint8Array, offset: number): Buffer {
  const copy = Buffer.from(bytes);
  const at = offset < 0 ? copy.length + offset : offset;
  copy[at] = (copy[at] ?? 0) ^ 0x20;
  return copy;
}

for (const store of STORES) {
  describe(`sealed values over ${store.name} (S4, I2)`, { skip: store.skip }, () => {
    const open: Cache[] = [];
    after(async () => {
      for (const cache of open) await cache.close();
    });
    let round = 0;
    /** A cache over the shared store under a prefix of its own for each test (given the same `prefix`, the same keys). */
    const cacheOf = (serializer: string, options: Partial<CacheOptions<unknown>> = {}): Cache => {
      const cache = new Cache<unknown>({ backend: store.backend(), serializer, ...options });
      open.push(cache);
      return cache;
    };
    const prefix = (): string => `t${String(++round)}:`;
    let raw: AsyncBackend | undefined;
    /** The store as bytes, without a cache. */
    const rawOf = (): AsyncBackend => (raw ??= store.backend());
    after(async () => {
      if (raw !== memory) await raw?.close();
    });

    for (const serializer of ["json+checksum://", HMAC, "pickle+zstd+checksum://"]) {
      it(`${serializer}: what a cache writes reads back, plain, tagged, in bulk and through getOrSet`, async () => {
        const cache = cacheOf(serializer, { prefix: prefix() });
        await cache.set("plain", { id: 1 });
        await cache.set("tagged", { id: 2 }, { tags: ["team:1"] });
        await cache.setMany({ a: 1, b: "two" });
        assert.deepEqual(await cache.get("plain"), { id: 1 });
        assert.deepEqual(await cache.get("tagged"), { id: 2 });
        assert.deepEqual(
          [...(await cache.getMany("a", "b", "plain"))],
          [
            ["a", 1],
            ["b", "two"],
            ["plain", { id: 1 }],
          ],
        );
        let calls = 0;
        const factory = (): number => ++calls;
        const options = { timeToLive: 60_000, staleWhileRevalidate: 1000, tags: ["team:1"] };
        assert.equal(await cache.getOrSet("computed", factory, options), 1);
        assert.equal(await cache.getOrSet("computed", factory, options), 1);
        await cache.deleteByTag("team:1");
        assert.equal(await cache.get("tagged"), undefined);
        assert.equal(await cache.getOrSet("computed", factory, options), 2);
        assert.equal(cache.stats.undecodableValues, 0);
      });
    }

    it("a flipped byte anywhere (envelope, tags, payload, seal) is a counted, reported, deleted miss", async () => {
      const writer = cacheOf(HMAC, { prefix: prefix() });
      const log = recorder();
      const reader = cacheOf(HMAC, { prefix: writer.prefix, onError: (error) => log.errors.push(error) });
      const raw = rawOf();
      await writer.getOrSet("entry", () => ({ name: "Zoë" }), { timeToLive: 60_000, tags: ["a-tag"] });
      const stored = (await raw.get(`${writer.prefix}entry`)) as Uint8Array;
      assert.ok(stored instanceof Uint8Array);
      // The fence, the fresh-until time, a tag's text, its stamp, the payload, the signature.
      const offsets = [10, 25, 56, 60, -40, -1];
      for (const [index, offset] of offsets.entries()) {
        await raw.set(`${writer.prefix}entry`, flipped(stored, offset), {});
        assert.equal(await reader.get("entry"), undefined, `offset ${String(offset)}`);
        assert.equal(reader.stats.undecodableValues, index + 1);
        assert.equal(await raw.get(`${writer.prefix}entry`), undefined, "the bad entry is deleted");
      }
      assert.equal(log.errors.length, offsets.length);
      assert.ok(log.errors.every((error) => error instanceof SerializationError));
      assert.match(
        log.errors[0]?.message ?? "",
        /key "entry" with msgpack\+hmac:\/\/: hmac:\/\/ found a signature that does not verify/,
      );
      assertNoSecret(log.text());
    });

    it("getOrSet recomputes over a tampered entry; strict mode throws a SerializationError naming the key", async () => {
      const cache = cacheOf("json+checksum://", { prefix: prefix() });
      const strict = cacheOf("json+checksum://", {
        prefix: cache.prefix,
        undecodableValues: "throw",
        onError: () => {},
      });
      const raw = rawOf();
      // With a stale window, the entry has an envelope: its fresh-until time is at offsets 23–30.
      const options = { timeToLive: 60_000, staleWhileRevalidate: 1000 };
      assert.equal(await cache.getOrSet("n", () => 1, options), 1);
      const stored = (await raw.get(`${cache.prefix}n`)) as Uint8Array;
      await raw.set(`${cache.prefix}n`, flipped(stored, 30), {});
      assert.equal(await cache.getOrSet("n", () => 2, options), 2);
      assert.equal(cache.stats.undecodableValues, 1);
      await raw.set(`${cache.prefix}n`, flipped(stored, -2), {});
      await assert.rejects(strict.get("n"), (error: unknown) => {
        assert.ok(error instanceof SerializationError);
        assert.equal(error.key, "n");
        assert.match(error.message, /checksum:\/\/ found a checksum that does not match/);
        return true;
      });
      // A flipped byte in a tag's name reads as another tag, whose state says gone: still refused as corrupt.
      await cache.set("tagged", "v", { tags: ["tag"] });
      const tagged = (await raw.get(`${cache.prefix}tagged`)) as Uint8Array;
      await raw.set(`${cache.prefix}tagged`, flipped(tagged, 56), {});
      await assert.rejects(strict.get("tagged"), SerializationError);
      assert.equal(await raw.get(`${cache.prefix}tagged`), undefined);
    });

    it("a value copied to another key, or into a namespace, is refused", async () => {
      const cache = cacheOf(HMAC, { prefix: prefix(), onError: () => {} });
      const raw = rawOf();
      await cache.set("user:1", { admin: false });
      await cache.set("user:2", { admin: true });
      const admin = await raw.get(`${cache.prefix}user:2`);
      await raw.set(`${cache.prefix}user:1`, admin, {});
      assert.equal(await cache.get("user:1"), undefined);
      const users = cache.namespace("users");
      await raw.set(`${users.prefix}user:2`, admin, {});
      assert.equal(await users.get("user:2"), undefined);
      assert.deepEqual(await cache.get("user:2"), { admin: true });
      assert.equal(cache.stats.undecodableValues + users.stats.undecodableValues, 2);
    });

    it("another integrity layer, none at all, or a forger's key: each refused (the algorithm is not read from the data)", async () => {
      const at = prefix();
      const reader = cacheOf(HMAC, { prefix: at, onError: () => {} });
      const writers = [
        cacheOf("msgpack+checksum://", { prefix: at }),
        cacheOf("msgpack://", { prefix: at }),
        cacheOf("msgpack+hmac://?key-env=CACHETORY_I2_FORGER_KEY", { prefix: at }),
      ];
      for (const [index, writer] of writers.entries()) {
        await writer.set("k", { forged: index });
        assert.equal(await reader.get("k"), undefined, writer.serializer.constructor.name);
      }
      assert.equal(reader.stats.undecodableValues, 3);
      // And a checksum cache refuses a signed value: the two are not interchangeable either way.
      const checksummed = cacheOf("msgpack+checksum://", { prefix: at, onError: () => {} });
      await reader.set("k", 1);
      assert.equal(await checksummed.get("k"), undefined);
    });

    it("a rotation: the previous key still verifies, new values are signed with the current one, a retired key no longer verifies", async () => {
      const at = prefix();
      const before = cacheOf("msgpack+hmac://?key-env=CACHETORY_I2_OLD_KEY", { prefix: at });
      const during = cacheOf(`${HMAC}&previous-key-env=CACHETORY_I2_OLD_KEY`, { prefix: at });
      const afterwards = cacheOf(HMAC, { prefix: at, onError: () => {} });
      await before.set("old", "signed with the old key");
      assert.equal(await during.get("old"), "signed with the old key");
      await during.set("new", "signed with the new key");
      assert.equal(await afterwards.get("new"), "signed with the new key");
      assert.equal(await afterwards.get("old"), undefined);
      assert.equal(afterwards.stats.undecodableValues, 1);
      assertNoSecret(inspect(during, { depth: 20, showHidden: true }));
    });
  });
}

describe("a sealed SyncCache", () => {
  it("seals and refuses as the async cache does", () => {
    const backend = new MemorySyncBackend();
    using cache = new SyncCache<unknown>({ backend, serializer: HMAC, onError: () => {} });
    cache.set("k", { v: 1 }, { tags: ["t"] });
    assert.deepEqual(cache.get("k"), { v: 1 });
    const stored = backend.get("k") as Uint8Array;
    backend.set("k", flipped(stored, -3), {});
    assert.equal(cache.get("k"), undefined);
    assert.equal(cache.stats.undecodableValues, 1);
    assert.equal(backend.get("k"), undefined);
  });
});

describe("a sealed cache with a near tier over Redis", requirement, () => {
  it("decodes and checks once per entry held near; a tampered overwrite, once invalidated, is an undecodable miss", async () => {
    const url = (server as RedisServer).url(5);
    await using cache = new Cache<unknown>({ backend: url, serializer: HMAC, near: true, onError: () => {} });
    const raw = new RedisBackend({ url });
    try {
      await cache.set("k", { v: 1 });
      assert.deepEqual(await cache.get("k"), { v: 1 });
      assert.deepEqual(await cache.get("k"), { v: 1 });
      assert.ok(cache.stats.nearHits >= 1);
      const stored = (await raw.get("k")) as Uint8Array;
      await raw.set("k", flipped(stored, 2), {});
      let value: unknown = { v: 1 };
      for (let attempt = 0; attempt < 100 && value !== undefined; attempt++) {
        value = await cache.get("k");
        if (value !== undefined) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.equal(value, undefined);
      assert.equal(cache.stats.undecodableValues, 1);
    } finally {
      await raw.close();
    }
  });
});
