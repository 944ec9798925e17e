/** Type tests of memoization: checked by `npm run typecheck`, never executed. */
/* eslint-disable @typescript-eslint/unbound-method -- only the types of the methods are looked at */
import { expectTypeOf } from "expect-type";
import { type Cache, cached, cachedSync, makeDefaultHashedKey, purgeCached, type SyncCache } from "../../src/index.js";

interface User {
  readonly id: number;
}

declare const cache: Cache<User | null>;
declare const syncCache: SyncCache<number>;
declare function findUser(id: number, full?: boolean): Promise<User | null>;

// The wrapper keeps the signature and adds purge with the same parameters.
const getUser = cached(cache, { timeToLive: "5m" })(findUser);
expectTypeOf(getUser).parameters.toEqualTypeOf<[id: number, full?: boolean]>();
expectTypeOf(getUser).returns.toEqualTypeOf<Promise<User | null>>();
expectTypeOf(getUser.purge).parameters.toEqualTypeOf<[id: number, full?: boolean]>();
expectTypeOf(getUser.purge).returns.toEqualTypeOf<Promise<boolean>>();

// exclude sees the cache's value type; timeToLive may be a function of the key.
cached(cache, { exclude: (_key, value) => value === null, timeToLive: (key) => (key.length > 10 ? "1h" : null) });

// @ts-expect-error: the function's result must fit the cache's value type
cached(cache)(async (id: number) => `user ${String(id)}`);
// @ts-expect-error: cached() takes async functions; use cachedSync for sync ones
cached(cache)((id: number) => ({ id }));

const square = cachedSync(syncCache)((n: number) => n * n);
expectTypeOf(square).returns.toEqualTypeOf<number>();
expectTypeOf(square.purge).returns.toEqualTypeOf<boolean>();

// As TC39 method decorators, the method keeps its signature, `this` included.
export class Users {
  readonly table = "users";

  @cached(cache, { makeKey: makeDefaultHashedKey })
  async find(id: number): Promise<User | null> {
    return this.table === "users" ? { id } : null;
  }

  @cachedSync(syncCache)
  count(kind: string): number {
    return kind.length;
  }
}
declare const users: Users;
expectTypeOf(users.find).parameters.toEqualTypeOf<[id: number]>();
expectTypeOf(users.find).returns.toEqualTypeOf<Promise<User | null>>();
expectTypeOf(users.count).returns.toEqualTypeOf<number>();

// purgeCached reaches a decorated method's purge, typed: its arguments are the method's, its result the flavour's.
expectTypeOf(purgeCached(users, "find", 1)).toEqualTypeOf<Promise<boolean>>();
expectTypeOf(purgeCached(users, "count", "a")).toEqualTypeOf<boolean>();
// @ts-expect-error: the arguments must be the method's
void purgeCached(users, "find", "1");
// @ts-expect-error: only methods can be purged
void purgeCached(users, "table");
