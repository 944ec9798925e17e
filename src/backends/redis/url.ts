import { ConfigurationError } from "../../errors.js";
import { parseHostAndPort } from "../../internal/host-port.js";
import type { CacheUrl, UrlParameters } from "../../internal/cache-url.js";
import {
  checkTimingOptions,
  definedTimings,
  REMOTE_TIMING_PARAMETERS,
  type TimingTable,
  timingsFromUrl,
} from "../../internal/timings.js";

/** Where and how to reach Redis: what a URL says, with its secrets kept out of every message. */
export interface RedisEndpoint {
  /**
   * `tcp` (redis://), `tls` (rediss://), `unix` (redis+unix://), `cluster` (redis+cluster://) or
   * `sentinel` (redis+sentinel://).
   */
  readonly transport: "tcp" | "tls" | "unix" | "cluster" | "sentinel";
  /**
   * Host and port pairs; one for tcp/tls, one or more seeds for a cluster, the sentinels for Sentinel,
   * none for unix.
   */
  readonly nodes: readonly { readonly host: string; readonly port: number }[];
  /** The name of the master the sentinels watch (redis+sentinel://). */
  readonly masterName?: string;
  /** The socket path of redis+unix://. */
  readonly path?: string;
  readonly database: number;
  readonly username?: string;
  readonly password?: string;
  /** The URL with its password hidden, for messages and `util.inspect`. */
  readonly redacted: string;
}

/** The timing and bounds of a Redis backend, in milliseconds where they are times. */
export interface RedisTimings {
  /** Every operation settles within this many milliseconds. */
  readonly timeout: number;
  /** How long one connection attempt may take. */
  readonly connectTimeout: number;
  /** Commands sent but not yet answered, at most; beyond it calls fail at once. */
  readonly maxInFlight: number;
  /** The longest wait between two reconnection attempts. */
  readonly reconnectMaxDelay: number;
  /** Timeouts in a row that open the circuit breaker (0: no breaker). */
  readonly breakerThreshold: number;
  /** How long an open circuit refuses calls before one probe goes through. */
  readonly breakerDuration: number;
}

/** The defaults of {@link RedisTimings}. */
export const DEFAULT_REDIS_TIMINGS: RedisTimings = {
  timeout: 500,
  connectTimeout: 2000,
  maxInFlight: 10_000,
  reconnectMaxDelay: 2000,
  breakerThreshold: 5,
  breakerDuration: 500,
};

/** Where Redis is when no URL is given. */
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0";

const MAX_DATABASE = 2 ** 31 - 1;

/** Each timing's URL parameter and allowed range. */
const TIMING_PARAMETERS: TimingTable<RedisTimings> = {
  ...REMOTE_TIMING_PARAMETERS,
  reconnectMaxDelay: { parameter: "reconnect-max-delay", min: 10, max: 600_000 },
};

/**
 * Checks constructor options that are counts or milliseconds: a timing against the same range as its
 * URL parameter, anything else as a whole number from 1 to 2^31 − 1 (the longest a Node timer waits).
 *
 * @throws ConfigurationError naming the first bad option and the range.
 */
export function checkPositiveIntegers(options: Readonly<Record<string, number | undefined>>): void {
  checkTimingOptions("RedisBackend", options, TIMING_PARAMETERS);
}

/** The names of {@link RedisTimings}, in the order their URL parameters are read. */
export const REDIS_TIMING_NAMES = Object.keys(TIMING_PARAMETERS) as readonly (keyof RedisTimings)[];

/** Reads the timing parameters shared by every Redis scheme. */
export function redisTimingsFromUrl(parameters: UrlParameters): RedisTimings {
  return timingsFromUrl(parameters, TIMING_PARAMETERS, DEFAULT_REDIS_TIMINGS);
}

/** The timings among `options` that are set. */
export function definedRedisTimings(options: Partial<RedisTimings>): Partial<RedisTimings> {
  return definedTimings(options, TIMING_PARAMETERS);
}

function parseDatabase(text: string, url: CacheUrl, where: string): number {
  const database = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(database >= 0 && database <= MAX_DATABASE)) {
    throw new ConfigurationError(
      `the database (${where}) must be an integer ≥ 0 in ${JSON.stringify(url.redacted)}, got ${JSON.stringify(text)}`,
    );
  }
  return database;
}

function decodePath(text: string, redacted: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new ConfigurationError(`the ${what} in ${JSON.stringify(redacted)} has a malformed %-escape; write % as %25`);
  }
}

/**
 * Parses `redis://`, `rediss://`, `redis+unix://`, `redis+cluster://` and `redis+sentinel://` URLs.
 *
 * @throws ConfigurationError naming the bad part (never quoting a credential).
 */
export function redisEndpointFromUrl(url: CacheUrl, parameters: UrlParameters): RedisEndpoint {
  const credentials = url.credentials();
  const rest = url.address;
  const redacted = url.redacted;
  switch (url.scheme) {
    case "redis":
    case "rediss": {
      const slash = rest.indexOf("/");
      const authority = slash === -1 ? rest : rest.slice(0, slash);
      const path = slash === -1 ? "" : rest.slice(slash + 1);
      return {
        transport: url.scheme === "rediss" ? "tls" : "tcp",
        nodes: [parseHostAndPort(authority, url, 6379)],
        database: path === "" ? 0 : parseDatabase(path, url, "the path"),
        ...credentials,
        redacted,
      };
    }
    case "redis+unix": {
      if (!rest.startsWith("/") || rest.length < 2) {
        throw new ConfigurationError(
          `redis+unix:// needs an absolute socket path, as in "redis+unix:///run/redis.sock?db=1", got ${JSON.stringify(redacted)}`,
        );
      }
      const databaseText = parameters.text("db");
      return {
        transport: "unix",
        nodes: [],
        path: decodePath(rest, redacted, "socket path"),
        database: databaseText === undefined ? 0 : parseDatabase(databaseText, url, "db"),
        ...credentials,
        redacted,
      };
    }
    case "redis+cluster": {
      const [seeds = "", path] = rest.split("/", 2);
      if (path !== undefined && path !== "" && path !== "0") {
        throw new ConfigurationError(
          `Redis Cluster has only database 0, got the path "/${path}" in ${JSON.stringify(redacted)}`,
        );
      }
      const nodes = seeds.split(",").map((seed) => parseHostAndPort(seed.trim(), url, 6379));
      return { transport: "cluster", nodes, database: 0, ...credentials, redacted };
    }
    case "redis+sentinel": {
      const slash = rest.indexOf("/");
      const sentinels = slash === -1 ? rest : rest.slice(0, slash);
      const masterName = slash === -1 ? "" : decodePath(rest.slice(slash + 1), redacted, "master name");
      if (masterName === "" || masterName.includes("/")) {
        throw new ConfigurationError(
          `redis+sentinel:// names the master its sentinels watch as the path, as in "redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster?db=0", got ${JSON.stringify(redacted)}`,
        );
      }
      const databaseText = parameters.text("db");
      return {
        transport: "sentinel",
        nodes: sentinels.split(",").map((sentinel) => parseHostAndPort(sentinel.trim(), url, 26379)),
        masterName,
        database: databaseText === undefined ? 0 : parseDatabase(databaseText, url, "db"),
        ...credentials,
        redacted,
      };
    }
    default:
      throw new ConfigurationError(`${url.scheme}:// is not a Redis URL`);
  }
}
