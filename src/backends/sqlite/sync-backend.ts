import type { BackendScanOptions, BackendScanPage, BackendSetOptions, SyncBackend } from "../contract.js";
import { type SqliteBackendOptions, sqliteSettings } from "./options.js";
import { SqliteStore } from "./store.js";
import { SqliteSweeper } from "./sweeper.js";

/**
 * The SQLite backend for `SyncCache` (`sqlite:///absolute/path.db`, `sqlite://:memory:`): a cache on local
 * disk with no server, answered synchronously on the calling thread (no worker). One table of BLOB keys and
 * values with an expiry column, in WAL mode (readers never wait for a writer), prepared statements. A write
 * waits at most `timeout` (default 2000 ms) for a lock another process holds, then fails with a
 * `BackendError`. Expired rows are never read, and are swept in bounded steps every `sweepInterval`.
 *
 * Opens `node:sqlite` where Node has it, else `better-sqlite3` (an optional peer: `npm install better-sqlite3@12`).
 *
 * @example
 * ```ts
 * const cache = new SyncCache<Page>({ backend: "sqlite:///var/cache/app/pages.db", serializer: "json://" });
 * cache.set("home", page, { timeToLive: "1h" });
 * ```
 */
export class SqliteBackend implements SyncBackend<Buffer> {
  /** Bytes only; `setMany` atomic (one transaction). */
  readonly capabilities: { readonly bytesOnly: true; readonly atomicBatches: "all" };
  readonly #store: SqliteStore;
  readonly #sweeper: SqliteSweeper;

  /** @throws ConfigurationError for a bad URL or option; BackendError when the database cannot be opened. */
  constructor(options: SqliteBackendOptions) {
    const settings = sqliteSettings(options, "the synchronous SqliteBackend");
    this.#store = new SqliteStore({ ...settings, busyTimeout: settings.timings.timeout });
    this.capabilities = this.#store.capabilities;
    this.#sweeper = new SqliteSweeper(this.#store, settings.timings.sweepBatch);
    if (settings.timings.sweepInterval > 0) this.#sweeper.start(settings.timings.sweepInterval);
  }

  get(key: string): Buffer | undefined {
    return this.#store.get(key);
  }

  getMany(keys: readonly string[]): Map<string, Buffer> {
    return this.#store.getMany(keys);
  }

  set(key: string, value: unknown, options: BackendSetOptions): boolean {
    return this.#store.set(key, value, options);
  }

  setMany(entries: readonly (readonly [string, unknown])[], timeToLive: number | undefined): void {
    this.#store.setMany(entries, timeToLive);
  }

  expireIn(key: string, timeToLive: number | undefined): boolean {
    return this.#store.expireIn(key, timeToLive);
  }

  delete(key: string): boolean {
    return this.#store.delete(key);
  }

  deleteMany(keys: readonly string[]): number {
    return this.#store.deleteMany(keys);
  }

  deleteIfUnchanged(key: string, value: unknown): boolean {
    return this.#store.deleteIfUnchanged(key, value);
  }

  has(key: string): boolean {
    return this.#store.has(key);
  }

  ttl(key: string): number | null | undefined {
    return this.#store.ttl(key);
  }

  scan(cursor: string, options: BackendScanOptions): BackendScanPage {
    return this.#store.scan(cursor, options);
  }

  /** Deletes the prefix's rows in steps of 1000, each its own short transaction. */
  clear(prefix: string): void {
    this.#store.clear(prefix);
  }

  /**
   * Deletes expired rows now, in bounded steps (also done every `sweepInterval`); how many it deleted.
   *
   * @example
   * ```ts
   * const removed = await backend.sweep();
   * ```
   */
  sweep(): Promise<number> {
    return this.#sweeper.sweep();
  }

  close(): void {
    void this.#sweeper.stop();
    this.#store.close();
  }
}
