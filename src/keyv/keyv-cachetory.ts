import { EventEmitter } from "node:events";
import type { AsyncBackend } from "../backends/contract.js";
import { Cache, type CacheOptions } from "../cache/cache.js";
import { SerializationError } from "../errors.js";
import { redactUrl } from "../internal/cache-url.js";
import { escapeGlob } from "../internal/glob.js";
import type { Serializer } from "../serializers/contract.js";

/**
 * Options of {@link KeyvCachetory}: those of a `Cache` but its backend. The serializer defaults to one that
 * stores Keyv's own serialized text as it is (UTF-8 on a remote store), so that what Keyv writes is what
 * `@keyv/redis` would have written; give one (`"msgpack://"`) when Keyv is told not to serialize.
 *
 * @example
 * ```ts
 * new KeyvCachetory("redis://127.0.0.1:6379/0", { near: { maxEntries: 10_000 }, prefix: "app:" });
 * ```
 */
export type KeyvCachetoryOptions = Omit<CacheOptions<unknown>, "backend" | "serializer"> & {
  readonly serializer?: CacheOptions<unknown>["serializer"];
};

/**
 * One entry of Keyv's `setMany`, as Keyv hands it to its store: the key (namespace included), the text
 * Keyv serialized, and the time to live in milliseconds.
 *
 * @example
 * ```ts
 * await store.setMany([{ key: "keyv:a", value: '{"value":1}', ttl: 60_000 }]);
 * ```
 */
export interface KeyvEntry {
  readonly key: string;
  readonly value: unknown;
  readonly ttl?: number | undefined;
}

/**
 * Keyv's data as text: what Keyv serialized (a string) is stored as it is, and read back as a string
 * (a remote store answers bytes). Anything else is refused, saying what to do.
 */
const KEYV_TEXT: Serializer = {
  serialize(value) {
    if (typeof value === "string") return value;
    throw new SerializationError(
      `KeyvCachetory stores the text that Keyv serialized, got ${typeof value}: when Keyv is told not to serialize, give KeyvCachetory a serializer such as "msgpack://"`,
    );
  },
  deserialize(wire) {
    return wire instanceof Uint8Array ? Buffer.from(wire.buffer, wire.byteOffset, wire.byteLength).toString() : wire;
  },
};

/** The milliseconds Keyv gives, as a time to live: none for 0, a negative number or no number. */
function timeToLiveOf(ttl: unknown): number | undefined {
  return typeof ttl === "number" && Number.isFinite(ttl) && ttl > 0 ? Math.ceil(ttl) : undefined;
}

const PAGE = 100;

/**
 * A Keyv store over any cachetory backend: `new Keyv({ store: new KeyvCachetory("redis://…") })`, so that
 * Keyv, cache-manager and NestJS's `CacheModule` use cachetory's backends with their deadline, breaker,
 * error policy and near tier. Keyv prefixes keys with its namespace (`"keyv:"`), serializes values and
 * checks their expiry itself; this store keeps the text Keyv hands it, sets the time to live in the
 * backend too (so that Redis expires entries by itself), clears only the namespace, and iterates with
 * `SCAN`, never loading every key.
 *
 * Errors of the backend reject Keyv's calls (Keyv then emits them); with `failedReads: "miss"`, a read that
 * fails is a miss and is emitted here as an `error` event instead.
 *
 * @example
 * ```ts
 * import Keyv from "keyv";
 * import { KeyvCachetory } from "cachetory/keyv";
 *
 * const keyv = new Keyv({ store: new KeyvCachetory("redis://127.0.0.1:6379/0"), namespace: "users" });
 * await keyv.set("1", { name: "Ada" }, 60_000);
 * ```
 */
export class KeyvCachetory extends EventEmitter {
  /** What Keyv reads of its store's options: `url` (redacted) and `dialect` decide whether it iterates. */
  readonly opts: { readonly url: string; readonly dialect: string };
  /**
   * Keyv 5 sets it to its namespace (and prefixes keys with `"<namespace>:"` itself): `clear()` then keeps
   * to it. Declared, never initialised: Keyv 6 takes a store with a `namespace` property for one that
   * prefixes keys itself, so without one it prefixes them (`"<namespace>::"`) and clears a namespace
   * through `iterator()`.
   */
  declare namespace: string | undefined;
  /** The cache under the store: its stats, its close. */
  readonly cache: Cache;
  /** Whether we made the cache (and so close it); a cache handed in stays open. */
  readonly #ownsCache: boolean;

  constructor(backend: AsyncBackend | string | Cache, options: KeyvCachetoryOptions = {}) {
    super();
    this.#ownsCache = !(backend instanceof Cache);
    if (backend instanceof Cache) {
      this.cache = backend;
    } else {
      const { onError, ...rest } = options;
      this.cache = new Cache<unknown>({
        serializer: KEYV_TEXT,
        ...rest,
        backend,
        onError: (error, event) => {
          if (this.listenerCount("error") > 0) this.emit("error", error);
          return onError?.(error, event);
        },
      });
    }
    const url = typeof backend === "string" ? redactUrl(backend) : "cachetory://";
    // Keyv 5 offers iterator() only for the stores whose dialect it knows; Redis is the one this is
    // most often in front of, and what we do on every backend is what @keyv/redis does.
    this.opts = { url, dialect: "redis" };
  }

  /** The value Keyv stored under `key`, or `undefined`. */
  get(key: string): Promise<unknown> {
    return this.cache.get(key);
  }

  /** The values of `keys`, in order, `undefined` where absent. */
  async getMany(keys: string[]): Promise<unknown[]> {
    const found = await this.cache.getMany(...keys);
    return keys.map((key) => found.get(key));
  }

  /** Stores `value` for `ttl` milliseconds (none when absent or 0). */
  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    await this.cache.set(key, value, { timeToLive: timeToLiveOf(ttl) });
    return true;
  }

  /** Stores entries, one batch per time to live. */
  async setMany(entries: KeyvEntry[]): Promise<void> {
    const byTimeToLive = new Map<number | undefined, [string, unknown][]>();
    for (const { key, value, ttl } of entries) {
      const timeToLive = timeToLiveOf(ttl);
      const batch = byTimeToLive.get(timeToLive) ?? [];
      batch.push([key, value]);
      byTimeToLive.set(timeToLive, batch);
    }
    await Promise.all([...byTimeToLive].map(([timeToLive, batch]) => this.cache.setMany(batch, { timeToLive })));
  }

  /** Whether `key` is stored. */
  has(key: string): Promise<boolean> {
    return this.cache.has(key);
  }

  /** Whether each of `keys` is stored. */
  hasMany(keys: string[]): Promise<boolean[]> {
    return Promise.all(keys.map((key) => this.cache.has(key)));
  }

  /** Deletes `key`; whether it was there. */
  delete(key: string): Promise<boolean> {
    return this.cache.delete(key);
  }

  /** Deletes `keys`; whether any was there. */
  async deleteMany(keys: string[]): Promise<boolean> {
    return (await this.cache.deleteMany(...keys)) > 0;
  }

  /** Deletes the keys of Keyv's namespace (`"<namespace>:…"`), or, without one, everything the cache holds. */
  async clear(): Promise<void> {
    if (this.namespace === undefined || this.namespace === "") await this.cache.clear();
    else await this.cache.namespace(this.namespace).clear();
  }

  /**
   * The entries of `namespace` (keys with the namespace, as Keyv wants them), page by page: `SCAN` on
   * Redis, then one `MGET` per 100 keys.
   */
  async *iterator(namespace?: string): AsyncGenerator<[string, unknown], void> {
    const match = namespace === undefined || namespace === "" ? undefined : `${escapeGlob(namespace)}:*`;
    let page: string[] = [];
    for await (const key of this.cache.keys({ match })) {
      page.push(key);
      if (page.length < PAGE) continue;
      yield* this.#entriesOf(page);
      page = [];
    }
    if (page.length > 0) yield* this.#entriesOf(page);
  }

  /** The stored entries among `keys`, read in one `getMany`. */
  async *#entriesOf(keys: readonly string[]): AsyncGenerator<[string, unknown], void> {
    yield* await this.cache.getMany(...keys);
  }

  /** Closes the cache it made (and the backend it made from a URL); a cache handed in stays open. */
  async disconnect(): Promise<void> {
    if (this.#ownsCache) await this.cache.close();
  }
}
