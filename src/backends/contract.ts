/**
 * The backend contract: ONE list of operations ({@link BackendOperations}), from which the sync
 * ({@link SyncBackend}) and the async ({@link AsyncBackend}) flavours are derived. This page is also
 * the guide to writing your own backend.
 *
 * The rules every backend follows (`backendConformance` of `cachetory/testing` checks them):
 * - Keys are arbitrary strings and arrive already prefixed; store them verbatim.
 * - A stored value comes back as it was handed over (`undefined` from `get` means absent).
 * - Times are whole milliseconds; `undefined` means "no expiry". An expired entry is absent for every
 *   operation: `set` with `ifNotExists` stores over it, `delete` reports `false`.
 * - Batches may be empty or hold duplicate keys; empty batches cost no round trip.
 * - Failures of the store are thrown (or rejected) as `BackendError`, with the cause attached and no
 *   credentials in the message.
 * - `close()` is idempotent.
 * - What a backend can do beyond the operations, it declares in `capabilities` ({@link BackendCapabilities});
 *   the cache asks that, never the backend's class or methods.
 *
 * Register a scheme so that URLs reach your backend:
 * ```ts
 * registerBackend("mystore", (url, parameters) => new MyStoreBackend(url.location, parameters.text("region")));
 * ```
 *
 * @module
 */

/** The names of the operations every backend has (`deleteIfUnchanged` is optional), and `close`. */
export type BackendOperationName = Exclude<keyof BackendOperations, "deleteIfUnchanged"> | "close";

/** The operations every backend has, by name: what the cache checks a backend object for. */
export const BACKEND_OPERATION_NAMES: readonly BackendOperationName[] = [
  "get",
  "getMany",
  "set",
  "setMany",
  "expireIn",
  "delete",
  "deleteMany",
  "has",
  "clear",
  "ttl",
  "scan",
  "close",
];

/**
 * What a cache needs of a backend it builds from a URL: handed to the scheme's factory, which honours what
 * it can (a factory that ignores it is fine: the cache checks `capabilities`).
 *
 * @example
 * ```ts
 * registerBackend("mystore", (url, parameters, { changeNotifications }) => new MyStoreBackend({ watch: changeNotifications }));
 * ```
 */
export interface BackendRequirements {
  /** A near tier will stand in front of it: declare `capabilities.changes` if the store can tell about changes. */
  readonly changeNotifications?: boolean | undefined;
}

/** Options of {@link BackendOperations.set}. */
export interface BackendSetOptions {
  /** Milliseconds until the entry expires (a positive integer); `undefined` for no expiry. */
  readonly timeToLive?: number | undefined;
  /** Store only when the key is absent. */
  readonly ifNotExists?: boolean | undefined;
}

/**
 * Options of {@link BackendOperations.scan}.
 *
 * @example
 * ```ts
 * const page = backend.scan("0", { match: "app:user:*", count: 500 });
 * ```
 */
export interface BackendScanOptions {
  /**
   * A glob over the stored keys, as Redis's `SCAN MATCH` reads it: `*` any run of characters, `?` one,
   * `[abc]`, `[^abc]` and `[a-z]` a class, `\` before a character takes it literally. Absent: every key.
   */
  readonly match?: string | undefined;
  /** About how many keys to look at for this page (a hint; a page may hold more or fewer). */
  readonly count?: number | undefined;
}

/** One page of {@link BackendOperations.scan}: the keys found, and where to go on (`"0"` when done). */
export interface BackendScanPage {
  /** Keys as stored (prefix included); a key may come twice in one scan. */
  readonly keys: readonly string[];
  /** The cursor of the next page; `"0"` when the scan is complete. */
  readonly cursor: string;
}

/**
 * The operations of a backend, written once in their synchronous shape.
 *
 * @typeParam W - What the backend stores (bytes or text for remote stores, anything for memory).
 */
export interface BackendOperations<W = unknown> {
  /** The stored value, or `undefined` when absent or expired. */
  get(key: string): W | undefined;
  /** The present entries among `keys`, keyed by key (duplicates collapse; absent keys are left out). */
  getMany(keys: readonly string[]): Map<string, W>;
  /** Stores `value`; `false` only when `ifNotExists` found the key present. */
  set(key: string, value: W, options: BackendSetOptions): boolean;
  /** Stores every entry, all with the same expiry; atomically where the store can. Later duplicates win. */
  setMany(entries: readonly (readonly [string, W])[], timeToLive: number | undefined): void;
  /** Sets (a number) or removes (`undefined`) the expiry of a present key; `false` when it is absent. */
  expireIn(key: string, timeToLive: number | undefined): boolean;
  /** Removes a key; whether it was present. */
  delete(key: string): boolean;
  /** Removes keys; how many distinct keys were present. */
  deleteMany(keys: readonly string[]): number;
  /** Whether the key is present (and not expired). */
  has(key: string): boolean;
  /** Removes every key that starts with `prefix`; with `""`, everything the backend holds. */
  clear(prefix: string): void;
  /**
   * The milliseconds `key` has left (at least 1); `null` when it never expires; `undefined` when it is
   * absent or expired.
   */
  ttl(key: string): number | null | undefined;
  /**
   * One page of the stored keys matching `options.match`, from `cursor` (`"0"` starts a scan). A key
   * present from the first page to the last is returned at least once; one written or deleted meanwhile
   * may or may not be. Pages are bounded, so that a large store is never listed at once (an in-process
   * store, which holds its keys already, may answer in one page).
   */
  scan(cursor: string, options: BackendScanOptions): BackendScanPage;
  /**
   * Removes `key` only while it still holds `value` (exactly as `get` returned it), so that a value
   * another writer stored since is never lost; whether it removed it. The cache uses it to delete a
   * stored value that did not decode. Optional: without it, such values are kept (answered as misses).
   */
  deleteIfUnchanged?(key: string, value: W): boolean;
}

/**
 * What a backend declares it can do beyond the operations. The cache and the memoizers decide by these,
 * never by the backend's class or methods; a backend that declares nothing gets the general path.
 *
 * @example
 * ```ts
 * class MyStoreBackend implements AsyncBackend<Uint8Array> {
 *   readonly capabilities: BackendCapabilities = { bytesOnly: true, atomicBatches: "all" };
 *   // … the operations
 * }
 * ```
 */
export interface BackendCapabilities<W = unknown> {
  /**
   * The same store, synchronously: an in-process backend offers it so that the async `Cache` (and `cached`)
   * can answer from it without a promise. Every operation through it must be what the async one would do.
   */
  readonly synchronous?: SyncBackend<W> | undefined;
  /** Stores bytes and text only (remote stores): a serializer must turn values into bytes first. */
  readonly bytesOnly?: boolean | undefined;
  /**
   * How much of one `setMany` lands at once: `"all"`, `"per-slot"` (a cluster: each hash slot's part is
   * atomic) or `"none"`. Undeclared means `"none"`.
   */
  readonly atomicBatches?: "all" | "per-slot" | "none" | undefined;
  /**
   * The store tells about changes to keys by any writer (Redis's `CLIENT TRACKING`): what a near tier in
   * front of it needs to stay coherent. See {@link ChangeNotifications}.
   */
  readonly changes?: ChangeNotifications<W> | undefined;
  /**
   * A near tier (a layer holding a copy of what it read) offers its copy synchronously here, so that the
   * cache answers a hit with no I/O and no decoding. See {@link NearView}.
   */
  readonly near?: NearView<W> | undefined;
  /**
   * Locks held in the store and fenced writes: what `getOrSet` with `lock: "distributed"` needs for one
   * computation across every instance. See {@link BackendLocks}.
   */
  readonly locks?: BackendLocks<W> | undefined;
}

/**
 * Where a fenced write finds the version of what a key holds: a value that begins with `marker` carries,
 * at `offset`, `digits` hexadecimal digits of its fence; any other value is newer than every fence.
 */
export interface WriteFence {
  /** The bytes a fenced value begins with. */
  readonly marker: Uint8Array;
  /** Where its fence starts (0-based). */
  readonly offset: number;
  /** How many hexadecimal digits the fence has. */
  readonly digits: number;
  /** The fence of the value being written. */
  readonly value: number;
}

/**
 * Locks that every instance sharing the store sees, and writes that never replace a newer value. Not a
 * public lock API: it serves `getOrSet`'s single flight across instances.
 *
 * @example
 * ```ts
 * const locks = backend.capabilities?.locks;
 * if (await locks?.acquire("app:user:1\u0000lock", token, 5000)) {
 *   try { await locks.setFenced("app:user:1", bytes, 60_000, fence); } finally { await locks.release("app:user:1\u0000lock", token); }
 * }
 * ```
 */
export interface BackendLocks<W = unknown> {
  /**
   * Takes lock `name` for `timeToLive` milliseconds under `token` unless it is held, in one atomic step:
   * `true` when taken, else the token of its holder (so that a waiter sees the lock change hands).
   */
  acquire(name: string, token: string, timeToLive: number): Promise<true | string>;
  /** Releases lock `name` only while it still holds `token`; whether it did. */
  release(name: string, token: string): Promise<boolean>;
  /**
   * Stores `value` under `key` for `timeToLive` milliseconds (`undefined`: no expiry) unless the key holds
   * a value whose fence is `fence.value` or more, or a value without a fence; whether it stored, in one
   * atomic step.
   */
  setFenced(key: string, value: W, timeToLive: number | undefined, fence: WriteFence): Promise<boolean>;
}

/** A stored value with the time it has left: what {@link ChangeNotifications.readWatched} returns. */
export interface WatchedValue<W = unknown> {
  /** The stored value. */
  readonly value: W;
  /** Milliseconds the key has left, as the store said when it answered; `undefined` when it never expires. */
  readonly timeToLive: number | undefined;
}

/**
 * Told what changed. The backend calls it synchronously, before it settles any read whose reply arrived
 * after the change.
 */
export interface ChangeListener {
  /** These keys (as stored, prefix included) were written, deleted, expired or evicted by anyone. */
  changed(keys: readonly string[]): void;
  /**
   * Changes may have gone unseen (the connection dropped or came back, the server was flushed or
   * restarted, a cluster's slots moved): nothing read before this is known current.
   */
  lost(): void;
}

/**
 * What a backend offers when it can tell about changes, as its `changes` capability.
 *
 * The promise: from the moment a read (through {@link readWatched} or {@link readManyWatched}) or a write
 * through this backend has completed, every later change to that key, by any client, is delivered to the
 * listeners as `changed`, or the listeners are told `lost`; a change is delivered before any read
 * whose reply the store sent after it settles; and a change made after a write of ours took effect is
 * delivered after that write settles (so a change told while the write was in flight is one it replaced).
 *
 * @example
 * ```ts
 * const changes = backend.capabilities?.changes;
 * const stop = changes?.subscribe({ changed: (keys) => forget(keys), lost: () => forgetAll() });
 * const found = await changes?.readWatched("app:user:1"); // { value, timeToLive } or undefined
 * ```
 */
export interface ChangeNotifications<W = unknown> {
  /** Starts telling `listener` about changes; returns the function that stops it. */
  subscribe(listener: ChangeListener): () => void;
  /** Reads `key` and watches it from then on; with the time it has left, in one round trip. */
  readWatched(key: string): Promise<WatchedValue<W> | undefined>;
  /** Reads and watches several keys in one round trip (per hash slot on a cluster); absent ones are left out. */
  readManyWatched(keys: readonly string[]): Promise<Map<string, WatchedValue<W>>>;
}

/**
 * A synchronous backend, as `SyncCache` uses.
 *
 * @example
 * ```ts
 * const backend: SyncBackend = new MemoryBackend({ maxEntries: 1000 });
 * backend.set("a", "1", {});
 * ```
 */
export interface SyncBackend<W = unknown> extends BackendOperations<W> {
  /** What it can do beyond the operations (`synchronous` has no meaning here). */
  readonly capabilities?: Omit<BackendCapabilities<W>, "synchronous"> | undefined;
  /** Releases connections and timers; idempotent. */
  close(): void;
}

/**
 * An asynchronous backend, as `Cache` uses: every operation of {@link BackendOperations}, returning
 * a promise.
 *
 * @example
 * ```ts
 * const backend: AsyncBackend = backends.fromUrl("memory://?max-entries=1000");
 * await backend.set("a", "1", {});
 * ```
 */
export type AsyncBackend<W = unknown> = {
  [Operation in keyof BackendOperations<W>]: (
    ...parameters: Parameters<NonNullable<BackendOperations<W>[Operation]>>
  ) => Promise<ReturnType<NonNullable<BackendOperations<W>[Operation]>>>;
} & {
  /** What it can do beyond the operations; none declared means the general path. */
  readonly capabilities?: BackendCapabilities<W> | undefined;
  /** Releases connections and timers; idempotent. */
  close(): Promise<void>;
};

/** What a near tier counts, as `cache.stats.near` shows it. */
export interface NearStats {
  /** Reads answered near, with no I/O. */
  readonly hits: number;
  /** Reads that went to the backend. */
  readonly misses: number;
  /** Entries held now. */
  readonly entries: number;
  /** Entries removed because the backend said their key changed. */
  readonly invalidations: number;
  /** Times the near tier was emptied because changes may have gone unseen (a dropped connection, a flush). */
  readonly flushes: number;
}

/**
 * One entry held near: the stored value as the backend returned it, and the slot where the cache above
 * keeps its decoded form, so that a hit costs no decoding.
 */
export interface NearEntry<W = unknown> {
  /** The value as stored in the backend. */
  readonly stored: W;
  /** The decoded value, once `decodedBy` decoded it. */
  decoded: unknown;
  /** Who decoded it (the cache's codec): a slot filled by someone else is not theirs to trust. */
  decodedBy: object | undefined;
}

/**
 * The synchronous view of a near tier, as its `near` capability: what the cache reads on the hot path.
 *
 * @example
 * ```ts
 * const entry = backend.capabilities?.near?.peek("app:user:1"); // no I/O
 * ```
 */
export interface NearView<W = unknown> {
  /** The entry of `key` when it is held near and current (counted as a hit), else `undefined` (a miss). */
  peek(key: string): NearEntry<W> | undefined;
  /**
   * Keeps `decoded` as the decoded form of `key`'s entry, when the entry still holds `stored` (the value
   * the caller decoded): a value read from the backend is then decoded once, on the miss.
   */
  remember(key: string, stored: W, decoded: unknown, decodedBy: object): void;
  /**
   * The last entry of `key` read or written while it was current, held near or set aside when the tier
   * was emptied, for as long as the backend said the key would live; not counted. Only for serving a
   * stale value when the backend fails (`getOrSet`'s `grace`): it may predate changes made since.
   */
  fallback(key: string): NearEntry<W> | undefined;
  /** The counters. */
  readonly stats: NearStats;
}
