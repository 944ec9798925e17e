import { type Cache, PEEK, READ_THROUGH } from "../cache/cache.js";
import {
  GET_OR_SET_OPTION_NAMES,
  type GetOrSetOptions,
  type ReadThroughPlan,
  readThroughPlan,
  withTimeToLive,
} from "../cache/get-or-set-options.js";
import { requireFlavour } from "../cache/flavour.js";
import { type Duration, toMilliseconds, toTimeToLive } from "../duration.js";
import { ConfigurationError } from "../errors.js";
import { asError } from "../internal/error-kinds.js";
import { checkConfiguration } from "../internal/options.js";
import { type MakeKey, makeDefaultKey } from "./keys.js";
import { acceptingLegacyDecorators, type AnyFunction, nameMethod, nameWrapper } from "./memoized-name.js";
import { SingleFlight } from "./single-flight.js";

/**
 * Where a memoized function keeps its results: a cache, or a function choosing one per call (sync or
 * async); `null` means "do not cache this call".
 */
export type CacheChoice<C> =
  C | ((fn: { readonly name: string }, ...args: unknown[]) => C | null | PromiseLike<C | null>);

/**
 * Options of {@link cached}: those of the seed, `waitTimeout`, and those of `getOrSet`
 * (`staleWhileRevalidate`, `grace`, `earlyRefresh`, `timeout`, `lock`, `lockTimeout`, `tags`), with the
 * same meaning; any of the latter makes each call a `cache.getOrSet`.
 */
export interface CachedOptions<V> extends Omit<GetOrSetOptions, "timeToLive"> {
  /** Builds the key of a call (default {@link makeDefaultKey}); called with the caller's `this`. */
  readonly makeKey?: MakeKey;
  /**
   * How long results live: a `Duration`, `null` for no expiry, or a function of the key returning one
   * (sync or async; called only when a value is about to be stored).
   */
  readonly timeToLive?: Duration | null | ((key: string) => Duration | null | PromiseLike<Duration | null>);
  /** Store only when the key is absent (`SET NX`). */
  readonly ifNotExists?: boolean;
  /** Decides not to store a result: `true` skips it (sync or async). */
  readonly exclude?: (key: string, value: V) => boolean | PromiseLike<boolean>;
  /** The identity of the function in its keys; default its name, `Class.method` for decorated methods. */
  readonly name?: string;
  /**
   * How long a call waits for the same key's computation that another call started, before it fails
   * with `CacheTimeoutError` and lets the next call start afresh. Default: as long as it takes.
   */
  readonly waitTimeout?: Duration;
}

/** A memoized async function: the original's signature, plus `purge`. */
export type MemoizedFunction<This, A extends unknown[], R> = ((this: This, ...args: A) => Promise<R>) & {
  /** Deletes the cached result of these arguments; whether one existed. */
  readonly purge: (...args: A) => Promise<boolean>;
};

/** What {@link cached} returns: a wrapper for async functions that is also a TC39 method decorator. */
export interface CachedWrapper<V> {
  /** Wraps an async function, or (with `context`) decorates an async method (TC39 decorators). */
  <This, A extends unknown[], R extends V>(
    fn: (this: This, ...args: A) => Promise<R>,
    context?: ClassMethodDecoratorContext<This, (this: This, ...args: A) => Promise<R>>,
  ): MemoizedFunction<This, A, R>;
  /**
   * Decorates an async method under TypeScript's `experimentalDecorators`, as NestJS projects compile:
   * the same memoization, named `Class.method` as with TC39 decorators.
   */
  <T extends (...args: never[]) => Promise<V>>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<T>,
  ): TypedPropertyDescriptor<T>;
}

/** The parts of the options that do not change per call, checked once. */
export interface MemoizePlan<V> {
  readonly makeKey: MakeKey;
  /** With any of `getOrSet`'s options: the plan every call hands it. */
  readonly readThrough: ReadThroughPlan | undefined;
  readonly timeToLive: ((key: string) => Duration | null | PromiseLike<Duration | null>) | number | undefined;
  readonly ifNotExists: boolean;
  readonly exclude: ((key: string, value: V) => boolean | PromiseLike<boolean>) | undefined;
}

const MEMOIZE_OPTION_NAMES = ["makeKey", "timeToLive", "ifNotExists", "exclude", "name"];
/** The options of `getOrSet` that `cached` takes beyond the seed's (its `timeToLive` is the seed's). */
const READ_THROUGH_NAMES = GET_OR_SET_OPTION_NAMES.filter((name) => name !== "timeToLive");
/** Those that need background work or a promise, which a synchronous memoizer has not. */
const ASYNC_ONLY_NAMES = READ_THROUGH_NAMES.filter((name) => name !== "tags");

/**
 * Validates the options once, at wrapping time.
 *
 * @throws ConfigurationError for options that are not an object or hold an unknown name.
 */
export function memoizePlan<V>(options: CachedOptions<V>, what: "cached()" | "cachedSync()"): MemoizePlan<V> {
  checkConfiguration(options, {
    what,
    known: [...MEMOIZE_OPTION_NAMES, ...READ_THROUGH_NAMES, ...(what === "cached()" ? ["waitTimeout"] : [])],
    example: '{ timeToLive: "5m" }',
  });
  const { timeToLive } = options;
  const given = options as Record<string, unknown>;
  const asked = READ_THROUGH_NAMES.filter((name) => given[name] !== undefined);
  if (what === "cachedSync()") {
    const asyncOnly = ASYNC_ONLY_NAMES.filter((name) => given[name] !== undefined);
    if (asyncOnly.length > 0) {
      throw new ConfigurationError(
        `${asyncOnly.join(", ")} of cachedSync() need background work and promises, which a synchronous function has not: use cached() over an async Cache`,
      );
    }
  }
  let readThrough: ReadThroughPlan | undefined;
  if (asked.length > 0) {
    for (const conflicting of ["ifNotExists", "waitTimeout"] as const) {
      if (given[conflicting] !== undefined) {
        throw new ConfigurationError(
          `${conflicting} of ${what} does not combine with ${asked.join(", ")}: ${conflicting === "ifNotExists" ? "a refresh must replace the stale value" : "use timeout.hard, which releases every waiter"}`,
        );
      }
    }
    readThrough = {
      ...readThroughPlan(
        {
          ...Object.fromEntries(asked.map((name) => [name, given[name]])),
          // A function of the key is asked per call; any duration stands in for it here.
          timeToLive: typeof timeToLive === "function" ? 1 : timeToLive,
        },
        what,
      ),
      exclude: options.exclude as ReadThroughPlan["exclude"],
    };
  }
  return {
    makeKey: options.makeKey ?? makeDefaultKey,
    readThrough,
    timeToLive: typeof timeToLive === "function" ? timeToLive : toTimeToLive(timeToLive),
    ifNotExists: options.ifNotExists ?? false,
    exclude: options.exclude,
  };
}

/** Whether an error is a `SerializationError` (by code: the ESM and CommonJS copies may both load). */
export function isSerializationError(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "CACHETORY_SERIALIZATION";
}

/** Turns the wrapped function (or decorated method) into its memoized form; shared by both flavours. */
export function wrapOrDecorate<M extends AnyFunction>(
  target: AnyFunction,
  context: DecoratorContext | undefined,
  name: string | undefined,
  build: () => M,
): M {
  if (typeof target !== "function") throw new ConfigurationError("cached() wraps a function or decorates a method");
  if (context !== undefined && context.kind !== "method") {
    throw new ConfigurationError(`@cached decorates methods, not ${context.kind}s ("${String(context.name)}")`);
  }
  const memoized = build();
  if (context === undefined) nameWrapper(memoized, target, name);
  else nameMethod(memoized, context, name);
  return memoized;
}

const MISS: unique symbol = Symbol("cachetory.miss");

/**
 * Memoizes an async function in a `Cache`, as a wrapper or as a TC39 method decorator. Concurrent
 * calls with the same key share one computation (the cache is read once, the function runs once); a
 * stored `null` is a hit; a failing computation rejects every waiter and stores nothing. When the cache
 * fails (backend down, timeout, a value it cannot encode), the function still runs and its result is
 * returned; the failure goes to the cache's `onError`.
 *
 * @example
 * ```ts
 * const getUser = cached(cache, { timeToLive: "5m" })(async (id: number) => db.users.find(id));
 * await getUser(1);       // computed, then stored
 * await getUser(1);       // from the cache
 * await getUser.purge(1); // true: it was cached
 *
 * class Users {
 *   @cached(cache, { makeKey: makeDefaultHashedKey })
 *   async find(id: number): Promise<User | null> { … }
 * }
 * ```
 */
export function cached<V>(cache: CacheChoice<Cache<V>>, options: CachedOptions<V> = {}): CachedWrapper<V> {
  if (typeof cache !== "function") requireFlavour(cache, "async", "cached()");
  const plan = memoizePlan(options, "cached()");
  const waitTimeout = options.waitTimeout === undefined ? undefined : toMilliseconds(options.waitTimeout);
  const wrapper = (target: AnyFunction, context?: DecoratorContext, legacyName?: string): AnyFunction => {
    const original = target as unknown as (this: unknown, ...args: unknown[]) => Promise<V>;
    const flights = new WeakMap<Cache<V>, SingleFlight<V>>();

    async function store(chosen: Cache<V>, key: string, value: V, isCurrent: () => boolean): Promise<void> {
      if (plan.exclude !== undefined && (await plan.exclude(key, value))) return;
      const timeToLive = typeof plan.timeToLive === "function" ? await plan.timeToLive(key) : plan.timeToLive;
      // Purged since the computation began: the result is the caller's, but no longer the cache's.
      if (!isCurrent()) return;
      try {
        await chosen.set(key, value, { timeToLive, ifNotExists: plan.ifNotExists });
      } catch (error) {
        // `undefined` is a result like any other, but some serializers (JSON) cannot hold it.
        if (value === undefined && isSerializationError(error)) return;
        chosen.reportError(error, "set", key);
      }
    }

    async function lookupOrCompute(
      chosen: Cache<V>,
      key: string,
      self: unknown,
      args: unknown[],
      isCurrent: () => boolean,
    ): Promise<V> {
      let found: V | typeof MISS = MISS;
      try {
        found = await chosen.get(key, MISS);
      } catch (error) {
        chosen.reportError(error, "get", key);
      }
      if (found !== MISS) return found;
      const value = await original.apply(self, args);
      await store(chosen, key, value, isCurrent);
      return value;
    }

    /** A call with getOrSet's options: a `getOrSet` of the key, the function as its factory. */
    function readThrough(chosen: Cache<V>, key: string, self: unknown, args: unknown[], through: ReadThroughPlan) {
      const compute = (): Promise<V> => original.apply(self, args);
      if (typeof plan.timeToLive !== "function") return chosen[READ_THROUGH](key, compute, through, "miss");
      return Promise.resolve(plan.timeToLive(key)).then((timeToLive) =>
        chosen[READ_THROUGH](key, compute, withTimeToLive(through, toTimeToLive(timeToLive)), "miss"),
      );
    }

    return wrapOrDecorate(target, context, options.name ?? legacyName, () => {
      function run(self: unknown, chosen: Cache<V> | null, args: unknown[]): Promise<V> {
        if (chosen === null) return original.apply(self, args);
        const key = plan.makeKey.call(self, memoized, args);
        if (plan.readThrough !== undefined) return readThrough(chosen, key, self, args, plan.readThrough);
        // A hit in an in-process backend is answered at once: no flight, no promise per layer.
        const hit = chosen[PEEK](key, MISS);
        if (hit !== MISS) return Promise.resolve(hit);
        let flight = flights.get(chosen);
        if (flight === undefined) flights.set(chosen, (flight = new SingleFlight<V>(waitTimeout)));
        return flight.run(key, (isCurrent) => lookupOrCompute(chosen, key, self, args, isCurrent));
      }
      const memoized = Object.assign(
        // Not `async`: a hit then costs no extra promise and no extra turn of the event loop.
        function (this: unknown, ...args: unknown[]): Promise<V> {
          try {
            if (typeof cache !== "function") return run(this, cache, args);
            return Promise.resolve(cache(memoized, ...args)).then((chosen) =>
              run(this, requireFlavour(chosen, "async", "cached()"), args),
            );
          } catch (error) {
            return Promise.reject(asError(error));
          }
        },
        {
          async purge(this: unknown, ...args: unknown[]): Promise<boolean> {
            const chosen =
              typeof cache === "function" ? requireFlavour(await cache(memoized, ...args), "async", "cached()") : cache;
            if (chosen === null) return false;
            const key = plan.makeKey.call(this, memoized, args);
            // A computation still running began before the purge: no later call may join it or see it stored.
            flights.get(chosen)?.forget(key);
            return chosen.delete(key);
          },
        },
      );
      return memoized;
    });
  };
  return acceptingLegacyDecorators(wrapper, "cached") as unknown as CachedWrapper<V>;
}
