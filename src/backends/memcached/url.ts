import { ConfigurationError } from "../../errors.js";
import type { CacheUrl, UrlParameters } from "../../internal/cache-url.js";
import { type HostAndPort, parseHostAndPort } from "../../internal/host-port.js";
import {
  checkTimingOptions,
  definedTimings,
  MAX_TIMER_MS,
  REMOTE_TIMING_PARAMETERS,
  type TimingTable,
  timingsFromUrl,
} from "../../internal/timings.js";

/** The timings and bounds of a {@link MemcachedBackend}, in milliseconds where they are times. */
export interface MemcachedTimings {
  /** Every operation settles within this many milliseconds; a server that lets one wait longer is taken out. */
  readonly timeout: number;
  /** How long opening one connection may take. */
  readonly connectTimeout: number;
  /** Operations waiting for an answer, at most; beyond it calls fail at once. */
  readonly maxInFlight: number;
  /**
   * Timeouts in a row, over all servers, that open the backend's circuit breaker (default 0: none, since
   * each server is taken out on its own, and one slow server must not stop the others' keys).
   */
  readonly breakerThreshold: number;
  /** How long an open circuit refuses calls before one probe goes through. */
  readonly breakerDuration: number;
  /** How long a server that failed stays out before it is tried again; doubled after each failed try. */
  readonly serverRetry: number;
  /** The longest a server stays out between two tries. */
  readonly serverRetryMax: number;
}

/** The defaults of {@link MemcachedTimings}. */
export const DEFAULT_MEMCACHED_TIMINGS: MemcachedTimings = {
  timeout: 500,
  connectTimeout: 1000,
  maxInFlight: 10_000,
  breakerThreshold: 0,
  breakerDuration: 500,
  serverRetry: 100,
  serverRetryMax: 5000,
};

const MEMCACHED_TIMING_PARAMETERS: TimingTable<MemcachedTimings> = {
  ...REMOTE_TIMING_PARAMETERS,
  serverRetry: { parameter: "server-retry", min: 1, max: MAX_TIMER_MS },
  serverRetryMax: { parameter: "server-retry-max", min: 1, max: MAX_TIMER_MS },
};

/** The names of {@link MemcachedTimings}, as constructor options. */
export const MEMCACHED_TIMING_NAMES = Object.keys(MEMCACHED_TIMING_PARAMETERS) as readonly (keyof MemcachedTimings)[];

/** At most this many characters of namespace, so that every encoded key still fits memcached's 250 bytes. */
export const MAX_NAMESPACE_LENGTH = 64;

/** Everything a memcached URL configures. */
export interface MemcachedSettings {
  readonly servers: readonly HostAndPort[];
  readonly namespace: string;
  readonly timings: MemcachedTimings;
}

/**
 * The namespace checked: printable ASCII without spaces, at most 64 characters.
 *
 * @throws ConfigurationError naming the rule.
 */
export function checkNamespace(namespace: string): string {
  if (!/^[\x21-\x7e]{0,64}$/.test(namespace)) {
    throw new ConfigurationError(
      `the memcached namespace is at most ${String(MAX_NAMESPACE_LENGTH)} printable ASCII characters without spaces, got ${JSON.stringify(namespace)}`,
    );
  }
  return namespace;
}

/**
 * Checks constructor options that are counts or milliseconds against the ranges of their URL parameters.
 *
 * @throws ConfigurationError naming the first bad option and the range.
 */
export function checkMemcachedTimings(options: Readonly<Record<string, number | undefined>>): void {
  checkTimingOptions("MemcachedBackend", options, MEMCACHED_TIMING_PARAMETERS);
}

/** The timings among `options` that are set. */
export function definedMemcachedTimings(options: Partial<MemcachedTimings>): Partial<MemcachedTimings> {
  return definedTimings(options, MEMCACHED_TIMING_PARAMETERS);
}

/**
 * Parses `memcached://host:11211,host:11212?namespace=…&timeout=…`: the servers in the order every client
 * of the pool lists them (the ring does not depend on it, but their names must be the same everywhere).
 *
 * @throws ConfigurationError naming the bad part.
 */
export function memcachedSettingsFromUrl(url: CacheUrl, parameters: UrlParameters): MemcachedSettings {
  if (url.scheme !== "memcached") throw new ConfigurationError(`${url.scheme}:// is not a memcached URL`);
  if (url.location !== url.address) {
    throw new ConfigurationError(
      `memcached:// takes no user name or password (memcached's text protocol has none): ${JSON.stringify(url.redacted)}`,
    );
  }
  const address = url.address.replace(/\/$/, "");
  if (address.includes("/")) {
    throw new ConfigurationError(
      `memcached:// lists servers as host:port separated by commas, with no path: ${JSON.stringify(url.redacted)}`,
    );
  }
  const servers = (address === "" ? ["127.0.0.1"] : address.split(",")).map((server) =>
    parseHostAndPort(server.trim(), url, 11211),
  );
  const names = new Set(servers.map(({ host, port }) => `${host}:${String(port)}`));
  if (names.size !== servers.length) {
    throw new ConfigurationError(`a server is listed twice in ${JSON.stringify(url.redacted)}`);
  }
  return {
    servers,
    namespace: checkNamespace(parameters.text("namespace") ?? ""),
    timings: timingsFromUrl(parameters, MEMCACHED_TIMING_PARAMETERS, DEFAULT_MEMCACHED_TIMINGS),
  };
}
