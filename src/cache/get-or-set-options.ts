import { type Duration, toMilliseconds, toTimeToLive } from "../duration.js";
import { hasLoneSurrogate } from "../internal/bytes.js";
import { ConfigurationError } from "../errors.js";
import { checkOptions, describeValue } from "../internal/options.js";
import { MAX_TAGS } from "./envelope.js";

/** Soft and hard limits on how long `getOrSet` waits for its factory. */
export interface FactoryTimeouts {
  /** Past it, a caller that has a stale value gets it; the computation goes on and is stored. */
  readonly soft?: Duration | undefined;
  /** Past it, every caller waiting on the computation rejects with `CacheTimeoutError` and its signal aborts. */
  readonly hard?: Duration | undefined;
}

/**
 * Options of `Cache.getOrSet` (and of `cached`): how long a value is fresh, how long it may be served
 * stale, and how its computation is shared. See docs/get-or-set.md for the state table.
 *
 * @example
 * ```ts
 * await cache.getOrSet("user:1", () => db.users.find(1), { timeToLive: "5m", staleWhileRevalidate: "1m", grace: "1h" });
 * ```
 */
export interface GetOrSetOptions {
  /** How long a computed value is fresh; `null`/absent: as long as it is stored. */
  readonly timeToLive?: Duration | null | undefined;
  /** After `timeToLive`, how long the stale value is served at once while one refresh runs in the background. */
  readonly staleWhileRevalidate?: Duration | undefined;
  /** After that, how long the stale value is served when the refresh fails, times out softly, or the backend is down. */
  readonly grace?: Duration | undefined;
  /** XFetch's beta: refresh early, with a probability that grows as expiry nears (0 or absent: off; 1 is the usual value). */
  readonly earlyRefresh?: number | undefined;
  /** Limits on how long callers wait for the factory. */
  readonly timeout?: FactoryTimeouts | undefined;
  /** `"process"` (default): one computation per key in this process; `"distributed"`: one across every instance. */
  readonly lock?: "process" | "distributed" | undefined;
  /** With `lock: "distributed"`, how long others wait for the holder before computing themselves (default 5 s). */
  readonly lockTimeout?: Duration | undefined;
  /** Tags stored with the value (at most 1 000, duplicates dropped). */
  readonly tags?: readonly string[] | undefined;
}

/** Options of `SyncCache.getOrSet`: the synchronous form has no background work. */
export interface SyncGetOrSetOptions {
  /** How long a computed value is fresh; `null`/absent: as long as it is stored. */
  readonly timeToLive?: Duration | null | undefined;
  /** Tags stored with the value. */
  readonly tags?: readonly string[] | undefined;
}

/** What the factory of `getOrSet` is told. */
export interface FactoryContext<V> {
  /** The key being computed (as the caller gave it, without the prefix). */
  readonly key: string;
  /** The stale value being replaced, when there is one. */
  readonly stale: V | undefined;
  /** Aborted at `timeout.hard` (or when the cache gives up on the computation). */
  readonly signal: AbortSignal;
}

/** Computes the value of a key for `getOrSet`. */
export type Factory<V> = (context: FactoryContext<V>) => V | PromiseLike<V>;

/** The options of a `getOrSet`, checked and in milliseconds. */
export interface ReadThroughPlan {
  readonly timeToLive: number | undefined;
  readonly staleWhileRevalidate: number;
  readonly grace: number;
  readonly earlyRefresh: number;
  readonly softTimeout: number | undefined;
  readonly hardTimeout: number | undefined;
  readonly distributed: boolean;
  readonly lockTimeout: number;
  readonly tags: readonly string[];
  /** Whether what is written needs an envelope (anything beyond a plain time to live). */
  readonly enveloped: boolean;
  /** How long the backend keeps what is written: `timeToLive + staleWhileRevalidate + grace`. */
  readonly storedFor: number | undefined;
  /** `cached`'s `exclude`: `true` skips storing a value. */
  readonly exclude?: ((key: string, value: never) => boolean | PromiseLike<boolean>) | undefined;
}

/** `plan` with another time to live (for `cached`, whose `timeToLive` may be a function of the key). */
export function withTimeToLive(plan: ReadThroughPlan, timeToLive: number | undefined): ReadThroughPlan {
  if (timeToLive === undefined && (plan.staleWhileRevalidate > 0 || plan.grace > 0 || plan.earlyRefresh > 0)) {
    throw new ConfigurationError(
      "timeToLive returned no duration, but staleWhileRevalidate, grace and earlyRefresh count from its end",
    );
  }
  return {
    ...plan,
    timeToLive,
    storedFor: timeToLive === undefined ? undefined : timeToLive + plan.staleWhileRevalidate + plan.grace,
  };
}

/** The option names of `getOrSet`. */
export const GET_OR_SET_OPTION_NAMES = [
  "timeToLive",
  "staleWhileRevalidate",
  "grace",
  "earlyRefresh",
  "timeout",
  "lock",
  "lockTimeout",
  "tags",
] as const;

const DEFAULT_LOCK_TIMEOUT = 5000;
const EXAMPLE = '{ timeToLive: "5m", staleWhileRevalidate: "1m", grace: "1h" }';

function window(name: string, value: Duration | undefined, what: string): number {
  if (value === undefined) return 0;
  try {
    return toMilliseconds(value);
  } catch (error) {
    throw new ConfigurationError(`${name} of ${what}: ${(error as Error).message}`);
  }
}

/**
 * The tags of an entry, checked: an array of non-empty, well-formed strings of at most 65 535 UTF-8 bytes,
 * duplicates dropped, at most `limit` (1 000 on one entry).
 *
 * @throws ConfigurationError naming what is wrong.
 */
export function checkedTags(tags: unknown, what: string, limit: number = MAX_TAGS): readonly string[] {
  if (tags === undefined) return [];
  if (!Array.isArray(tags))
    throw new ConfigurationError(`tags of ${what} must be an array of strings, got ${describeValue(tags)}`);
  const distinct = [...new Set(tags as unknown[])];
  for (const tag of distinct) {
    if (typeof tag !== "string" || tag === "") {
      throw new ConfigurationError(`tags of ${what} must be non-empty strings, got ${describeValue(tag)}`);
    }
    if (hasLoneSurrogate(tag)) {
      throw new ConfigurationError(`a tag of ${what} holds a lone surrogate, which has no UTF-8 form`);
    }
    if (tag.length > 0x3fff && Buffer.byteLength(tag) > 0xffff) {
      throw new ConfigurationError(
        `a tag of ${what} is at most 65535 bytes in UTF-8, got one of ${String(Buffer.byteLength(tag))}`,
      );
    }
  }
  if (distinct.length > limit) {
    throw new ConfigurationError(
      `an entry takes at most ${String(MAX_TAGS)} tags; ${what} got ${String(distinct.length)}`,
    );
  }
  return distinct as string[];
}

/**
 * Checks the options of a `getOrSet` (or of `cached`) once and turns them into milliseconds.
 *
 * @throws ConfigurationError for an unknown option, a bad duration, a window without a `timeToLive`,
 *   a soft timeout not below the hard one, or a bad `lock`, `earlyRefresh` or tag.
 */
export function readThroughPlan(options: GetOrSetOptions | undefined, what = "getOrSet()"): ReadThroughPlan {
  checkOptions(options, { what, known: GET_OR_SET_OPTION_NAMES, example: EXAMPLE }, ConfigurationError);
  const given = options ?? {};
  let timeToLive: number | undefined;
  try {
    timeToLive = toTimeToLive(given.timeToLive);
  } catch (error) {
    throw new ConfigurationError(`timeToLive of ${what}: ${(error as Error).message}`);
  }
  const staleWhileRevalidate = window("staleWhileRevalidate", given.staleWhileRevalidate, what);
  const grace = window("grace", given.grace, what);
  const earlyRefresh = given.earlyRefresh ?? 0;
  if (typeof earlyRefresh !== "number" || !Number.isFinite(earlyRefresh) || earlyRefresh < 0) {
    throw new ConfigurationError(
      `earlyRefresh of ${what} is XFetch's beta, a number ≥ 0 (1 is usual), got ${describeValue(earlyRefresh)}`,
    );
  }
  if (timeToLive === undefined && (staleWhileRevalidate > 0 || grace > 0 || earlyRefresh > 0)) {
    throw new ConfigurationError(
      `staleWhileRevalidate, grace and earlyRefresh of ${what} count from the end of timeToLive: give a timeToLive too`,
    );
  }
  checkOptions(
    given.timeout,
    { what: `timeout of ${what}`, known: ["soft", "hard"], example: '{ soft: "200ms", hard: "2s" }' },
    ConfigurationError,
  );
  const softTimeout = given.timeout?.soft === undefined ? undefined : window("timeout.soft", given.timeout.soft, what);
  const hardTimeout = given.timeout?.hard === undefined ? undefined : window("timeout.hard", given.timeout.hard, what);
  if (softTimeout !== undefined && hardTimeout !== undefined && softTimeout >= hardTimeout) {
    throw new ConfigurationError(
      `timeout.soft of ${what} must be shorter than timeout.hard (${String(softTimeout)} ms ≥ ${String(hardTimeout)} ms)`,
    );
  }
  const lock: unknown = given.lock ?? "process";
  if (lock !== "process" && lock !== "distributed") {
    throw new ConfigurationError(`lock of ${what} must be "process" or "distributed", got ${describeValue(lock)}`);
  }
  const lockTimeout =
    given.lockTimeout === undefined ? DEFAULT_LOCK_TIMEOUT : window("lockTimeout", given.lockTimeout, what);
  if (lockTimeout < 1) throw new ConfigurationError(`lockTimeout of ${what} must be at least 1 ms`);
  const tags = checkedTags(given.tags, what);
  const distributed = lock === "distributed";
  return {
    timeToLive,
    staleWhileRevalidate,
    grace,
    earlyRefresh,
    softTimeout,
    hardTimeout,
    distributed,
    lockTimeout,
    tags,
    enveloped: staleWhileRevalidate > 0 || grace > 0 || earlyRefresh > 0 || tags.length > 0 || distributed,
    storedFor: timeToLive === undefined ? undefined : timeToLive + staleWhileRevalidate + grace,
  };
}
