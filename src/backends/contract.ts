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
  "close",
];

/** Options of {@link BackendOperations.set}. */
export interface BackendSetOptions {
  /** Milliseconds until the entry expires (a positive integer); `undefined` for no expiry. */
  readonly timeToLive?: number | undefined;
  /** Store only when the key is absent. */
  readonly ifNotExists?: boolean | undefined;
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
