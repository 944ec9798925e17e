import { setTimeout as sleep } from "node:timers/promises";
import { BackendError } from "../../errors.js";
import { asError } from "../../internal/error-kinds.js";
import { describeKey } from "../../internal/quote-key.js";
import type { AsyncBackend, BackendScanOptions, BackendScanPage, BackendSetOptions } from "../contract.js";
import { type SqliteBackendOptions, sqliteSettings } from "./options.js";
import { isBusy, SqliteStore } from "./store.js";
import { SqliteSweeper } from "./sweeper.js";

export type { SqliteBackendOptions } from "./options.js";
export type { SqliteDriverName } from "./driver.js";

/** The longest pause between two tries of a write that found the database locked. */
const MAX_RETRY_PAUSE_MS = 25;

/**
 * The SQLite backend for the async `Cache` (`sqlite:///absolute/path.db`, `sqlite://:memory:`): the same
 * table and statements as the synchronous one, on the event loop's thread, which they never block waiting:
 * SQLite's own wait for a lock held by another process (`busy_timeout`) would stop the whole event loop,
 * so here it is 0, and a statement that finds the database locked is tried again after a pause (1 ms,
 * doubling to 25 ms) until `timeout` (default 2000 ms) has passed, then fails with a `BackendError`.
 * Prefix `clear`s and sweeps go in steps of at most 1000 rows with the event loop served between them.
 *
 * @example
 * ```ts
 * const cache = new Cache<Page>({ backend: "sqlite:///var/cache/app/pages.db", serializer: "json://" });
 * ```
 */
export class SqliteBackend implements AsyncBackend<Buffer> {
  /** Bytes only; `setMany` atomic (one transaction). */
  readonly capabilities: { readonly bytesOnly: true; readonly atomicBatches: "all" };
  readonly #store: SqliteStore;
  readonly #sweeper: SqliteSweeper;
  readonly #timeout: number;

  /** @throws ConfigurationError for a bad URL or option; BackendError when the database cannot be opened. */
  constructor(options: SqliteBackendOptions) {
    const settings = sqliteSettings(options, "SqliteBackend");
    this.#store = new SqliteStore({ ...settings, busyTimeout: 0 });
    this.#timeout = settings.timings.timeout;
    this.capabilities = this.#store.capabilities;
    this.#sweeper = new SqliteSweeper(this.#store, settings.timings.sweepBatch);
    if (settings.timings.sweepInterval > 0) this.#sweeper.start(settings.timings.sweepInterval);
  }

  /**
   * `work` now, and again after a pause while the database is locked by another connection, until the
   * timeout: the event loop runs meanwhile.
   */
  #attempt<T>(operation: string, key: string | undefined, work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (error) {
      if (!isBusy((error as { cause?: unknown }).cause)) return Promise.reject(asError(error));
      return this.#retry(operation, key, work, performance.now() + this.#timeout);
    }
  }

  async #retry<T>(operation: string, key: string | undefined, work: () => T, giveUpAt: number): Promise<T> {
    for (let pause = 1; ; pause = Math.min(pause * 2, MAX_RETRY_PAUSE_MS)) {
      const left = giveUpAt - performance.now();
      if (left <= 0) break;
      await sleep(Math.min(pause, left));
      try {
        return work();
      } catch (error) {
        if (!isBusy((error as { cause?: unknown }).cause)) throw error;
      }
    }
    throw new BackendError(
      `${operation}${describeKey(key)} on SQLite failed: the database was locked by another connection for the whole timeout (${String(this.#timeout)} ms)`,
      { key },
    );
  }

  get(key: string): Promise<Buffer | undefined> {
    return this.#attempt("get", key, () => this.#store.get(key));
  }

  getMany(keys: readonly string[]): Promise<Map<string, Buffer>> {
    return this.#attempt("getMany", undefined, () => this.#store.getMany(keys));
  }

  set(key: string, value: unknown, options: BackendSetOptions): Promise<boolean> {
    return this.#attempt("set", key, () => this.#store.set(key, value, options));
  }

  setMany(entries: readonly (readonly [string, unknown])[], timeToLive: number | undefined): Promise<void> {
    return this.#attempt("setMany", undefined, () => {
      this.#store.setMany(entries, timeToLive);
    });
  }

  expireIn(key: string, timeToLive: number | undefined): Promise<boolean> {
    return this.#attempt("expireIn", key, () => this.#store.expireIn(key, timeToLive));
  }

  delete(key: string): Promise<boolean> {
    return this.#attempt("delete", key, () => this.#store.delete(key));
  }

  deleteMany(keys: readonly string[]): Promise<number> {
    return this.#attempt("deleteMany", undefined, () => this.#store.deleteMany(keys));
  }

  deleteIfUnchanged(key: string, value: unknown): Promise<boolean> {
    return this.#attempt("delete", key, () => this.#store.deleteIfUnchanged(key, value));
  }

  has(key: string): Promise<boolean> {
    return this.#attempt("has", key, () => this.#store.has(key));
  }

  ttl(key: string): Promise<number | null | undefined> {
    return this.#attempt("ttl", key, () => this.#store.ttl(key));
  }

  scan(cursor: string, options: BackendScanOptions): Promise<BackendScanPage> {
    return this.#attempt("scan", undefined, () => this.#store.scan(cursor, options));
  }

  /** Deletes the prefix's rows in steps of 1000 (each with the timeout), the event loop served between steps. */
  async clear(prefix: string): Promise<void> {
    while (await this.#attempt("clear", undefined, () => this.#store.clearStep(prefix))) {
      await sleep(0);
    }
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

  async close(): Promise<void> {
    await this.#sweeper.stop();
    this.#store.close();
  }
}
