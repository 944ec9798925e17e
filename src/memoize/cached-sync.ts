import { requireFlavour } from "../cache/flavour.js";
import type { SyncCache } from "../cache/sync-cache.js";
import type { Duration } from "../duration.js";
import { ConfigurationError } from "../errors.js";
import { checkedTags } from "../cache/get-or-set-options.js";
import { isSerializationError, memoizePlan, wrapOrDecorate } from "./cached.js";
import type { MakeKey } from "./keys.js";
import { acceptingLegacyDecorators, type AnyFunction } from "./memoized-name.js";

/** Where a sync memoized function keeps its results: a `SyncCache`, or a function choosing one per call. */
export type SyncCacheChoice<V> =
  SyncCache<V> | ((fn: { readonly name: string }, ...args: unknown[]) => SyncCache<V> | null);

/** Options of {@link cachedSync}: those of `cached`, with synchronous callbacks. */
export interface CachedSyncOptions<V> {
  /** Builds the key of a call (default `makeDefaultKey`); called with the caller's `this`. */
  readonly makeKey?: MakeKey;
  /** How long results live: a `Duration`, `null`, or a function of the key returning one. */
  readonly timeToLive?: Duration | null | ((key: string) => Duration | null);
  /** Store only when the key is absent. */
  readonly ifNotExists?: boolean;
  /** Decides not to store a result: `true` skips it. */
  readonly exclude?: (key: string, value: V) => boolean;
  /** The identity of the function in its keys; default its name, `Class.method` for decorated methods. */
  readonly name?: string;
  /** Tags stored with each result. (`cached`'s other freshness options need background work: async only.) */
  readonly tags?: readonly string[] | undefined;
}

/** A memoized sync function: the original's signature, plus `purge`. */
export type MemoizedSyncFunction<This, A extends unknown[], R> = ((this: This, ...args: A) => R) & {
  /** Deletes the cached result of these arguments; whether one existed. */
  readonly purge: (...args: A) => boolean;
};

/** What {@link cachedSync} returns: a wrapper for sync functions that is also a TC39 method decorator. */
export interface CachedSyncWrapper<V> {
  /** Wraps a function, or (with `context`) decorates a method (TC39 decorators). */
  <This, A extends unknown[], R extends V>(
    fn: (this: This, ...args: A) => R,
    context?: ClassMethodDecoratorContext<This, (this: This, ...args: A) => R>,
  ): MemoizedSyncFunction<This, A, R>;
  /** Decorates a method under TypeScript's `experimentalDecorators`, named `Class.method` as with TC39. */
  <T extends (...args: never[]) => V>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<T>,
  ): TypedPropertyDescriptor<T>;
}

const MISS: unique symbol = Symbol("cachetory.miss");

/**
 * Memoizes a synchronous function in a `SyncCache`, as a wrapper or as a TC39 method decorator. A
 * stored `null` is a hit; a throwing function stores nothing; when the cache fails, the function still
 * runs and its result is returned, and the failure goes to the cache's `onError`.
 *
 * @example
 * ```ts
 * const cache = SyncCache.memory<number>();
 * // The recursion calls the memoized function (an arrow, so it needs a name).
 * const fibonacci: (n: number) => number = cachedSync(cache, { name: "fibonacci" })((n: number): number =>
 *   n < 2 ? n : fibonacci(n - 1) + fibonacci(n - 2),
 * );
 * fibonacci(70); // 190392490709135, each n computed once
 * ```
 */
export function cachedSync<V>(cache: SyncCacheChoice<V>, options: CachedSyncOptions<V> = {}): CachedSyncWrapper<V> {
  // Plain JavaScript can hand over an async Cache, whose promises a sync memoizer would return as values.
  if (typeof cache !== "function") requireFlavour(cache, "sync", "cachedSync()");
  const plan = memoizePlan(options, "cachedSync()");
  const tags = checkedTags(options.tags, "cachedSync()");
  if (tags.length > 0 && (plan.exclude !== undefined || plan.ifNotExists)) {
    throw new ConfigurationError(
      "tags of cachedSync() store through SyncCache.getOrSet, which has no exclude or ifNotExists",
    );
  }
  const wrapper = (target: AnyFunction, context?: DecoratorContext, legacyName?: string): AnyFunction => {
    const original = target as unknown as (this: unknown, ...args: unknown[]) => V;

    function store(chosen: SyncCache<V>, key: string, value: V): void {
      // The options of cachedSync only admit synchronous callbacks.
      if (plan.exclude?.(key, value) === true) return;
      const timeToLive =
        typeof plan.timeToLive === "function" ? (plan.timeToLive(key) as Duration | null) : plan.timeToLive;
      try {
        chosen.set(key, value, { timeToLive, ifNotExists: plan.ifNotExists });
      } catch (error) {
        if (value === undefined && isSerializationError(error)) return;
        chosen.reportError(error, "set", key);
      }
    }

    return wrapOrDecorate(target, context, options.name ?? legacyName, () => {
      const choose = (args: unknown[]): SyncCache<V> | null =>
        typeof cache === "function" ? requireFlavour(cache(memoized, ...args), "sync", "cachedSync()") : cache;
      const memoized = Object.assign(
        function (this: unknown, ...args: unknown[]): V {
          const chosen = choose(args);
          if (chosen === null) return original.apply(this, args);
          const key = plan.makeKey.call(this, memoized, args);
          let found: V | typeof MISS = MISS;
          try {
            found = chosen.get(key, MISS);
          } catch (error) {
            chosen.reportError(error, "get", key);
          }
          if (found !== MISS) return found;
          if (tags.length > 0 && plan.exclude === undefined && !plan.ifNotExists) {
            const timeToLive =
              typeof plan.timeToLive === "function" ? (plan.timeToLive(key) as Duration | null) : plan.timeToLive;
            return chosen.getOrSet(key, () => original.apply(this, args), { timeToLive, tags });
          }
          const value = original.apply(this, args);
          store(chosen, key, value);
          return value;
        },
        {
          purge(this: unknown, ...args: unknown[]): boolean {
            const chosen = choose(args);
            return chosen === null ? false : chosen.delete(plan.makeKey.call(this, memoized, args));
          },
        },
      );
      return memoized;
    });
  };
  return acceptingLegacyDecorators(wrapper, "cachedSync") as unknown as CachedSyncWrapper<V>;
}
