import { ConfigurationError } from "../../errors.js";
import type { CacheUrl, UrlParameters } from "../../internal/cache-url.js";
import {
  checkTimingOptions,
  definedTimings,
  MAX_TIMER_MS,
  REMOTE_TIMING_PARAMETERS,
  type TimingTable,
  timingsFromUrl,
} from "../../internal/timings.js";

/** Where PostgreSQL is, as `pg` takes it: what a URL says, with its password kept out of every message. */
export interface PostgresEndpoint {
  /** A host name, an address, or the directory of a Unix socket (`/var/run/postgresql`). */
  readonly host: string;
  readonly port: number;
  readonly database: string | undefined;
  readonly user: string | undefined;
  readonly password: string | undefined;
  /** Whether to speak TLS (`?ssl=true`), verifying the server's certificate. */
  readonly ssl: boolean;
  /** The URL with its password hidden, for messages. */
  readonly redacted: string;
}

/** The timings and bounds of a {@link PostgresBackend}, in milliseconds where they are times. */
export interface PostgresTimings {
  /** Every operation settles within this many milliseconds; the server cancels a statement that runs longer. */
  readonly timeout: number;
  /** How long opening one connection may take. */
  readonly connectTimeout: number;
  /** Operations waiting for an answer, at most; beyond it calls fail at once. */
  readonly maxInFlight: number;
  /** Timeouts in a row that open the circuit breaker (0: no breaker). */
  readonly breakerThreshold: number;
  /** How long an open circuit refuses calls before one probe goes through. */
  readonly breakerDuration: number;
  /** Connections the pool we create may open. */
  readonly poolSize: number;
  /** Milliseconds between two sweeps of expired rows (0: never sweep). */
  readonly sweepInterval: number;
  /** Rows one sweep statement looks at, at most. */
  readonly sweepBatch: number;
}

/** The defaults of {@link PostgresTimings}. */
export const DEFAULT_POSTGRES_TIMINGS: PostgresTimings = {
  timeout: 500,
  connectTimeout: 2000,
  maxInFlight: 10_000,
  breakerThreshold: 5,
  breakerDuration: 500,
  poolSize: 10,
  sweepInterval: 60_000,
  sweepBatch: 1000,
};

const POSTGRES_TIMING_PARAMETERS: TimingTable<PostgresTimings> = {
  ...REMOTE_TIMING_PARAMETERS,
  poolSize: { parameter: "pool-size", min: 1, max: 1000 },
  sweepInterval: { parameter: "sweep-interval", min: 0, max: MAX_TIMER_MS },
  sweepBatch: { parameter: "sweep-batch", min: 1, max: 100_000 },
};

/** The names of {@link PostgresTimings}, as constructor options. */
export const POSTGRES_TIMING_NAMES = Object.keys(POSTGRES_TIMING_PARAMETERS) as readonly (keyof PostgresTimings)[];

/** The table when the URL names none. */
export const DEFAULT_POSTGRES_TABLE = "cachetory_cache";

/** A table name, optionally schema-qualified, that needs no quoting rules beyond double quotes. */
const TABLE_NAME = /^(?:[A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Everything a PostgreSQL URL configures. */
export interface PostgresSettings {
  readonly endpoint: PostgresEndpoint;
  readonly timings: PostgresTimings;
  readonly table: string;
  readonly unlogged: boolean;
}

/**
 * The table's name checked (letters, digits and `_`, optionally `schema.table`), so that it can be written
 * into statements.
 *
 * @throws ConfigurationError naming the rule.
 */
export function checkTableName(table: string): string {
  if (!TABLE_NAME.test(table)) {
    throw new ConfigurationError(
      `the PostgreSQL table must be a name of letters, digits and _ (at most 63, not starting with a digit), optionally schema-qualified, as in "cachetory_cache" or "cache.entries"; got ${JSON.stringify(table)}`,
    );
  }
  return table;
}

/**
 * Checks constructor options that are counts or milliseconds against the ranges of their URL parameters.
 *
 * @throws ConfigurationError naming the first bad option and the range.
 */
export function checkPostgresTimings(options: Readonly<Record<string, number | undefined>>): void {
  checkTimingOptions("PostgresBackend", options, POSTGRES_TIMING_PARAMETERS);
}

/** The timings among `options` that are set. */
export function definedPostgresTimings(options: Partial<PostgresTimings>): Partial<PostgresTimings> {
  return definedTimings(options, POSTGRES_TIMING_PARAMETERS);
}

function decoded(text: string, url: CacheUrl, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new ConfigurationError(
      `the ${what} in ${JSON.stringify(url.redacted)} has a malformed %-escape; write % as %25`,
    );
  }
}

/**
 * Parses `postgres://[user[:password]@]host[:port]/database?table=…&unlogged=true&ssl=true`. A host that
 * starts with `%2F` (a `/`) is the directory of a Unix socket.
 *
 * @throws ConfigurationError naming the bad part (never quoting the password).
 */
export function postgresSettingsFromUrl(url: CacheUrl, parameters: UrlParameters): PostgresSettings {
  if (url.scheme !== "postgres" && url.scheme !== "postgresql") {
    throw new ConfigurationError(`${url.scheme}:// is not a PostgreSQL URL`);
  }
  const slash = url.address.indexOf("/");
  const authority = slash === -1 ? url.address : url.address.slice(0, slash);
  const path = slash === -1 ? "" : url.address.slice(slash + 1);
  const match = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]*)(?::(\d{1,5}))?$/.exec(authority);
  const port = match?.[2] === undefined ? 5432 : Number(match[2]);
  if (match === null || port < 1 || port > 65535) {
    throw new ConfigurationError(
      `invalid host or port in ${JSON.stringify(url.redacted)}: expected "postgres://user:password@host:5432/database"`,
    );
  }
  const host = decoded(match[1] ?? "", url, "host").replace(/^\[(.*)\]$/, "$1");
  if (path.includes("/")) {
    throw new ConfigurationError(`the path of ${JSON.stringify(url.redacted)} is the database name, with no "/" in it`);
  }
  const { username, password } = url.credentials();
  const table = checkTableName(parameters.text("table") ?? DEFAULT_POSTGRES_TABLE);
  return {
    endpoint: {
      host: host === "" ? "127.0.0.1" : host,
      port,
      database: path === "" ? undefined : decoded(path, url, "database name"),
      user: username,
      password,
      ssl: flag(parameters, "ssl"),
      redacted: url.redacted,
    },
    timings: timingsFromUrl(parameters, POSTGRES_TIMING_PARAMETERS, DEFAULT_POSTGRES_TIMINGS),
    table,
    unlogged: flag(parameters, "unlogged"),
  };
}

function flag(parameters: UrlParameters, name: string): boolean {
  const text = parameters.text(name);
  if (text === undefined || text === "false") return false;
  if (text === "true") return true;
  throw new ConfigurationError(`${name} is true or false for ${parameters.scheme}://, got ${JSON.stringify(text)}`);
}
