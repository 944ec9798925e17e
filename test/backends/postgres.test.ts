import assert from "node:assert/strict";
import { inspect } from "node:util";
import { after, before, describe, it } from "node:test";
import type pg from "pg";
import { PostgresBackend } from "../../src/backends/postgres/backend.js";
import { fromUrl } from "../../src/backends/registry.js";
import { SyncBackendAdapter } from "../../src/backends/sync-adapter.js";
import { Cache } from "../../src/cache/cache.js";
// The worker thread runs built code: the sync backend is taken from the build, as the sync Redis tests do.
import { fromUrl as syncFromUrl, PostgresBackend as SyncPostgresBackend } from "../../dist/esm/backends/sync/index.js";
import { SyncCache } from "../../dist/esm/index.js";
import { BackendError, ConfigurationError } from "../../src/errors.js";
import { runBackendConformance } from "../support/conformance.js";
import { PostgresServer, postgresUnavailableReason } from "../support/postgres-server.js";

const unavailable = postgresUnavailableReason();
const server = unavailable === undefined ? await PostgresServer.start() : undefined;
after(async () => {
  await server?.stop();
});

function url(query = ""): string {
  if (server === undefined) throw new Error("no PostgreSQL");
  return server.url(query);
}

const onPostgres = { timeScale: 3 } as const;

if (server === undefined) {
  it("PostgreSQL backend", { skip: unavailable }, () => {});
} else {
  runBackendConformance(
    "postgres:// (from a URL)",
    async () => {
      const backend = fromUrl(url("?table=conformance_url"));
      await backend.clear("");
      return backend;
    },
    onPostgres,
  );

  const shared = server.pool();
  after(() => shared.end());
  runBackendConformance(
    "postgres:// (an injected pg.Pool, unlogged)",
    async () => {
      const backend = new PostgresBackend({ pool: shared, table: "conformance_pool", unlogged: true });
      await backend.clear("");
      return backend;
    },
    onPostgres,
  );

  runBackendConformance(
    "postgres:// (sync, worker thread)",
    () => {
      const backend = new SyncPostgresBackend({ url: url("?table=conformance_sync") });
      backend.clear("");
      return new SyncBackendAdapter(backend);
    },
    onPostgres,
  );

  describe("PostgreSQL backend", () => {
    let inspector: pg.Pool;
    before(() => {
      inspector = server.pool();
    });
    after(() => inspector.end());

    async function sql(text: string, values: unknown[] = []): Promise<Record<string, unknown>[]> {
      return (await inspector.query(text, values)).rows as Record<string, unknown>[];
    }

    it("creates its table with bytea keys and values, one index (the primary key), and UNLOGGED only when asked", async () => {
      const logged = new PostgresBackend({ url: url("?table=schema_logged") });
      const unlogged = new PostgresBackend({ url: url("?table=schema_unlogged&unlogged=true") });
      try {
        await logged.set("k", Buffer.from("v"), {});
        await unlogged.set("k", Buffer.from("v"), {});
        const columns = await sql(
          "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'schema_logged' ORDER BY ordinal_position",
        );
        assert.deepEqual(
          columns.map((column) => `${String(column["column_name"])}:${String(column["data_type"])}`),
          ["key:bytea", "value:bytea", "expires_at:timestamp with time zone", "key_prefix:bytea", "key_hash:bytea"],
        );
        const indexes = await sql("SELECT indexdef FROM pg_indexes WHERE tablename = 'schema_logged'");
        assert.equal(indexes.length, 1);
        assert.match(String(indexes[0]?.["indexdef"]), /UNIQUE INDEX .* \(key_prefix, key_hash\)/);
        const persistence = await sql(
          "SELECT relname, relpersistence FROM pg_class WHERE relname IN ('schema_logged', 'schema_unlogged') ORDER BY relname",
        );
        assert.deepEqual(
          persistence.map((table) => table["relpersistence"]),
          ["p", "u"],
        );
      } finally {
        await logged.close();
        await unlogged.close();
      }
    });

    it("overwrites are HOT updates: the index is not touched when a key is written again", async () => {
      const backend = new PostgresBackend({ url: url("?table=hot_updates&sweep-interval=0") });
      await backend.set("counter", Buffer.from("0"), { timeToLive: 60_000 });
      for (let round = 1; round <= 50; round++) {
        await backend.set("counter", Buffer.from(String(round)), { timeToLive: 60_000 });
      }
      // A connection reports its statistics when it ends, at the latest.
      await backend.close();
      let hot = 0;
      let updates = 0;
      for (let attempt = 0; attempt < 50 && updates < 50; attempt++) {
        const [stats] = await sql(
          "SELECT n_tup_upd::int AS updates, n_tup_hot_upd::int AS hot FROM pg_stat_user_tables WHERE relname = 'hot_updates'",
        );
        updates = Number(stats?.["updates"]);
        hot = Number(stats?.["hot"]);
        if (updates < 50) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(updates, 50);
      assert.ok(hot >= 45, `${String(hot)} of 50 updates were HOT`);
    });

    it("set with ifNotExists is true to its word under concurrency: of 40 racing writers on 4 pools, exactly one wins", async () => {
      const backends = [1, 2, 3, 4].map(() => new PostgresBackend({ url: url("?table=race&timeout=5000") }));
      try {
        await backends[0]?.clear("");
        for (let round = 0; round < 5; round++) {
          const results = await Promise.all(
            Array.from({ length: 40 }, (_, writer) =>
              (backends[writer % 4] as PostgresBackend).set(`race:${String(round)}`, Buffer.from(String(writer)), {
                ifNotExists: true,
                timeToLive: 60_000,
              }),
            ),
          );
          assert.equal(results.filter(Boolean).length, 1, `round ${String(round)}: ${String(results)}`);
        }
        // An expired entry is taken over by one writer only, too.
        await backends[0]?.set("race:expired", Buffer.from("old"), { timeToLive: 1 });
        await new Promise((resolve) => setTimeout(resolve, 20));
        const results = await Promise.all(
          Array.from({ length: 40 }, (_, writer) =>
            (backends[writer % 4] as PostgresBackend).set("race:expired", Buffer.from(String(writer)), {
              ifNotExists: true,
            }),
          ),
        );
        assert.equal(results.filter(Boolean).length, 1);
      } finally {
        await Promise.all(backends.map((backend) => backend.close()));
      }
    });

    it("setMany is one atomic statement: a batch with a row PostgreSQL refuses stores none of it", async () => {
      const backend = new PostgresBackend({ url: url("?table=atomic_batches") });
      try {
        await backend.setMany(
          [
            ["a", Buffer.from("1")],
            ["b", Buffer.from("2")],
            ["a", Buffer.from("3")],
          ],
          undefined,
        );
        assert.deepEqual(
          [...(await backend.getMany(["a", "b", "a", "missing"]))].map(([key, value]) => [key, value.toString()]),
          [
            ["a", "3"],
            ["b", "2"],
          ],
        );
        // A constraint that refuses the second row fails the whole statement: the first is not stored either.
        await sql("ALTER TABLE atomic_batches ADD CONSTRAINT refuses_d CHECK (key <> 'd'::bytea)");
        await assert.rejects(
          backend.setMany(
            [
              ["c", Buffer.from("1")],
              ["d", Buffer.from("2")],
            ],
            60_000,
          ),
          (error: unknown) => error instanceof BackendError && /refuses_d/.test(error.message),
        );
        assert.equal((await backend.getMany(["c", "d"])).size, 0);
        assert.equal(await backend.deleteMany(["a", "b", "a", "missing"]), 2);
      } finally {
        await backend.close();
      }
    });

    it("clear(prefix) deletes only its prefix's keys, in steps, keys of every length included", async () => {
      const backend = new PostgresBackend({ url: url("?table=prefix_clear") });
      try {
        await backend.clear("");
        const long = "x".repeat(300);
        const entries: [string, Buffer][] = [];
        for (let index = 0; index < 25_000; index++) entries.push([`app:${String(index)}`, Buffer.from("v")]);
        await backend.setMany(entries, undefined);
        await backend.setMany(
          [
            [`${long}:a`, Buffer.from("1")],
            [`${long}:b`, Buffer.from("2")],
            [`${long};c`, Buffer.from("3")],
            ["apple", Buffer.from("4")],
            ["ap", Buffer.from("5")],
            ["\u00ff\u00ff", Buffer.from("6")],
          ],
          undefined,
        );
        await backend.clear("app:");
        await backend.clear(`${long}:`);
        const [left] = await sql("SELECT count(*)::int AS count FROM prefix_clear");
        assert.equal(left?.["count"], 4);
        assert.equal(await backend.has("apple"), true);
        assert.equal(await backend.has(`${long};c`), true);
        assert.equal(await backend.has(`${long}:a`), false);
      } finally {
        await backend.close();
      }
    });

    it("scans in bounded pages, by the glob's literal prefix and the glob", async () => {
      const backend = new PostgresBackend({ url: url("?table=scans") });
      try {
        await backend.clear("");
        const entries: [string, Buffer][] = [];
        for (let index = 0; index < 2500; index++) entries.push([`user:${String(index)}`, Buffer.from("v")]);
        entries.push(["other:1", Buffer.from("v")], ["user\u0000nul", Buffer.from("v")]);
        await backend.setMany(entries, undefined);
        const seen = new Set<string>();
        let pages = 0;
        let cursor = "0";
        do {
          const page = await backend.scan(cursor, { match: "user:*", count: 500 });
          for (const key of page.keys) seen.add(key);
          cursor = page.cursor;
          pages++;
        } while (cursor !== "0");
        assert.equal(seen.size, 2500);
        assert.ok(pages >= 5 && pages <= 6, `${String(pages)} pages`);
        const questionMark = await backend.scan("0", { match: "user:1?", count: 10_000 });
        assert.equal(questionMark.keys.length, 10);
        await assert.rejects(backend.scan("k12", {}), /no PostgreSQL scan gave/);
      } finally {
        await backend.close();
      }
    });

    it("sweeps expired rows in bounded statements, one instance at a time", async () => {
      const first = new PostgresBackend({ url: url("?table=sweeps&sweep-interval=0&sweep-batch=500") });
      const second = new PostgresBackend({ url: url("?table=sweeps&sweep-interval=0&sweep-batch=500") });
      try {
        await first.clear("");
        const expiring: [string, Buffer][] = [];
        const lasting: [string, Buffer][] = [];
        for (let index = 0; index < 4000; index++) expiring.push([`gone:${String(index)}`, Buffer.from("v")]);
        for (let index = 0; index < 1000; index++) lasting.push([`kept:${String(index)}`, Buffer.from("v")]);
        await first.setMany(expiring, 1);
        await first.setMany(lasting, 60_000);
        await first.set("forever", Buffer.from("v"), {});
        await new Promise((resolve) => setTimeout(resolve, 20));
        const [a, b] = await Promise.all([first.sweep(), second.sweep()]);
        const reports = [a, b];
        // One took the advisory lock; the other found it held and did nothing.
        assert.deepEqual(reports.map((report) => report.swept).sort(), [false, true]);
        const done = reports.find((report) => report.swept);
        assert.equal(done?.removed, 4000);
        assert.equal(done?.examined, 5001);
        assert.equal(done?.statements, 11);
        assert.equal(done?.complete, true);
        const [left] = await sql("SELECT count(*)::int AS count FROM sweeps");
        assert.equal(left?.["count"], 1001);
        // A sweep holds the lock only while it runs: the other instance sweeps next.
        assert.equal((await second.sweep()).swept, true);
      } finally {
        await first.close();
        await second.close();
      }
    });

    it("the background sweep runs every sweep-interval and stops with close()", async () => {
      const backend = new PostgresBackend({ url: url("?table=background_sweeps&sweep-interval=100") });
      try {
        await backend.setMany([["a", Buffer.from("v")]], 1);
        let count = 1;
        for (let attempt = 0; attempt < 50 && count > 0; attempt++) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          const [row] = await sql("SELECT count(*)::int AS count FROM background_sweeps");
          count = Number(row?.["count"]);
        }
        assert.equal(count, 0);
      } finally {
        await backend.close();
      }
    });

    it("stores what the cache hands it: keys with NUL, long keys and large values; refuses lone surrogates", async () => {
      const cache = new Cache<string>({ backend: url("?table=awkward"), serializer: "json://", prefix: "p:" });
      try {
        const keys = ["nul\u0000inside", "k".repeat(10_000), "🙂", ""];
        for (const key of keys) await cache.set(key, `value of ${key.slice(0, 10)}`);
        for (const key of keys) assert.equal(await cache.get(key), `value of ${key.slice(0, 10)}`);
        const big = "v".repeat(20 * 1024 * 1024);
        await cache.set("big", big);
        assert.equal((await cache.get("big"))?.length, big.length);
        await assert.rejects(cache.get("lone \ud800"), /lone UTF-16 surrogate/);
      } finally {
        await cache.close();
      }
    });

    it("an injected pool is never ended by close(); a created one is", async () => {
      const pool = server.pool();
      const backend = new PostgresBackend({ pool, table: "injected" });
      await backend.set("k", Buffer.from("v"), {});
      await backend.close();
      assert.deepEqual((await pool.query("SELECT 1 AS one")).rows, [{ one: 1 }]);
      await pool.end();
      await assert.rejects(backend.get("k"), { name: "CacheClosedError" });
    });

    it("a SyncCache over postgres:// sees what an async Cache wrote", async () => {
      const writer = new Cache<{ n: number }>({ backend: url("?table=sync_and_async"), serializer: "json://" });
      const reader = new SyncCache<{ n: number }>({ backend: url("?table=sync_and_async"), serializer: "json://" });
      try {
        await writer.set("shared", { n: 7 }, { timeToLive: "1m" });
        assert.deepEqual(reader.get("shared"), { n: 7 });
        const left = reader.ttl("shared");
        assert.ok(typeof left === "number" && left > 50_000 && left <= 60_000, String(left));
        reader.set("back", { n: 8 });
        assert.deepEqual(await writer.get("back"), { n: 8 });
        assert.ok(syncFromUrl(url()) instanceof SyncPostgresBackend);
      } finally {
        await writer.close();
        reader.close();
      }
    });

    it("bad URLs and options are ConfigurationErrors that never quote the password", () => {
      const secret = "s3cr3t-pw";
      const cases: [string, RegExp][] = [
        [`postgres://u:${secret}@127.0.0.1:99999/db`, /invalid host or port/],
        [`postgres://u:${secret}@127.0.0.1/db?table=bad-name`, /table must be a name/],
        [`postgres://u:${secret}@127.0.0.1/db?table=a;drop`, /table must be a name/],
        [`postgres://u:${secret}@127.0.0.1/db?unlogged=yes`, /unlogged is true or false/],
        [`postgres://u:${secret}@127.0.0.1/db?timeout=0`, /timeout must be an integer/],
        [`postgres://u:${secret}@127.0.0.1/db?pool-size=0`, /pool-size must be an integer/],
        [`postgres://u:${secret}@127.0.0.1/db/extra`, /database name/],
        [`postgresql://u:${secret}@127.0.0.1/db?colour=red`, /unknown parameter "colour"/],
      ];
      for (const [text, message] of cases) {
        assert.throws(
          () => fromUrl(text),
          (error: unknown) => {
            assert.ok(error instanceof ConfigurationError, String(error));
            assert.match(error.message, message);
            assert.ok(!error.message.includes(secret), error.message);
            return true;
          },
        );
      }
      assert.throws(() => new PostgresBackend({ url: url(), pool: server.pool() }), /a url or a pool, not both/);
      assert.throws(() => new PostgresBackend({ url: url(), timeout: -1 }), /timeout must be an integer/);
      assert.throws(() => new SyncPostgresBackend({ url: url(), table: "no spaces" }), /table must be a name/);
    });

    it("a refused login fails calls with a BackendError that names the server, never the password", async () => {
      const secret = "wr0ng-secret";
      // The private cluster trusts every local connection, so no password is ever wrong; a role without
      // LOGIN takes the same path: the server refuses the connection, and the call fails typed.
      await sql("DO $$ BEGIN CREATE ROLE nologin NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
      const backend = fromUrl(`postgres://nologin:${secret}@127.0.0.1:${String(server.port)}/postgres`);
      try {
        await assert.rejects(backend.get("k"), (error: unknown) => {
          assert.ok(error instanceof BackendError, String(error));
          assert.match(error.message, /PostgreSQL at postgres:\/\/nologin:\*\*\*@127\.0\.0\.1/);
          assert.match(error.message, /not permitted to log in/);
          assert.ok(!error.message.includes(secret) && !inspect(error, { depth: 5 }).includes(secret));
          return true;
        });
        assert.ok(!inspect(backend, { depth: 5 }).includes(secret));
      } finally {
        await backend.close();
      }
    });
  });
}
