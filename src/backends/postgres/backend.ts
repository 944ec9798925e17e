import { BackendError, ConfigurationError } from "../../errors.js";
import { CacheUrl } from "../../internal/cache-url.js";
import { asError } from "../../internal/error-kinds.js";
import { refuseKey, refuseKeys } from "../../internal/key-refusal.js";
import { loadOptional } from "../../internal/load-optional.js";
import { checkConfiguration } from "../../internal/options.js";
import { storedBytes } from "../../internal/stored-bytes.js";
import type { CircuitState } from "../../layers/circuit-breaker.js";
import { CoalescedBackend } from "../../layers/coalesced.js";
import { DeadlineGuard, type GuardedConnection } from "../../layers/deadline-guard.js";
import { GuardedBackend } from "../../layers/guarded.js";
import type {
  AsyncBackend,
  BackendCapabilities,
  BackendScanOptions,
  BackendScanPage,
  BackendSetOptions,
} from "../contract.js";
import { postgresStatements } from "./statements.js";
import { type PgPoolLike, PostgresStore } from "./store.js";
import { PostgresSweeper, type SweepReport } from "./sweeper.js";
import {
  checkPostgresTimings,
  checkTableName,
  DEFAULT_POSTGRES_TABLE,
  DEFAULT_POSTGRES_TIMINGS,
  definedPostgresTimings,
  POSTGRES_TIMING_NAMES,
  type PostgresEndpoint,
  postgresSettingsFromUrl,
  type PostgresTimings,
} from "./url.js";

export type { PgPoolClientLike, PgPoolLike, PgQuery, PgResult } from "./store.js";
export type { SweepReport } from "./sweeper.js";

/** Options of {@link PostgresBackend}; every time is in milliseconds. */
export interface PostgresBackendOptions extends Partial<PostgresTimings> {
  /**
   * Where PostgreSQL is: `postgres://[user[:password]@]host[:port]/database` (or `postgresql://`). Its query
   * may set `table`, `unlogged`, `ssl`, `timeout`, `connect-timeout`, `max-in-flight`, `pool-size`,
   * `sweep-interval`, `sweep-batch`, `breaker-threshold` and `breaker-duration`; options given here win.
   */
  readonly url?: string;
  /** A `pg.Pool` you already have, used instead of creating one from `url`; it is never ended by us. */
  readonly pool?: PgPoolLike;
  /** The table (optionally `schema.table`); default `cachetory_cache`. */
  readonly table?: string;
  /**
   * Create the table as `UNLOGGED` when it is absent: writes skip the write-ahead log (faster), but the
   * table is emptied after a crash and is not copied to replicas. Default `false`.
   */
  readonly unlogged?: boolean;
  /** Whether to create the table when it is absent (default `true`). */
  readonly createTable?: boolean;
}

/** The most one value may hold: PostgreSQL takes at most 1 GB in one field, or one message. */
const MAX_VALUE_BYTES = 1024 * 1024 * 1024 - 1024 * 1024;

/** The part of the `pg` module the backend loads. */
interface PgModule {
  readonly Pool: new (config: Record<string, unknown>) => PgPoolLike & PgPoolEvents & { end(): Promise<void> };
}

/** A pool's `error` events: an idle connection that dies emits one, and an unheard one ends the process. */
interface PgPoolEvents {
  on(event: "error", listener: (error: Error) => void): unknown;
  off?(event: "error", listener: (error: Error) => void): unknown;
  listenerCount?(event: "error"): number;
}

function hasPoolEvents(pool: object): pool is PgPoolEvents {
  return typeof (pool as { on?: unknown }).on === "function";
}

/**
 * The PostgreSQL backend (`postgres://`, `postgresql://`), on `pg` (an optional peer: `npm install pg`):
 * one table of `bytea` keys and values and an expiry column, created when absent. Every operation is one
 * statement, settles within `timeout` (default 500 ms; the server cancels a statement that runs longer,
 * on a pool we create) and goes through the same circuit breaker and bounded admission as Redis's.
 * `setMany`, `getMany` and `deleteMany` are one statement each over arrays, so `setMany` is atomic; `set`
 * with `ifNotExists` is one `INSERT … ON CONFLICT`, true to its word under concurrency. Expired rows are
 * never read, and are swept in bounded steps by one instance at a time.
 *
 * @example
 * ```ts
 * const cache = new Cache<User>({ backend: "postgres://app@127.0.0.1:5432/app?table=cache", serializer: "msgpack://" });
 * // or with a pool you already have (it stays open when the cache closes):
 * const shared = new Cache<User>({ backend: new PostgresBackend({ pool }), serializer: "json://" });
 * ```
 */
export class PostgresBackend implements AsyncBackend<Buffer> {
  /** Bytes only; `setMany` atomic as a whole. */
  readonly capabilities: BackendCapabilities<Buffer> = { bytesOnly: true, atomicBatches: "all" };
  readonly #store: PostgresStore;
  readonly #guard: DeadlineGuard;
  readonly #layers: AsyncBackend<Buffer>;
  readonly #sweeper: PostgresSweeper;
  readonly #connection: PoolHealth;

  /** @throws ConfigurationError for a bad URL or option (never quoting a password), or when `pg` is missing. */
  constructor(options: PostgresBackendOptions = {}) {
    checkConfiguration(options, {
      what: "PostgresBackend",
      known: ["url", "pool", "table", "unlogged", "createTable", ...POSTGRES_TIMING_NAMES],
      example: '{ url: "postgres://app@127.0.0.1:5432/app", timeout: 500 }',
    });
    let timings: PostgresTimings = DEFAULT_POSTGRES_TIMINGS;
    let table = options.table === undefined ? DEFAULT_POSTGRES_TABLE : checkTableName(options.table);
    let unlogged = options.unlogged ?? false;
    let pool: PgPoolLike;
    let endPool: () => Promise<void> = () => Promise.resolve();
    let target: string;
    if (options.pool === undefined) {
      const url = new CacheUrl(options.url ?? "postgres://127.0.0.1:5432/postgres");
      const settings = postgresSettingsFromUrl(url, url.parametersFor(url.scheme));
      url.rejectUnreadParameters();
      timings = { ...settings.timings, ...definedPostgresTimings(options) };
      checkPostgresTimings({ ...timings });
      if (options.table === undefined) table = settings.table;
      unlogged = options.unlogged ?? settings.unlogged;
      const { Pool } = loadOptional("pg", `${url.scheme}://`) as PgModule;
      const created = new Pool(poolConfig(settings.endpoint, timings));
      pool = created;
      endPool = () => created.end();
      target = `PostgreSQL at ${settings.endpoint.redacted}`;
    } else {
      if (options.url !== undefined) throw new ConfigurationError("give PostgresBackend a url or a pool, not both");
      timings = { ...timings, ...definedPostgresTimings(options) };
      checkPostgresTimings({ ...timings });
      pool = options.pool;
      target = "PostgreSQL";
    }
    this.#connection = new PoolHealth(pool);
    let closing: Promise<void> | undefined;
    const store = new PostgresStore({
      pool,
      statements: postgresStatements(table, unlogged),
      table,
      deadline: timings.timeout,
      createTable: options.createTable ?? true,
      onClose: () =>
        (closing ??= (async () => {
          await this.#sweeper.stop();
          this.#connection.detach();
          await endPool();
        })()),
    });
    this.#store = store;
    this.#guard = new DeadlineGuard(this.#connection, {
      timeout: timings.timeout,
      maxInFlight: timings.maxInFlight,
      target,
      breaker: { threshold: timings.breakerThreshold, duration: timings.breakerDuration },
    });
    this.#layers = new GuardedBackend(new CoalescedBackend(store), this.#guard, { clearGuardsItsSteps: true });
    this.#sweeper = new PostgresSweeper({ pool, store, table, batch: timings.sweepBatch });
    if (timings.sweepInterval > 0) this.#sweeper.start(timings.sweepInterval);
  }

  /** Operations sent and not yet answered, for monitoring. */
  get inFlight(): number {
    return this.#guard.inFlight;
  }

  /** Where the circuit breaker stands (see `RedisBackend.circuit`). */
  get circuit(): CircuitState {
    return this.#guard.circuit;
  }

  get(key: string): Promise<Buffer | undefined> {
    return refuseKey("get", key) ?? this.#layers.get(key);
  }

  getMany(keys: readonly string[]): Promise<Map<string, Buffer>> {
    if (keys.length === 0) return Promise.resolve(new Map<string, Buffer>());
    return refuseKeys("getMany", keys) ?? this.#layers.getMany(keys);
  }

  set(key: string, value: unknown, options: BackendSetOptions): Promise<boolean> {
    const refusal = refuseKey("set", key);
    if (refusal !== undefined) return refusal;
    try {
      return this.#layers.set(key, toBytes(key, value), options);
    } catch (error) {
      return Promise.reject(asError(error));
    }
  }

  /** One statement over arrays: atomic. */
  setMany(entries: readonly (readonly [string, unknown])[], timeToLive: number | undefined): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    let values: [string, Buffer][];
    try {
      values = entries.map(([key, value]) => [key, toBytes(key, value)]);
    } catch (error) {
      return Promise.reject(asError(error));
    }
    return (
      refuseKeys(
        "setMany",
        values.map(([key]) => key),
      ) ?? this.#layers.setMany(values, timeToLive)
    );
  }

  expireIn(key: string, timeToLive: number | undefined): Promise<boolean> {
    return refuseKey("expireIn", key) ?? this.#layers.expireIn(key, timeToLive);
  }

  delete(key: string): Promise<boolean> {
    return refuseKey("delete", key) ?? this.#layers.delete(key);
  }

  deleteMany(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return Promise.resolve(0);
    return refuseKeys("deleteMany", keys) ?? this.#layers.deleteMany(keys);
  }

  has(key: string): Promise<boolean> {
    return refuseKey("has", key) ?? this.#layers.has(key);
  }

  ttl(key: string): Promise<number | null | undefined> {
    return refuseKey("ttl", key) ?? this.#layers.ttl(key);
  }

  /** One page of keys in key order over the primary key (`count` rows looked at, default 1000). */
  scan(cursor: string, options: BackendScanOptions): Promise<BackendScanPage> {
    if (typeof cursor !== "string" || (options.match !== undefined && typeof options.match !== "string")) {
      return Promise.reject(new BackendError("scan takes a cursor and an optional match pattern, as strings"));
    }
    return this.#layers.scan(cursor, options);
  }

  /** Removes `key` only while it holds `value` (compared by the server). */
  deleteIfUnchanged(key: string, value: unknown): Promise<boolean> {
    const refusal = refuseKey("delete", key);
    if (refusal !== undefined) return refusal;
    try {
      return this.#layers.deleteIfUnchanged?.(key, toBytes(key, value)) ?? Promise.resolve(false);
    } catch (error) {
      return Promise.reject(asError(error));
    }
  }

  /**
   * Without a prefix, `TRUNCATE`. With one, deletes of at most 10 000 rows of the prefix's key range each,
   * each within the deadline, until none is left.
   */
  clear(prefix: string): Promise<void> {
    return this.#store.clear(prefix, (send) => this.#guard.run("clear", undefined, send));
  }

  /**
   * Deletes expired rows now, in bounded steps, unless another instance is sweeping the table. The backend
   * does it on its own every `sweepInterval`; this is for a scheduled job when the interval is 0.
   *
   * @example
   * ```ts
   * const report = await backend.sweep(); // { swept: true, examined: 1000, removed: 12, statements: 1, complete: true }
   * ```
   */
  sweep(): Promise<SweepReport> {
    return this.#sweeper.sweep();
  }

  /**
   * Stops sweeping, rejects what was not sent, waits for the writes already sent (each within its
   * deadline), then ends the pool we created (an injected pool stays open).
   */
  close(): Promise<void> {
    return this.#layers.close();
  }
}

/**
 * What the deadline guard knows of a pool: it opens connections as it needs them, so it is always "ready";
 * the last error of an idle connection is kept for messages. Listening for those errors also keeps a
 * dying idle connection from ending the process (a pool without an `error` listener throws).
 */
class PoolHealth implements GuardedConnection {
  readonly ready = true;
  readonly refusal: string | undefined = undefined;
  lastErrorMessage: string | undefined;
  readonly #pool: PgPoolLike;
  readonly #listener = (error: Error): void => {
    this.lastErrorMessage = error.message;
  };

  constructor(pool: PgPoolLike) {
    this.#pool = pool;
    if (hasPoolEvents(pool)) pool.on("error", this.#listener);
  }

  whenReady(): Promise<void> {
    return Promise.resolve();
  }

  detach(): void {
    if (hasPoolEvents(this.#pool)) this.#pool.off?.("error", this.#listener);
  }
}

function poolConfig(endpoint: PostgresEndpoint, timings: PostgresTimings): Record<string, unknown> {
  return {
    host: endpoint.host,
    port: endpoint.port,
    ...(endpoint.database === undefined ? {} : { database: endpoint.database }),
    ...(endpoint.user === undefined ? {} : { user: endpoint.user }),
    ...(endpoint.password === undefined ? {} : { password: endpoint.password }),
    ...(endpoint.ssl ? { ssl: true } : {}),
    max: timings.poolSize,
    connectionTimeoutMillis: timings.connectTimeout,
    // The server cancels what runs past the deadline, lock waits included, so that no connection of the
    // pool stays busy with an answer nobody waits for.
    statement_timeout: timings.timeout,
    lock_timeout: timings.timeout,
    idle_in_transaction_session_timeout: timings.timeout * 4,
    application_name: "cachetory",
    idleTimeoutMillis: 30_000,
    allowExitOnIdle: true,
  };
}

/** A value as `bytea`: bytes as they are (no copy), strings as UTF-8. */
function toBytes(key: string, value: unknown): Buffer {
  return storedBytes("the PostgreSQL backend", key, value, MAX_VALUE_BYTES);
}
