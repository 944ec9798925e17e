import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { BackendError, CacheClosedError } from "../../errors.js";
import { globMatcher, literalPrefix } from "../../internal/glob.js";
import { keyRefusal } from "../../internal/key-refusal.js";
import { describeKey } from "../../internal/quote-key.js";
import { keyBytes, prefixEnd, storedBytes } from "../../internal/stored-bytes.js";
import type { BackendScanOptions, BackendScanPage, BackendSetOptions, SyncBackend } from "../contract.js";
import { openSqlite, type SqliteDatabase, type SqliteDriverName, type SqliteStatement } from "./driver.js";

/** How many rows one step of a prefix `clear` deletes. */
const CLEAR_BATCH = 1000;
/** How many keys a `scan` page looks at when not told. */
const DEFAULT_SCAN_COUNT = 1000;

/** What a {@link SqliteStore} opens and how. */
export interface SqliteStoreSettings {
  /** An absolute file path, or `:memory:`. */
  readonly path: string;
  readonly table: string;
  readonly driver: SqliteDriverName;
  /** How long a write waits for a lock another connection holds (SQLite's `busy_timeout`). */
  readonly busyTimeout: number;
}

/** SQLite's error codes that say the database is locked by another connection. */
const BUSY_CODES = new Set([
  "SQLITE_BUSY",
  "SQLITE_BUSY_SNAPSHOT",
  "SQLITE_BUSY_RECOVERY",
  "SQLITE_BUSY_TIMEOUT",
  "SQLITE_LOCKED",
]);

/** Whether SQLite refused because another connection holds a lock (worth trying again later). */
export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown; errstr?: unknown } | null)?.code;
  if (typeof code === "string" && BUSY_CODES.has(code)) return true;
  // node:sqlite reports the code as ERR_SQLITE_ERROR with the SQLite code in errcode (5: busy, 6: locked).
  const errcode = (error as { errcode?: unknown } | null)?.errcode;
  return typeof errcode === "number" && ((errcode & 0xff) === 5 || (errcode & 0xff) === 6);
}

/** A stored BLOB as a `Buffer` (node:sqlite gives plain `Uint8Array`s). */
function asBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  const bytes = value as Uint8Array;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The operations as SQL on one table of one SQLite database, synchronously, with prepared statements. Keys
 * are BLOBs (their UTF-8 bytes: any string, NUL included, in byte order), expiry is milliseconds since the
 * epoch by this machine's clock (every process sharing the file shares the clock). The file is in WAL mode,
 * so readers never wait for the writer.
 */
export class SqliteStore implements SyncBackend<Buffer> {
  readonly capabilities = { bytesOnly: true, atomicBatches: "all" } as const;
  readonly #settings: SqliteStoreSettings;
  readonly #database: SqliteDatabase;
  readonly #statements = new Map<string, SqliteStatement>();
  readonly #table: string;
  #closed = false;

  /** @throws BackendError when the database cannot be opened or set up (the path named, the cause attached). */
  constructor(settings: SqliteStoreSettings) {
    this.#settings = settings;
    this.#table = `"${settings.table}"`;
    if (settings.path !== ":memory:") {
      try {
        mkdirSync(dirname(settings.path), { recursive: true });
      } catch (cause) {
        throw this.#failure("open", undefined, cause);
      }
    }
    try {
      this.#database = openSqlite(settings.driver, settings.path, settings.busyTimeout);
    } catch (cause) {
      if ((cause as { name?: unknown } | null)?.name === "ConfigurationError") throw cause;
      throw this.#failure("open", undefined, cause);
    }
    try {
      this.#database.exec(`PRAGMA busy_timeout = ${String(settings.busyTimeout)}`);
      if (settings.path !== ":memory:") {
        this.#database.exec("PRAGMA journal_mode = WAL");
        // In WAL mode NORMAL never corrupts the database; a power loss may lose the last commits (a cache's to lose).
        this.#database.exec("PRAGMA synchronous = NORMAL");
      }
      this.#database.exec(
        `CREATE TABLE IF NOT EXISTS ${this.#table} (key BLOB NOT NULL PRIMARY KEY, value BLOB NOT NULL, expires_at INTEGER)`,
      );
      this.#database.exec(
        `CREATE INDEX IF NOT EXISTS "${settings.table}_expiry" ON ${this.#table} (expires_at) WHERE expires_at IS NOT NULL`,
      );
    } catch (cause) {
      this.#database.close();
      throw this.#failure("open", undefined, cause);
    }
  }

  /** The prepared statement for `sql` (prepared once). */
  #statement(sql: string): SqliteStatement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#database.prepare(sql.replaceAll("$t", this.#table));
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `work` on the open database, turning SQLite's failures into `BackendError`s that name the operation. */
  #run<T>(operation: string, key: string | undefined, work: () => T): T {
    if (this.#closed)
      throw new CacheClosedError(`${operation}${describeKey(key)}: the SQLite database is closed`, { key });
    if (key !== undefined) checkKey(operation, key);
    try {
      return work();
    } catch (cause) {
      throw this.#failure(operation, key, cause);
    }
  }

  #failure(operation: string, key: string | undefined, cause: unknown): BackendError {
    const where = `SQLite at ${this.#settings.path}`;
    const message = cause instanceof Error ? cause.message : String(cause);
    const why = isBusy(cause)
      ? `the database is locked by another connection (waited ${String(this.#settings.busyTimeout)} ms)`
      : /full|SQLITE_FULL/i.test(message)
        ? `the disk is full (${message})`
        : message;
    return new BackendError(`${operation}${describeKey(key)} on ${where} failed: ${why}`, { key, cause });
  }

  /** Runs `work` in one write transaction (`BEGIN IMMEDIATE`: the write lock first, so it cannot deadlock). */
  #transaction<T>(work: () => T): T {
    this.#statement("BEGIN IMMEDIATE").run();
    try {
      const result = work();
      this.#statement("COMMIT").run();
      return result;
    } catch (error) {
      this.#statement("ROLLBACK").run();
      throw error;
    }
  }

  get(key: string): Buffer | undefined {
    return this.#run("get", key, () => {
      const row = this.#statement("SELECT value FROM $t WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)").get(
        keyBytes(key),
        Date.now(),
      );
      return row === undefined ? undefined : asBuffer(row["value"]);
    });
  }

  getMany(keys: readonly string[]): Map<string, Buffer> {
    const found = new Map<string, Buffer>();
    for (const key of keys) {
      const value = this.get(key);
      if (value !== undefined) found.set(key, value);
    }
    return found;
  }

  set(key: string, value: unknown, options: BackendSetOptions): boolean {
    const bytes = toBytes(key, value);
    return this.#run("set", key, () => this.#set(key, bytes, options));
  }

  #set(key: string, value: unknown, options: BackendSetOptions): boolean {
    const now = Date.now();
    const expiresAt = options.timeToLive === undefined ? null : now + options.timeToLive;
    const upsert =
      "INSERT INTO $t (key, value, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at";
    if (options.ifNotExists !== true) {
      this.#statement(upsert).run(keyBytes(key), value, expiresAt);
      return true;
    }
    // One statement, under SQLite's write lock: of two writers, the second sees the first's row.
    const { changes } = this.#statement(`${upsert} WHERE expires_at IS NOT NULL AND expires_at <= ?`).run(
      keyBytes(key),
      value,
      expiresAt,
      now,
    );
    return Number(changes) > 0;
  }

  /** Every entry in one transaction: atomic. */
  setMany(entries: readonly (readonly [string, unknown])[], timeToLive: number | undefined): void {
    if (entries.length === 0) return;
    const values = entries.map(([key, value]) => [key, toBytes(key, value)] as const);
    for (const [key] of values) checkKey("setMany", key);
    this.#run("setMany", undefined, () => {
      this.#transaction(() => {
        for (const [key, value] of values) this.#set(key, value, { timeToLive });
      });
    });
  }

  expireIn(key: string, timeToLive: number | undefined): boolean {
    return this.#run("expireIn", key, () => {
      const now = Date.now();
      const { changes } = this.#statement(
        "UPDATE $t SET expires_at = ? WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)",
      ).run(timeToLive === undefined ? null : now + timeToLive, keyBytes(key), now);
      return Number(changes) > 0;
    });
  }

  #delete(key: string): boolean {
    // Expired rows go too, but only a live one counts as deleted.
    const row = this.#statement("DELETE FROM $t WHERE key = ? RETURNING expires_at").get(keyBytes(key));
    if (row === undefined) return false;
    const expiresAt = row["expires_at"];
    return expiresAt === null || Number(expiresAt) > Date.now();
  }

  delete(key: string): boolean {
    return this.#run("delete", key, () => this.#delete(key));
  }

  deleteMany(keys: readonly string[]): number {
    const distinct = [...new Set(keys)];
    if (distinct.length === 0) return 0;
    for (const key of distinct) checkKey("deleteMany", key);
    return this.#run("deleteMany", undefined, () =>
      this.#transaction(() => distinct.filter((key) => this.#delete(key)).length),
    );
  }

  deleteIfUnchanged(key: string, value: unknown): boolean {
    const bytes = toBytes(key, value);
    return this.#run("delete", key, () => {
      const { changes } = this.#statement(
        "DELETE FROM $t WHERE key = ? AND value = ? AND (expires_at IS NULL OR expires_at > ?)",
      ).run(keyBytes(key), bytes, Date.now());
      return Number(changes) > 0;
    });
  }

  has(key: string): boolean {
    return this.ttl(key) !== undefined;
  }

  ttl(key: string): number | null | undefined {
    return this.#run("ttl", key, () => {
      const now = Date.now();
      const row = this.#statement(
        "SELECT expires_at FROM $t WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)",
      ).get(keyBytes(key), now);
      if (row === undefined) return undefined;
      const expiresAt = row["expires_at"];
      return expiresAt === null ? null : Math.max(1, Number(expiresAt) - now);
    });
  }

  /** One page in key order: the range of the glob's literal start, then the glob. The cursor is `k<hex>`. */
  scan(cursor: string, options: BackendScanOptions): BackendScanPage {
    return this.#run("scan", undefined, () => {
      const prefix = keyBytes(literalPrefix(options.match ?? "*"));
      let from = prefix;
      if (cursor !== "0") {
        if (!/^k(?:[0-9a-f]{2})*$/.test(cursor)) {
          throw new BackendError(`scan got the cursor ${JSON.stringify(cursor)}, which no SQLite scan gave`);
        }
        from = Buffer.from(cursor.slice(1), "hex");
      }
      const count = Math.max(1, Math.min(options.count ?? DEFAULT_SCAN_COUNT, 100_000));
      const rows = this.#statement(
        "SELECT key FROM $t WHERE key >= ? AND (? IS NULL OR key < ?) AND (expires_at IS NULL OR expires_at > ?) ORDER BY key LIMIT ?",
      ).all(from, prefixEnd(prefix), prefixEnd(prefix), Date.now(), count);
      const keys = rows.map((row) => asBuffer(row["key"]));
      const texts = keys.map((key) => key.toString("utf8"));
      const matches = options.match === undefined ? undefined : globMatcher(options.match);
      const last = keys.at(-1);
      return {
        keys: matches === undefined ? texts : texts.filter(matches),
        cursor: keys.length < count || last === undefined ? "0" : `k${last.toString("hex")}00`,
      };
    });
  }

  clear(prefix: string): void {
    while (this.clearStep(prefix)) {
      // Each step is its own short transaction.
    }
  }

  /** Deletes at most 1000 rows under `prefix` (everything for `""`); whether any may be left. */
  clearStep(prefix: string): boolean {
    return this.#run("clear", undefined, () => {
      const from = keyBytes(prefix);
      const to = prefix === "" ? null : prefixEnd(from);
      const { changes } = this.#statement(
        "DELETE FROM $t WHERE rowid IN (SELECT rowid FROM $t WHERE key >= ? AND (? IS NULL OR key < ?) LIMIT ?)",
      ).run(from, to, to, CLEAR_BATCH);
      return Number(changes) === CLEAR_BATCH;
    });
  }

  /** Deletes at most `batch` expired rows (found by the partial index on `expires_at`); how many it did. */
  sweepStep(batch: number): number {
    return this.#run("sweep", undefined, () => {
      const { changes } = this.#statement(
        "DELETE FROM $t WHERE rowid IN (SELECT rowid FROM $t WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ?)",
      ).run(Date.now(), batch);
      return Number(changes);
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#database.close();
  }
}

/** @throws BackendError for a key with no UTF-8 form (it would collide with others as U+FFFD). */
function checkKey(operation: string, key: string): void {
  const refusal = keyRefusal(operation, key);
  if (refusal !== undefined) throw refusal;
}

function toBytes(key: string, value: unknown): Buffer {
  return storedBytes("SQLite", key, value);
}
