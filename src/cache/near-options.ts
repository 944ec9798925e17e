import { memoryOptionsFromUrl } from "../backends/memory/store.js";
import { type Duration, toTimeToLive } from "../duration.js";
import { ConfigurationError } from "../errors.js";
import { CacheUrl } from "../internal/cache-url.js";
import { checkConfiguration, describeValue } from "../internal/options.js";
import type { NearTierOptions } from "../layers/near.js";

/**
 * The `near` option of `Cache`: an in-process tier in front of the backend, kept coherent by the backend's
 * change notifications (Redis), or bounded in staleness by `timeToLive` on a backend without them.
 *
 * @example
 * ```ts
 * const near: NearOptions = { maxEntries: 10_000, maxSize: 64 * 2 ** 20, timeToLive: "5m" };
 * ```
 */
export interface NearOptions {
  /** The most entries held near (default 10 000); the least recently used go first. */
  readonly maxEntries?: number | undefined;
  /** The most bytes held near, counting each value by its encoded size. Unbounded when absent. */
  readonly maxSize?: number | undefined;
  /**
   * How long an entry is served near at most (it never outlives the key's time to live in the backend
   * either). Required when the backend cannot tell about changes: it is then how stale a read may be.
   */
  readonly timeToLive?: Duration | undefined;
}

/** The tier's options from the `near` option (`true`, options, or `"memory://?max-entries=…&max-size=…"`), or `undefined` for none. */
export function nearTierOptions(near: boolean | NearOptions | string | undefined): NearTierOptions | undefined {
  if (near === undefined || near === false) return undefined;
  if (near === true) return {};
  if (typeof near === "string") {
    const url = new CacheUrl(near);
    if (url.scheme !== "memory") {
      throw new ConfigurationError(
        `the near option takes a memory:// URL such as "memory://?max-entries=10000", got ${JSON.stringify(url.redacted)}`,
      );
    }
    const options = memoryOptionsFromUrl(url, url.parametersFor("memory"));
    url.rejectUnreadParameters();
    return options;
  }
  // Checked at run time too, for callers without types.
  if (typeof near !== "object" || (near as unknown) === null) {
    throw new ConfigurationError(
      `the near option must be true, { maxEntries, maxSize, timeToLive } or a memory:// URL, got ${describeValue(near)}`,
    );
  }
  checkConfiguration(near, {
    what: "the near option",
    known: ["maxEntries", "maxSize", "timeToLive"],
    example: '{ maxEntries: 10_000, timeToLive: "5m" }',
  });
  let timeToLive: number | undefined;
  try {
    timeToLive = toTimeToLive(near.timeToLive);
  } catch (error) {
    throw new ConfigurationError(`near.timeToLive: ${(error as Error).message}`, { cause: error });
  }
  return { maxEntries: near.maxEntries, maxSize: near.maxSize, timeToLive };
}
