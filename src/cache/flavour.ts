import { ConfigurationError } from "../errors.js";

/**
 * Which flavour a cache is (`"async"` or `"sync"`), on each class's prototype. A symbol from the global
 * registry, so that it reads the same across the ESM and CommonJS copies, where `instanceof` does not.
 */
export const CACHE_FLAVOUR: unique symbol = Symbol.for("cachetory.cacheFlavour");

/**
 * Checks that `cache` is of the flavour a memoizer needs; `null` (skip caching) passes.
 *
 * @throws ConfigurationError naming what was given and the memoizer to use instead.
 */
export function requireFlavour<C>(cache: C, flavour: "async" | "sync", memoizer: string): C {
  if (cache === null) return cache;
  const given = (cache as { [CACHE_FLAVOUR]?: unknown } | undefined)?.[CACHE_FLAVOUR];
  if (given === flavour) return cache;
  const what =
    given === "async"
      ? "an async Cache"
      : given === "sync"
        ? "a SyncCache"
        : `${typeof cache === "object" ? "an object" : `a ${typeof cache}`} that is not a cache`;
  const instead = given === "async" ? " (use cached())" : given === "sync" ? " (use cachedSync())" : "";
  throw new ConfigurationError(
    `${memoizer} needs ${flavour === "async" ? "an async Cache" : "a SyncCache"}, got ${what}${instead}`,
  );
}
