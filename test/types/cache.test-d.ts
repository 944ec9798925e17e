/** Type tests: checked by `npm run typecheck`, never executed. */
import { expectTypeOf } from "expect-type";
import { Cache, type Duration, type SyncCache, memoryCache, toMilliseconds } from "../../src/index.js";
import { JsonSerializer, fromUrl as serializerFromUrl, type Serializer } from "../../src/serializers/index.js";

declare const cache: Cache<number>;
declare const syncCache: SyncCache<number>;

expectTypeOf(cache.get("k")).toEqualTypeOf<Promise<number | undefined>>();
expectTypeOf(cache.get("k", "fallback")).toEqualTypeOf<Promise<number | string>>();
expectTypeOf(cache.get("k", 0)).toEqualTypeOf<Promise<number>>();
expectTypeOf(cache.getMany("a", "b")).toEqualTypeOf<Promise<Map<string, number>>>();
expectTypeOf(cache.set("k", 1)).toEqualTypeOf<Promise<boolean>>();
expectTypeOf(cache.deleteMany("a")).toEqualTypeOf<Promise<number>>();
expectTypeOf(syncCache.get("k")).toEqualTypeOf<number | undefined>();
expectTypeOf(syncCache.get("k", null)).toEqualTypeOf<number | null>();
expectTypeOf(syncCache.getOrThrow("k")).toEqualTypeOf<number>();
expectTypeOf(memoryCache<string>()).toEqualTypeOf<Cache<string>>();
expectTypeOf<"5m">().toExtend<Duration>();
expectTypeOf<"1h30m">().toExtend<Duration>();
expectTypeOf<"1d2h3m4s">().toExtend<Duration>();
expectTypeOf<"1.5s">().toExtend<Duration>();
expectTypeOf<250>().toExtend<Duration>();
// @ts-expect-error: not a unit
void cache.set("k", 1, { timeToLive: "5 minutes" });
// @ts-expect-error: not a unit
void cache.set("k", 1, { timeToLive: "5x" });
// A string from configuration goes through toMilliseconds, which checks it when it runs.
declare const fromConfiguration: string;
void cache.set("k", 1, { timeToLive: toMilliseconds(fromConfiguration) });

// @ts-expect-error: a string is not a number
void cache.set("k", "text");
// @ts-expect-error: setMany values are checked too
void cache.setMany({ a: "text" });

// Serializers from URLs and constructors fit any value type.
new Cache<number>({ backend: "memory://", serializer: serializerFromUrl("json://") });
new Cache<number>({ backend: "memory://", serializer: new JsonSerializer() });
const custom: Serializer<Date, string> = {
  serialize: (value) => value.toISOString(),
  deserialize: (wire) => new Date(wire),
};
new Cache<Date>({ backend: "memory://", serializer: custom });
// @ts-expect-error: a serializer of another value type does not fit
new Cache<number>({ backend: "memory://", serializer: custom });

// getOrSet: the value's type, the factory's context, and the options' shapes.
expectTypeOf(cache.getOrSet("k", () => 1)).toEqualTypeOf<Promise<number>>();
expectTypeOf(
  cache.getOrSet("k", async ({ key, stale, signal }) => (key.length + (stale ?? 0)) * Number(signal.aborted)),
).toEqualTypeOf<Promise<number>>();
void cache.getOrSet("k", () => 1, {
  timeToLive: "5m",
  staleWhileRevalidate: "1m",
  grace: "1h",
  earlyRefresh: 1,
  timeout: { soft: "200ms", hard: "2s" },
  lock: "distributed",
  lockTimeout: "5s",
  tags: ["user:1"],
});
// @ts-expect-error: the factory's value must be the cache's
void cache.getOrSet("k", () => "text");
// @ts-expect-error: lock is "process" or "distributed"
void cache.getOrSet("k", () => 1, { lock: "cluster" });
expectTypeOf(
  syncCache.getOrSet("k", ({ stale }) => stale ?? 1, { timeToLive: "1m", tags: ["t"] }),
).toEqualTypeOf<number>();
// @ts-expect-error: no background work in the synchronous form
syncCache.getOrSet("k", () => 1, { staleWhileRevalidate: "1m" });
expectTypeOf(cache.namespace("users")).toEqualTypeOf<Cache<number>>();
