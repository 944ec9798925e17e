import { CacheUrl } from "../../internal/cache-url.js";
import { checkConfiguration } from "../../internal/options.js";
import { requireInstalled } from "../../internal/load-optional.js";
import { ConfigurationError } from "../../errors.js";
import { WorkerThreadBackend } from "../worker/thread-backend.js";
import {
  checkPostgresTimings,
  checkTableName,
  POSTGRES_TIMING_NAMES,
  postgresSettingsFromUrl,
  type PostgresTimings,
} from "./url.js";

/** Options of the synchronous {@link PostgresBackend}; every time is in milliseconds. */
export interface SyncPostgresBackendOptions extends Partial<PostgresTimings> {
  /** As for the async backend: `postgres://user:password@host:5432/database?table=…`. */
  readonly url: string;
  /** As for the async backend. */
  readonly table?: string;
  /** As for the async backend. */
  readonly unlogged?: boolean;
  /** As for the async backend. */
  readonly createTable?: boolean;
  /** How long the first call may wait for the worker thread to start (default 10 000). */
  readonly workerStartTimeout?: number;
  /** How long `clear()` may block, over all its round trips (default 30 000). */
  readonly clearTimeout?: number;
}

/**
 * The PostgreSQL backend for `SyncCache` (`postgres://`, `postgresql://`): a worker thread runs the async
 * `PostgresBackend` and each call **blocks the calling thread** until it answers, at most `timeout`
 * (default 500 ms) plus a few milliseconds. Meant for scripts and CLIs; servers should use the async
 * `Cache`. A pool cannot be passed: pools do not cross threads.
 *
 * @example
 * ```ts
 * const cache = new SyncCache<number>({ backend: "postgres://app@127.0.0.1:5432/app", serializer: "json://" });
 * cache.set("answer", 42);
 * ```
 */
export class PostgresBackend extends WorkerThreadBackend {
  /** @throws ConfigurationError for a bad URL or option (never quoting a password), or when `pg` is missing. */
  constructor(options: SyncPostgresBackendOptions) {
    checkConfiguration(options, {
      what: "the synchronous PostgresBackend",
      known: [
        "url",
        "table",
        "unlogged",
        "createTable",
        "workerStartTimeout",
        "clearTimeout",
        ...POSTGRES_TIMING_NAMES,
      ],
      example: '{ url: "postgres://app@127.0.0.1:5432/app", timeout: 500 }',
    });
    if ((options as { pool?: unknown }).pool !== undefined) {
      throw new ConfigurationError(
        "the synchronous PostgresBackend cannot use an existing pool (pools do not cross threads): give it a url",
      );
    }
    // Parse now, so that a bad URL fails here rather than in the worker.
    const url = new CacheUrl(options.url);
    const settings = postgresSettingsFromUrl(url, url.parametersFor(url.scheme));
    url.rejectUnreadParameters();
    if (options.table !== undefined) checkTableName(options.table);
    requireInstalled("pg", `${url.scheme}://`);
    const { workerStartTimeout = 10_000, clearTimeout = 30_000, ...backendOptions } = options;
    const timeout = options.timeout ?? settings.timings.timeout;
    const numbers: Record<string, number | undefined> = { workerStartTimeout, clearTimeout };
    for (const name of POSTGRES_TIMING_NAMES) numbers[name] = options[name];
    checkPostgresTimings(numbers);
    super({
      kind: "postgres",
      options: backendOptions,
      target: "PostgreSQL",
      timeout,
      workerStartTimeout,
      clearTimeout,
      capabilities: { bytesOnly: true, atomicBatches: "all" },
    });
  }
}
