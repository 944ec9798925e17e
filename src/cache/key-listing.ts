import { ConfigurationError } from "../errors.js";
import { escapeGlob } from "../internal/glob.js";
import { TAG_STATE_MARKER } from "../tags/tag-state.js";
import { LOCK_SUFFIX } from "./get-or-set.js";

/**
 * Options of `SyncCache.keys`.
 *
 * @example
 * ```ts
 * for (const key of cache.keys({ match: "user:*" })) console.log(key);
 * ```
 */
export interface SyncKeysOptions {
  /**
   * A glob over the keys (without the cache's prefix), as Redis's `SCAN MATCH` reads it: `*`, `?`, `[a-z]`,
   * `[^a]`, and `\` to take the next character literally. Absent: every key.
   */
  readonly match?: string | undefined;
}

/**
 * Options of `Cache.keys`.
 *
 * @example
 * ```ts
 * for await (const key of cache.keys({ match: "user:*", signal: AbortSignal.timeout(10_000) })) console.log(key);
 * ```
 */
export interface KeysOptions extends SyncKeysOptions {
  /** Stops the listing: the loop throws the signal's reason at the next key. */
  readonly signal?: AbortSignal | undefined;
}

/** How many keys one page looks at, as a hint to the backend. */
export const KEYS_PAGE = 1000;

/** The glob the backend matches: the prefix, literally, then the caller's pattern. Checks the options. */
export function scanPattern(prefix: string, options: KeysOptions, what: string): string {
  // Checked at run time: JavaScript callers pass anything.
  if (typeof options !== "object" || (options as KeysOptions | null) === null) {
    throw new ConfigurationError(`${what}.keys takes an options object such as { match: "user:*" }`);
  }
  const { match, signal } = options;
  if (match !== undefined && typeof match !== "string") {
    throw new ConfigurationError(`${what}.keys: match must be a glob string such as "user:*", got ${typeof match}`);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new ConfigurationError(`${what}.keys: signal must be an AbortSignal`);
  }
  return escapeGlob(prefix) + (match ?? "*");
}

/**
 * The cache's own keys among the stored keys of one page, without the prefix: the state kept for tags
 * and the locks of `getOrSet` are left out (a key of yours that ends in `"\u0000lock"` is too).
 */
export function listedKeys(prefix: string, stored: readonly string[]): string[] {
  const keys: string[] = [];
  for (const key of stored) {
    if (!key.startsWith(prefix) || key.endsWith(LOCK_SUFFIX)) continue;
    const own = key.slice(prefix.length);
    if (!own.startsWith(TAG_STATE_MARKER)) keys.push(own);
  }
  return keys;
}
