import { ConfigurationError } from "../../errors.js";
import { CacheUrl } from "../../internal/cache-url.js";
import { checkConfiguration } from "../../internal/options.js";
import type { SqliteDriverName } from "./driver.js";
import {
  checkSqliteDriver,
  checkSqliteTable,
  checkSqliteTimings,
  DEFAULT_SQLITE_TIMINGS,
  definedSqliteTimings,
  SQLITE_TIMING_NAMES,
  type SqliteSettings,
  sqliteSettingsFromUrl,
  type SqliteTimings,
} from "./url.js";
import { defaultSqliteDriver } from "./driver.js";

/** Options of {@link SqliteBackend} (sync and async); every time is in milliseconds. */
export interface SqliteBackendOptions extends Partial<SqliteTimings> {
  /**
   * `sqlite:///absolute/path.db` or `sqlite://:memory:`; its query may set `table`, `driver`, `timeout`,
   * `sweep-interval` and `sweep-batch`; options given here win. Give a `url` or a `path`.
   */
  readonly url?: string;
  /** The database file (absolute; its directory is created when absent), or `":memory:"`. */
  readonly path?: string;
  /** The table (default `cachetory_cache`), created when absent. */
  readonly table?: string;
  /** Which library opens the file; default `node:sqlite` where Node has it, else `better-sqlite3`. */
  readonly driver?: SqliteDriverName;
}

/**
 * What `options` configure, checked.
 *
 * @throws ConfigurationError naming the bad option or URL part.
 */
export function sqliteSettings(options: SqliteBackendOptions, what: string): SqliteSettings {
  checkConfiguration(options, {
    what,
    known: ["url", "path", "table", "driver", ...SQLITE_TIMING_NAMES],
    example: '{ path: "/var/cache/app/cache.db" }',
  });
  if ((options.url === undefined) === (options.path === undefined)) {
    throw new ConfigurationError(
      `${what} takes a url or a path (one of them), as in { path: "/var/cache/app/cache.db" }`,
    );
  }
  let settings: SqliteSettings;
  if (options.url === undefined) {
    const url = new CacheUrl(`sqlite://${options.path === ":memory:" ? ":memory:" : encodeURI(options.path ?? "")}`);
    settings = { ...sqliteSettingsFromUrl(url, url.parametersFor("sqlite")), driver: defaultSqliteDriver() };
  } else {
    const url = new CacheUrl(options.url);
    if (url.scheme !== "sqlite") throw new ConfigurationError(`${url.scheme}:// is not a SQLite URL`);
    settings = sqliteSettingsFromUrl(url, url.parametersFor("sqlite"));
    url.rejectUnreadParameters();
  }
  const timings: SqliteTimings = { ...DEFAULT_SQLITE_TIMINGS, ...settings.timings, ...definedSqliteTimings(options) };
  checkSqliteTimings({ ...timings });
  return {
    ...settings,
    timings,
    ...(options.table === undefined ? {} : { table: checkSqliteTable(options.table) }),
    ...(options.driver === undefined ? {} : { driver: checkSqliteDriver(options.driver) }),
  };
}
