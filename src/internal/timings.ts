import { ConfigurationError } from "../errors.js";
import type { UrlParameters } from "./cache-url.js";

/** The longest a Node timer waits, in milliseconds. */
export const MAX_TIMER_MS: number = 2 ** 31 - 1;

/** One timing or bound of a remote backend: its URL parameter and allowed range. */
export interface TimingParameter {
  readonly parameter: string;
  readonly min: number;
  readonly max: number;
}

/** The timings and bounds of a remote backend, each with its URL parameter and range. */
export type TimingTable<T> = { readonly [Name in keyof T]: TimingParameter };

/** The timings every remote backend takes, in milliseconds where they are times. */
export interface RemoteTimings {
  readonly timeout: number;
  readonly connectTimeout: number;
  readonly maxInFlight: number;
  readonly breakerThreshold: number;
  readonly breakerDuration: number;
}

/**
 * The URL parameters of the timings every remote backend takes (Redis, PostgreSQL): the deadline of each operation, of a
 * connection attempt, the bound of the work in flight, and the circuit breaker.
 */
export const REMOTE_TIMING_PARAMETERS: TimingTable<RemoteTimings> = {
  timeout: { parameter: "timeout", min: 1, max: MAX_TIMER_MS },
  connectTimeout: { parameter: "connect-timeout", min: 1, max: MAX_TIMER_MS },
  maxInFlight: { parameter: "max-in-flight", min: 1, max: 10_000_000 },
  breakerThreshold: { parameter: "breaker-threshold", min: 0, max: 1_000_000 },
  breakerDuration: { parameter: "breaker-duration", min: 1, max: MAX_TIMER_MS },
};

/** Reads every timing of `table` from a URL's parameters, each with its default. */
export function timingsFromUrl<T extends { readonly [Name in keyof T]: number }>(
  parameters: UrlParameters,
  table: TimingTable<T>,
  defaults: T,
): T {
  const timings: Record<string, number> = {};
  for (const name of Object.keys(table) as (keyof T & string)[]) {
    const { parameter, min, max } = table[name];
    timings[name] = parameters.integer(parameter, { min, max, default: defaults[name] });
  }
  return timings as T;
}

/**
 * Checks constructor options that are counts or milliseconds: a timing against the same range as its
 * URL parameter, anything else as a whole number from 1 to 2^31 − 1.
 *
 * @throws ConfigurationError naming the first bad option and the range.
 */
export function checkTimingOptions(
  what: string,
  options: Readonly<Record<string, number | undefined>>,
  table: Readonly<Record<string, TimingParameter>>,
): void {
  for (const [name, value] of Object.entries(options)) {
    const { min, max } = Object.hasOwn(table, name) ? (table[name] as TimingParameter) : { min: 1, max: MAX_TIMER_MS };
    if (value !== undefined && (!Number.isSafeInteger(value) || value < min || value > max)) {
      throw new ConfigurationError(
        `${what} option ${name} must be an integer ${String(min)}–${String(max)}, got ${String(value)}`,
      );
    }
  }
}

/** The options among `options` that are set, by the names of `table`. */
export function definedTimings<T>(options: Partial<T>, table: TimingTable<T>): Partial<T> {
  const timings: Partial<T> = {};
  for (const name of Object.keys(table) as (keyof T)[]) {
    const value = options[name];
    if (value !== undefined) timings[name] = value;
  }
  return timings;
}
