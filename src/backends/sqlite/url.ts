import { isAbsolute } from "node:path";
import { ConfigurationError } from "../../errors.js";
import type { CacheUrl, UrlParameters } from "../../internal/cache-url.js";
import {
  checkTimingOptions,
  definedTimings,
  MAX_TIMER_MS,
  type TimingTable,
  timingsFromUrl,
} from "../../internal/timings.js";
import { defaultSqliteDriver, type SqliteDriverName } from "./driver.js";

/** The timings and bounds of a SQLite backend, in milliseconds where they are times. */
export interface SqliteTimings {
  /** How long a write waits for a lock another process holds before it fails (default 2000). */
  readonly timeout: number;
  /** Milliseconds between two sweeps of expired rows (0: never sweep). */
  readonly sweepInterval: number;
  /** Rows one sweep step deletes, at most. */
  readonly sweepBatch: number;
}

/** The defaults of {@link SqliteTimings}. */
export const DEFAULT_SQLITE_TIMINGS: SqliteTimings = { timeout: 2000, sweepInterval: 60_000, sweepBatch: 1000 };

const SQLITE_TIMING_PARAMETERS: TimingTable<SqliteTimings> = {
  timeout: { parameter: "timeout", min: 1, max: MAX_TIMER_MS },
  sweepInterval: { parameter: "sweep-interval", min: 0, max: MAX_TIMER_MS },
  sweepBatch: { parameter: "sweep-batch", min: 1, max: 100_000 },
};

/** The names of {@link SqliteTimings}, as constructor options. */
export const SQLITE_TIMING_NAMES = Object.keys(SQLITE_TIMING_PARAMETERS) as readonly (keyof SqliteTimings)[];

/** Everything a SQLite URL configures. */
export interface SqliteSettings {
  /** An absolute path, or `:memory:`. */
  readonly path: string;
  readonly table: string;
  readonly driver: SqliteDriverName;
  readonly timings: SqliteTimings;
}

/**
 * The table's name checked (letters, digits and `_`), so that it can be written into statements.
 *
 * @throws ConfigurationError naming the rule.
 */
export function checkSqliteTable(table: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(table)) {
    throw new ConfigurationError(
      `the SQLite table must be a name of letters, digits and _ (at most 63, not starting with a digit), got ${JSON.stringify(table)}`,
    );
  }
  return table;
}

/** @throws ConfigurationError unless `driver` names a SQLite driver. */
export function checkSqliteDriver(driver: string): SqliteDriverName {
  if (driver !== "node:sqlite" && driver !== "better-sqlite3") {
    throw new ConfigurationError(
      `the SQLite driver is "node:sqlite" or "better-sqlite3", got ${JSON.stringify(driver)}`,
    );
  }
  return driver;
}

/** Checks constructor options that are counts or milliseconds. */
export function checkSqliteTimings(options: Readonly<Record<string, number | undefined>>): void {
  checkTimingOptions("SqliteBackend", options, SQLITE_TIMING_PARAMETERS);
}

/** The timings among `options` that are set. */
export function definedSqliteTimings(options: Partial<SqliteTimings>): Partial<SqliteTimings> {
  return definedTimings(options, SQLITE_TIMING_PARAMETERS);
}

/**
 * Parses `sqlite:///absolute/path.db?table=…&timeout=2000` and `sqlite://:memory:`.
 *
 * @throws ConfigurationError naming the bad part.
 */
export function sqliteSettingsFromUrl(url: CacheUrl, parameters: UrlParameters): SqliteSettings {
  let path: string;
  try {
    // A SQLite URL has no credentials: an `@` belongs to the path.
    path = decodeURIComponent(url.location);
  } catch {
    throw new ConfigurationError(
      `the path of ${JSON.stringify(url.redacted)} has a malformed %-escape; write % as %25`,
    );
  }
  if (path !== ":memory:" && !isAbsolute(path)) {
    throw new ConfigurationError(
      `sqlite:// takes an absolute path, as in "sqlite:///var/cache/app/cache.db", or ":memory:" ("sqlite://:memory:"); got ${JSON.stringify(url.redacted)}`,
    );
  }
  const driver = parameters.text("driver");
  return {
    path,
    table: checkSqliteTable(parameters.text("table") ?? "cachetory_cache"),
    driver: driver === undefined ? defaultSqliteDriver() : checkSqliteDriver(driver),
    timings: timingsFromUrl(parameters, SQLITE_TIMING_PARAMETERS, DEFAULT_SQLITE_TIMINGS),
  };
}
