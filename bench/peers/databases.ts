/**
 * cachetory's PostgreSQL and SQLite backends against Keyv's (`@keyv/postgres`, `@keyv/sqlite`) in one
 * process run, on a private PostgreSQL cluster and a SQLite file in a fresh directory: `npm run bench`
 * runs it after the peers' run, or `node --import tsx bench/peers/databases.ts` alone. Every contestant
 * reads and writes the same 1 KB JSON value, at 1 and at 64 calls in flight, in interleaved rounds (the
 * median round kept). The synchronous SQLite flavour is compared with raw better-sqlite3 (the floor: one
 * prepared statement, no cache around it) and with the worker-thread sync Redis backend. Results go to
 * bench/results/databases.json and databases.md.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import KeyvPostgres from "@keyv/postgres";
import KeyvSqlite from "@keyv/sqlite";
import Database from "better-sqlite3";
import { Cache, SyncCache } from "cachetory";
import { Keyv } from "keyv";
import { PostgresServer } from "../../test/support/postgres-server.js";
import { RedisServer } from "../../test/support/redis-server.js";
import type { Measurement } from "./measure.js";
import { RatioTable } from "./ratio-table.js";

const VALUE = JSON.stringify({ text: "x".repeat(1000) }).slice(0, 1024);
const KEYS = 1000;
const closers: (() => unknown)[] = [];

const table = new RatioTable();
const scenario = (measurements: Measurement[]): Promise<void> => table.scenario(measurements);

let counter = 0;
/** One of KEYS keys, in turn. */
function nextKey(): string {
  counter = (counter + 1) % KEYS;
  return `k${String(counter)}`;
}

const postgres = await PostgresServer.start();
closers.push(() => postgres.stop());
const redis = await RedisServer.start();
closers.push(() => redis.stop());
const directory = mkdtempSync(join(tmpdir(), "cachetory-bench-sqlite-"));
closers.push(() => rmSync(directory, { recursive: true, force: true }));

try {
  // PostgreSQL: both on a pool of 10 connections.
  const pgCache = new Cache<string>({
    backend: postgres.url("?table=bench_cachetory&pool-size=10&timeout=5000"),
    serializer: "json://",
  });
  const pgKeyv = new Keyv<string>({
    store: new KeyvPostgres({ uri: postgres.url(), table: "bench_keyv", max: 10 }),
  });
  closers.push(
    () => pgCache.close(),
    () => pgKeyv.disconnect(),
  );
  for (let index = 0; index < KEYS; index++) {
    await pgCache.set(`k${String(index)}`, VALUE);
    await pgKeyv.set(`k${String(index)}`, VALUE);
  }
  for (const concurrency of [1, 64]) {
    await scenario([
      [`postgres get, ${String(concurrency)} in flight`, "cachetory", () => pgCache.get(nextKey()), { concurrency }],
      [
        `postgres get, ${String(concurrency)} in flight`,
        "@keyv/postgres",
        () => pgKeyv.get(nextKey()),
        { concurrency },
      ],
    ]);
    await scenario([
      [
        `postgres set, ${String(concurrency)} in flight`,
        "cachetory",
        () => pgCache.set(nextKey(), VALUE, { timeToLive: 60_000 }),
        { concurrency },
      ],
      [
        `postgres set, ${String(concurrency)} in flight`,
        "@keyv/postgres",
        () => pgKeyv.set(nextKey(), VALUE, 60_000),
        { concurrency },
      ],
    ]);
  }

  // SQLite, async: each on a file of its own.
  const sqliteCache = new Cache<string>({
    backend: `sqlite://${join(directory, "cachetory.db")}`,
    serializer: "json://",
  });
  const sqliteKeyv = new Keyv<string>({ store: new KeyvSqlite({ uri: `sqlite://${join(directory, "keyv.db")}` }) });
  closers.push(
    () => sqliteCache.close(),
    () => sqliteKeyv.disconnect(),
  );
  for (let index = 0; index < KEYS; index++) {
    await sqliteCache.set(`k${String(index)}`, VALUE);
    await sqliteKeyv.set(`k${String(index)}`, VALUE);
  }
  for (const concurrency of [1, 64]) {
    await scenario([
      [`sqlite get, ${String(concurrency)} in flight`, "cachetory", () => sqliteCache.get(nextKey()), { concurrency }],
      [
        `sqlite get, ${String(concurrency)} in flight`,
        "@keyv/sqlite",
        () => sqliteKeyv.get(nextKey()),
        { concurrency },
      ],
    ]);
    await scenario([
      [
        `sqlite set, ${String(concurrency)} in flight`,
        "cachetory",
        () => sqliteCache.set(nextKey(), VALUE, { timeToLive: 60_000 }),
        { concurrency },
      ],
      [
        `sqlite set, ${String(concurrency)} in flight`,
        "@keyv/sqlite",
        () => sqliteKeyv.set(nextKey(), VALUE, 60_000),
        { concurrency },
      ],
    ]);
  }

  // SQLite, sync: our SyncCache on a file, raw better-sqlite3 on a file, and the worker-based sync Redis.
  const syncSqlite = new SyncCache<string>({
    backend: `sqlite://${join(directory, "sync.db")}`,
    serializer: "json://",
  });
  const syncRedis = new SyncCache<string>({ backend: redis.url(0), serializer: "json://" });
  const raw = new Database(join(directory, "raw.db"));
  raw.pragma("journal_mode = WAL");
  raw.pragma("synchronous = NORMAL");
  raw.exec("CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER)");
  const rawGet = raw.prepare("SELECT value FROM cache WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)");
  const rawSet = raw.prepare(
    "INSERT INTO cache (key, value, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
  );
  closers.push(
    () => syncSqlite.close(),
    () => syncRedis.close(),
    () => raw.close(),
  );
  for (let index = 0; index < KEYS; index++) {
    syncSqlite.set(`k${String(index)}`, VALUE);
    syncRedis.set(`k${String(index)}`, VALUE);
    rawSet.run(`k${String(index)}`, JSON.stringify(VALUE), null);
  }
  const batch = { batch: 100 };
  await scenario([
    ["sync get", "cachetory SyncCache sqlite://", () => syncSqlite.get(nextKey()), batch],
    [
      "sync get",
      "raw better-sqlite3",
      () => JSON.parse(String((rawGet.get(nextKey(), Date.now()) as { value: string }).value)),
      batch,
    ],
    ["sync get", "cachetory SyncCache redis:// (worker)", () => syncRedis.get(nextKey()), batch],
  ]);
  await scenario([
    [
      "sync set",
      "cachetory SyncCache sqlite://",
      () => syncSqlite.set(nextKey(), VALUE, { timeToLive: 60_000 }),
      batch,
    ],
    ["sync set", "raw better-sqlite3", () => rawSet.run(nextKey(), JSON.stringify(VALUE), Date.now() + 60_000), batch],
    [
      "sync set",
      "cachetory SyncCache redis:// (worker)",
      () => syncRedis.set(nextKey(), VALUE, { timeToLive: 60_000 }),
      batch,
    ],
  ]);
} finally {
  for (const close of closers.reverse()) await close();
}

table.write("databases", "Database backends");
