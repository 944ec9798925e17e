import { ConfigurationError } from "../errors.js";

/** The names of `T`'s methods. */
export type MethodName<T> = { [K in keyof T]: T[K] extends (...args: never[]) => unknown ? K : never }[keyof T];

/** The parameters of method `K` of `T`. */
export type MethodParameters<T, K extends keyof T> = T[K] extends (...args: infer A) => unknown ? A : never;

/** What purging method `K` of `T` returns: a promise for an async method (`cached`), a boolean for `cachedSync`. */
export type PurgeResult<T, K extends keyof T> = T[K] extends (...args: never[]) => PromiseLike<unknown>
  ? Promise<boolean>
  : boolean;

/**
 * Deletes the cached result of a method decorated with `@cached` or `@cachedSync` for `args`, as `purge` does for
 * a wrapped function: TypeScript cannot add `purge` to the type of a decorated method, so this reaches it, typed,
 * without a cast. The method's `makeKey` sees `instance` as `this`, as a call does. For `cached`, a computation of
 * the same arguments still running is overtaken (no later call joins it; its result is not stored).
 *
 * @returns Whether a cached value existed: a promise for `@cached`, a boolean for `@cachedSync`.
 * @throws ConfigurationError when the method is not decorated by `@cached` or `@cachedSync`.
 * @example
 * ```ts
 * class Users {
 *   @cached(cache)
 *   async find(id: number): Promise<User | null> { return db.users.find(id); }
 * }
 * const users = new Users();
 * await purgeCached(users, "find", 1); // true: a cached value existed
 * ```
 */
export function purgeCached<T extends object, K extends MethodName<T>>(
  instance: T,
  method: K,
  ...args: MethodParameters<T, K>
): PurgeResult<T, K> {
  const memoized = (instance as Record<PropertyKey, unknown>)[method];
  const purge = (memoized as { purge?: unknown } | null | undefined)?.purge;
  if (typeof purge !== "function") {
    throw new ConfigurationError(
      `purgeCached(): the method "${String(method)}" is not decorated by @cached or @cachedSync, so it has nothing cached`,
    );
  }
  return (purge as (...args: unknown[]) => PurgeResult<T, K>).apply(instance, args);
}
