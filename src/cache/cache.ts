import type { AsyncBackend, BackendScanPage, BackendSetOptions, NearView, SyncBackend } from "../backends/contract.js";
import { KEYS_PAGE, type KeysOptions, listedKeys, scanPattern } from "./key-listing.js";
import { fromUrl as backendFromUrl } from "../backends/registry.js";
import { type Duration, toTimeToLive } from "../duration.js";
import { ConfigurationError } from "../errors.js";
import { asError } from "../internal/error-kinds.js";
import { CacheBase, type CacheCounts, PARENT_CORE } from "./cache-core.js";
import { type Codec, UNDECODABLE } from "./codec.js";
import { CACHE_FLAVOUR } from "./flavour.js";
import {
  backendSetOptions,
  checkCacheOptions,
  entryPairs,
  setManyTimeToLive,
  type CacheEntries,
  type CacheOptionsBase,
  type SetManyOptions,
  type SetOptions,
} from "./options.js";
import { KeyOrder } from "./key-order.js";
import { NearBackend } from "../layers/near.js";
import { type NearOptions, nearTierOptions } from "./near-options.js";
import { ReadThrough, type ReadFailureMode, type ReadOutcome, type ReadThroughStats } from "./get-or-set.js";
import {
  checkedTags,
  type Factory,
  type GetOrSetOptions,
  type ReadThroughPlan,
  readThroughPlan,
} from "./get-or-set-options.js";
import { hasTags, TAGGED } from "./envelope.js";
import { NEEDS_READ, type PrefetchedStates, TagStates } from "../tags/tag-states.js";
import { GONE } from "../tags/tag-state.js";
import { OPERATION_CHANNEL, type OperationContext, tracing } from "../observability/channels.js";
import type { OperationStats } from "../observability/operation-stats.js";

const ABSENT: unique symbol = Symbol("cachetory.absent");
/** The fallback a traced `get` passes down, to tell a miss from a stored value equal to the caller's fallback. */
const MISSED: unique symbol = Symbol("cachetory.missed");
const NOT_AT_HAND: unique symbol = Symbol("cachetory.notAtHand");

/**
 * The key of {@link Cache}'s method that answers a read at once when it can, for `cached`: a protocol
 * between cachetory's own modules, kept out of the published types.
 *
 * @internal
 */
export const PEEK: unique symbol = Symbol.for("cachetory.peek");

/**
 * The key of {@link Cache}'s `getOrSet` with options checked beforehand and a choice of what a failed read
 * does, for `cached`: a protocol between cachetory's own modules.
 *
 * @internal
 */
export const READ_THROUGH: unique symbol = Symbol.for("cachetory.readThrough");

const DEFAULT_PLAN: ReadThroughPlan = readThroughPlan(undefined);

/** The option by which {@link Cache.namespace} builds a view: a symbol, so no caller can pass it by accident. */
const NAMESPACE_OF: unique symbol = Symbol("cachetory.namespaceOf");

/** What a namespace takes from the cache it views (its core travels as `PARENT_CORE`). */
interface ParentView<V> {
  readonly readThrough: ReadThrough<V>;
  readonly tags: TagStates;
}

/** Options of {@link Cache}. */
export interface CacheOptions<V> extends CacheOptionsBase<V> {
  /** An async backend, or its URL (`"memory://"`, `"dummy://"`). */
  readonly backend: AsyncBackend | string;
  /**
   * An in-process tier in front of the backend: hits cost no I/O and no decoding (they return the decoded
   * value, shared between callers). Over Redis it is kept coherent with every writer by Redis itself
   * (`CLIENT TRACKING`); over a backend that cannot tell about changes it needs a `timeToLive`, which
   * bounds how stale a read may be. `true` for the defaults, options, or `"memory://?max-entries=10000"`.
   * See docs/near-cache.md.
   *
   * @example
   * ```ts
   * new Cache({ backend: "redis://127.0.0.1:6379/0", serializer: "msgpack://", near: { maxEntries: 10_000 } });
   * ```
   */
  readonly near?: boolean | NearOptions | string | undefined;
}

/** What `cache.stats` counts: the failures, `getOrSet`'s stale hits and refreshes, and the near tier's counters. */
export interface AsyncCacheStats extends CacheCounts, ReadThroughStats {
  /** The near tier's counters (`hits`, `misses`, `entries`, `invalidations`, `flushes`), with `near` only. */
  readonly near?: NearView["stats"] | undefined;
}

/**
 * The asynchronous cache: one API over any backend and any serializer chain, both configurable from
 * URLs. Every operation returns a promise; failures reject with a `CacheError` subclass.
 *
 * @typeParam V - The type of the cached values.
 * @example
 * ```ts
 * await using cache = new Cache<number>({ backend: "memory://", serializer: "json://", prefix: "app:" });
 * await cache.set("answer", 42, { timeToLive: "5m" });
 * await cache.get("answer");     // 42
 * await cache.get("absent", 0);  // 0
 * ```
 */
export class Cache<V = unknown> extends CacheBase<V, AsyncBackend> implements AsyncDisposable {
  /** The backend's `synchronous` capability (an in-process store), for reads: answered without a promise. */
  readonly #inProcess: SyncBackend | undefined;
  /** The same for writes. */
  readonly #inProcessWrites: SyncBackend | undefined;
  /** The core's codec, held here too: one property load less on the hottest path. */
  readonly #codec: Codec<V>;
  /**
   * Keeps the operations on a key in issue order when some must wait before they are sent: with a
   * serializer that encodes off the event loop from the start, else from the first tagged write that
   * had to read its tags' states.
   */
  #order: KeyOrder | undefined;
  /** The tags' states (shared with the namespaces). */
  readonly #tags: TagStates;
  /** The core's counters, held here too for the hot paths. */
  readonly #counts: OperationStats;
  /** The near tier's synchronous view, with `near`. */
  readonly #near: NearView | undefined;
  readonly #readThrough: ReadThrough<V>;
  /** For a namespace: the cache it views, which owns the backend. */
  readonly #parent: ParentView<V> | undefined;
  /** The options it was built with, for its namespaces. */
  readonly #options: CacheOptions<V>;
  /** Options objects already checked (callers often pass the same one on every call). */
  readonly #plans = new WeakMap<GetOrSetOptions, ReadThroughPlan>();
  /** The options of the last call and their plan: a loop over one options object skips even the WeakMap. */
  #lastOptions: GetOrSetOptions | undefined;
  #lastPlan: ReadThroughPlan | undefined;

  /**
   * @throws ConfigurationError for a bad backend or serializer URL, or a `near` option the backend cannot
   *   carry (one that cannot tell about changes, without `near.timeToLive`).
   */
  constructor(options: CacheOptions<V>) {
    checkCacheOptions(options, "Cache");
    const parent = (options as { [NAMESPACE_OF]?: ParentView<V> })[NAMESPACE_OF];
    const near = nearTierOptions(options.near);
    const backend =
      typeof options.backend === "string"
        ? backendFromUrl(options.backend, { changeNotifications: near !== undefined })
        : options.backend;
    const backendName =
      typeof options.backend === "string" ? `${options.backend.split("://")[0] ?? ""}://` : backend.constructor.name;
    super(options, near === undefined ? backend : new NearBackend(backend, { ...near, backendName }));
    this.#parent = parent;
    this.#options = options;
    this.#near = this.backend.capabilities?.near;
    // A compressing serializer may move large values off the event loop: decoding then needs the promise
    // path, so the synchronous view serves only writes (by then the value is encoded).
    this.#inProcess = this.core.serializesAsync ? undefined : this.backend.capabilities?.synchronous;
    this.#inProcessWrites = this.backend.capabilities?.synchronous;
    this.#codec = this.core.codec;
    this.#counts = this.core.counts;
    this.#order = this.core.serializesAsync ? new KeyOrder() : undefined;
    this.#tags =
      parent?.tags ??
      new TagStates({
        backend: this.backend,
        inProcess: this.#inProcessWrites,
        near: this.#near,
        rootPrefix: this.core.prefix,
      });
    this.#readThrough = new ReadThrough<V>(
      {
        core: this.core,
        backend: this.backend,
        inProcess: this.#inProcess,
        near: this.#near,
        tags: this.#tags,
        counts: this.core.counts,
        read: (backendKey) => this.#inOrder([backendKey], () => this.backend.get(backendKey)),
        write: (backendKey, wire, timeToLive) =>
          this.#inOrder([backendKey], () => {
            const local = this.#inProcessWrites;
            if (local !== undefined) return Promise.resolve(local.set(backendKey, wire, { timeToLive }));
            return this.backend.set(backendKey, wire, { timeToLive });
          }),
        deleteUndecodable: (backendKey, wire, key) => this.#deleteUndecodable([[backendKey, wire]], key),
        discard: (backendKey, wire) => {
          this.#discard(backendKey, wire);
        },
      },
      parent?.readThrough,
    );
  }

  /**
   * A view of this cache under `name:`: the same backend (and near tier), serializer and options, its keys
   * prefixed with this cache's prefix and `name:`, its `clear()` removing only its own entries. Namespaces
   * nest (`users.namespace("admins")` is under `users:admins:`). Closing a namespace closes only the view;
   * closing the cache closes its namespaces too. A namespace has its own `stats` (the near tier's are shared).
   *
   * @throws ConfigurationError for a name that is not a non-empty string.
   * @example
   * ```ts
   * const users = cache.namespace("users");
   * await users.set("1", user); // stored under "users:1"
   * await users.clear();        // removes users:*, nothing else
   * ```
   */
  namespace(name: string): Cache<V> {
    if (typeof name !== "string" || name === "") {
      throw new ConfigurationError(
        `namespace() takes a non-empty string, got ${typeof name === "string" ? "an empty string" : typeof name}`,
      );
    }
    this.core.assertOpen();
    const { near: _near, ...shared } = this.#options;
    return new Cache<V>({
      ...shared,
      backend: this.backend,
      serializer: this.serializer,
      prefix: `${this.prefix}${name}:`,
      [NAMESPACE_OF]: { readThrough: this.#readThrough, tags: this.#tags },
      [PARENT_CORE]: this.core,
    } as CacheOptions<V>);
  }

  static {
    Object.defineProperty(this.prototype, CACHE_FLAVOUR, { value: "async" });
  }

  /**
   * The value of `key` when the backend is in-process, holds it and it decodes, else `miss` (absent,
   * remote or failed: the caller then takes the promise path, which reports and decides by the policy).
   *
   * @internal
   */
  [PEEK]<M>(key: string, miss: M): V | M {
    const value = this.#peek(key);
    return value === ABSENT || value === NOT_AT_HAND ? miss : value;
  }

  /**
   * The value of `key`, or `fallback` (default `undefined`) when it is absent or expired.
   *
   * @throws BackendError when the store fails (unless `failedReads: "miss"`); SerializationError when the
   *   stored bytes cannot be decoded and `undecodableValues` is `"throw"` (otherwise that is a miss).
   */
  get(key: string): Promise<V | undefined>;
  get<D>(key: string, fallback: D): Promise<V | D>;
  get<D>(key: string, fallback?: D): Promise<V | D | undefined> {
    if (tracing()) return this.#getTraced(key, fallback);
    const value = this.#peek(key);
    if (value === ABSENT) {
      this.#counts.misses++;
      return Promise.resolve(fallback);
    }
    if (value === NOT_AT_HAND) return this.#getThroughBackend(key, fallback);
    this.#countHit();
    return Promise.resolve(value);
  }

  /** A hit answered at once: by the in-process store, else by the near tier. */
  #countHit(): void {
    const counts = this.#counts;
    counts.hits++;
    if (this.#inProcess === undefined) counts.nearHits++;
  }

  /** `get` with a subscriber on `cachetory:operation`: the same, telling the trace how it was answered. */
  #getTraced<D>(key: string, fallback: D | undefined): Promise<V | D | undefined> {
    const context = this.core.traceContext("get", key);
    return this.#traced(context, () => {
      context.stale = false;
      const value = this.#peek(key);
      if (value === ABSENT || value === NOT_AT_HAND) {
        context.tier = "backend";
        if (value === ABSENT) {
          this.#counts.misses++;
          context.hit = false;
          return Promise.resolve(fallback);
        }
        return this.#getThroughBackend<typeof MISSED>(key, MISSED).then((found) => {
          context.hit = found !== MISSED;
          return found === MISSED ? fallback : found;
        });
      }
      this.#countHit();
      context.hit = true;
      context.tier = this.#inProcess === undefined ? "near" : "backend";
      return Promise.resolve(value);
    });
  }

  /** Runs `run` inside the operation channel's trace (only called when someone listens). */
  #traced<T>(context: OperationContext, run: () => Promise<T>): Promise<T> {
    return OPERATION_CHANNEL.tracePromise(() => {
      try {
        return run();
      } catch (error) {
        return Promise.reject(asError(error));
      }
    }, context);
  }

  /**
   * Reads `key` from an in-process backend without a promise: its value, `ABSENT`, or `NOT_AT_HAND`
   * when the backend is remote or anything went wrong (the promise path then reads again, and reports
   * and decides by the policy).
   */
  #peek(key: string): V | typeof ABSENT | typeof NOT_AT_HAND {
    if (typeof key !== "string" || this.core.closed) return NOT_AT_HAND;
    const local = this.#inProcess;
    if (local === undefined) return this.#near === undefined ? NOT_AT_HAND : this.#peekNear(key, this.#near);
    let wire: unknown;
    try {
      wire = local.get(this.core.prefix + key);
    } catch {
      return NOT_AT_HAND;
    }
    if (wire === undefined) return ABSENT;
    const value = this.#codec.decodeUnlessTagged(key, wire);
    if (value === UNDECODABLE) return NOT_AT_HAND;
    // Kept out of this path: an entry with tags, whose states decide first.
    return value === TAGGED ? this.#peekTagged(key, wire) : value;
  }

  /** {@link Cache.#peek} of a tagged entry of an in-process store: its tags' states decide first. */
  #peekTagged(key: string, wire: unknown): V | typeof ABSENT | typeof NOT_AT_HAND {
    const admitted = this.#tags.admitAtHand(wire);
    if (admitted === NEEDS_READ) return NOT_AT_HAND;
    if (admitted === GONE) {
      // A sealed cache checks the seal of what it removes, which may throw: the promise path does that.
      if (this.#codec.sealed) return NOT_AT_HAND;
      this.#discard(this.core.prefix + key, wire);
      return ABSENT;
    }
    const value = this.#codec.decodeQuietly(key, admitted);
    return value === UNDECODABLE ? NOT_AT_HAND : value;
  }

  /**
   * The decoded value of `key` when the near tier holds it (decoded once, then shared), else `NOT_AT_HAND`:
   * absence near says nothing of the backend.
   */
  #peekNear(key: string, near: NearView): V | typeof NOT_AT_HAND {
    const entry = near.peek(this.core.prefix + key);
    if (entry === undefined) return NOT_AT_HAND;
    const codec = this.#codec;
    // Decoded by us and known to have no tags: the hot path.
    if (entry.decodedBy === codec) return entry.decoded as V;
    let owner: object = codec;
    if (hasTags(entry.stored)) {
      // Held near, but its tags' states decide; the promise path reads what is not at hand.
      const admitted = this.#tags.admitAtHand(entry.stored);
      if (admitted === NEEDS_READ || admitted === GONE) return NOT_AT_HAND;
      owner = codec.taggedOwner;
      if (entry.decodedBy === owner) return entry.decoded as V;
    }
    // Off-thread decoding needs the promise path, which decodes and remembers.
    if (this.core.serializesAsync) return NOT_AT_HAND;
    const value = codec.decodeQuietly(key, entry.stored);
    if (value === UNDECODABLE) return NOT_AT_HAND;
    entry.decoded = value;
    entry.decodedBy = owner;
    return value;
  }

  /** A backend `get` as one promise chain (this path runs for every Redis read). */
  /** A miss of a `get`, counted. */
  #missed<D>(fallback: D): D {
    this.#counts.misses++;
    return fallback;
  }

  /** A `get` whose read failed: a counted miss, thrown or answered by the policy. */
  #getFailed<D>(cause: unknown, key: string, fallback: D): D {
    this.#counts.misses++;
    const error = this.core.policy.readFailed("get", cause, key);
    if (error !== undefined) throw error;
    return fallback;
  }

  #getThroughBackend<D>(key: string, fallback: D | undefined): Promise<V | D | undefined> {
    let backendKey: string;
    let read: Promise<unknown>;
    let prefetched: PrefetchedStates | undefined;
    try {
      backendKey = this.core.backendKey(key);
      read = this.#inOrder([backendKey], () => this.backend.get(backendKey));
      // A key whose entry had tags: their states in the same round trip.
      prefetched = this.#tags.prefetchFor(backendKey);
    } catch (error) {
      return Promise.reject(asError(error));
    }
    if (prefetched !== undefined) return this.#getPrefetched(key, backendKey, read, prefetched, fallback);
    return read.then(
      (wire) => {
        if (wire === undefined) return this.#missed(fallback);
        if (hasTags(wire)) return this.#getTagged(key, backendKey, wire, fallback, undefined);
        return this.#decodedRead(key, backendKey, wire, wire, fallback);
      },
      (cause: unknown) => this.#getFailed(cause, key, fallback),
    );
  }

  /**
   * A `get` of a key whose entry had tags: the entry and its tags' states awaited together (one round
   * trip, one continuation), judged at once when the entry still has those tags.
   */
  #getPrefetched<D>(
    key: string,
    backendKey: string,
    read: Promise<unknown>,
    prefetched: PrefetchedStates,
    fallback: D | undefined,
  ): Promise<V | D | undefined> {
    return Promise.all([read, prefetched.states]).then(
      ([wire, states]) => {
        if (wire === undefined) return this.#missed(fallback);
        if (!hasTags(wire)) {
          this.#tags.forgetRecent(backendKey);
          return this.#decodedRead(key, backendKey, wire, wire, fallback);
        }
        const admitted = this.#tags.admitWith(wire, prefetched, states);
        if (admitted === NEEDS_READ) return this.#getTagged(key, backendKey, wire, fallback, undefined);
        if (admitted === GONE) {
          this.#discard(backendKey, wire);
          return this.#missed(fallback);
        }
        return this.#decodedRead(key, backendKey, wire, admitted, fallback);
      },
      (cause: unknown) => this.#getFailed(cause, key, fallback),
    );
  }

  /**
   * Decodes `seen` (what a `get` read, as its reader is to see it); `stored` is what the backend holds,
   * deleted when it does not decode.
   */
  #decodedRead<D>(
    key: string,
    backendKey: string,
    stored: unknown,
    seen: unknown,
    fallback: D | undefined,
  ): V | D | undefined | Promise<V | D | undefined> {
    if (this.core.serializesAsync) {
      return this.core
        .decodeStoredAsync(key, seen)
        .then((value) => this.#decoded(value, backendKey, stored, key, fallback));
    }
    return this.#decoded(this.core.decodeStored(key, seen), backendKey, stored, key, fallback);
  }

  /** The rest of a `get` that read a tagged entry: its tags' states decide, then it decodes. */
  async #getTagged<D>(
    key: string,
    backendKey: string,
    wire: unknown,
    fallback: D | undefined,
    prefetched: PrefetchedStates | undefined,
  ): Promise<V | D | undefined> {
    let admitted: unknown;
    try {
      admitted = await this.#tags.admit(wire, backendKey, prefetched);
    } catch (cause) {
      return this.#getFailed(cause, key, fallback);
    }
    if (admitted === GONE) {
      this.#discard(backendKey, wire);
      return this.#missed(fallback);
    }
    return this.#decodedRead(key, backendKey, wire, admitted, fallback);
  }

  #decoded<D>(
    value: V | typeof UNDECODABLE,
    backendKey: string,
    wire: unknown,
    key: string,
    fallback: D | undefined,
  ): V | D | undefined | Promise<D | undefined> {
    if (value !== UNDECODABLE) {
      this.#counts.hits++;
      this.#near?.remember(backendKey, wire, value, this.#codec.ownerFor(wire));
      return value;
    }
    this.#counts.misses++;
    return this.#deleteUndecodable([[backendKey, wire]], key).then(() => fallback);
  }

  /**
   * The value of `key`, computed by `factory` when there is none: read-through caching with
   * stale-while-revalidate, grace when things fail, early refresh, factory timeouts, and one computation
   * per key in this process (or across every instance with `lock: "distributed"`). A fresh value is
   * returned; a stale one at once while one refresh runs in the background; one in grace only when the
   * refresh fails or is slower than `timeout.soft`; past that the factory runs and every caller waits for
   * it. The table of every case is in docs/get-or-set.md.
   *
   * @throws what `factory` throws when there is no stale value to serve (nothing is stored then);
   *   `CacheTimeoutError` past `timeout.hard`; `BackendError` when the backend fails, no stale value is at
   *   hand and `failedReads` is `"throw"`; `ConfigurationError` for bad options.
   * @example
   * ```ts
   * const user = await cache.getOrSet("user:1", ({ signal }) => db.users.find(1, { signal }), {
   *   timeToLive: "5m", staleWhileRevalidate: "1m", grace: "1h", timeout: { soft: "200ms", hard: "2s" },
   * });
   * ```
   */
  getOrSet(key: string, factory: Factory<V>, options?: GetOrSetOptions): Promise<V> {
    try {
      const plan = this.#plan(options);
      if (!tracing()) return this[READ_THROUGH](key, factory, plan, "policy");
      const context = this.core.traceContext("getOrSet", key);
      const outcome: ReadOutcome = { tier: "backend", hit: false, stale: false };
      const told = (): void => {
        context.hit = outcome.hit;
        context.tier = outcome.tier;
        context.stale = outcome.stale;
      };
      return this.#traced(context, () =>
        this[READ_THROUGH](key, factory, plan, "policy", outcome).then(
          (value) => {
            told();
            return value;
          },
          (error: unknown) => {
            told();
            throw error;
          },
        ),
      );
    } catch (error) {
      return Promise.reject(asError(error));
    }
  }

  /**
   * {@link Cache.getOrSet} with its options checked already; `mode` says what a failed read becomes.
   *
   * @internal
   */
  [READ_THROUGH](
    key: string,
    factory: Factory<V>,
    plan: ReadThroughPlan,
    mode: ReadFailureMode,
    outcome?: ReadOutcome,
  ): Promise<V> {
    if (typeof factory !== "function") {
      throw new TypeError(`getOrSet(key, factory, options) needs a factory function, got ${typeof factory}`);
    }
    return this.#readThrough.getOrSet(key, factory, plan, mode, outcome);
  }

  #plan(options: GetOrSetOptions | undefined): ReadThroughPlan {
    if (options === undefined) return DEFAULT_PLAN;
    if (options === this.#lastOptions && this.#lastPlan !== undefined) return this.#lastPlan;
    // Callers without types may pass anything: the check names it.
    if (typeof options !== "object" || (options as unknown) === null) return readThroughPlan(options);
    let plan = this.#plans.get(options);
    if (plan === undefined) this.#plans.set(options, (plan = readThroughPlan(options)));
    this.#lastOptions = options;
    this.#lastPlan = plan;
    return plan;
  }

  /**
   * The present entries among `keys`, keyed by your keys (without the prefix), in one backend call.
   *
   * @example
   * ```ts
   * const found = await cache.getMany("a", "b", "c"); // Map { "a" => 1, "c" => 3 }
   * ```
   */
  getMany(...keys: string[]): Promise<Map<string, V>> {
    if (!tracing()) return this.#getMany(keys);
    const context = this.core.traceContext("getMany", undefined, keys);
    return this.#traced(context, async () => {
      const values = await this.#getMany(keys);
      let hits = 0;
      for (const key of keys) if (values.has(key)) hits++;
      context.hits = hits;
      context.misses = keys.length - hits;
      return values;
    });
  }

  async #getMany(keys: readonly string[]): Promise<Map<string, V>> {
    const backendKeys = this.core.backendKeys(keys);
    if (backendKeys.length === 0) return new Map();
    const found = await this.#read(
      "getMany",
      undefined,
      () => this.#inOrder(backendKeys, () => this.backend.getMany(backendKeys)),
      new Map<string, unknown>(),
    );
    const admitted = await this.#read("getMany", undefined, () => this.#admitFound(found), new Map<string, unknown>());
    const { values, undecodable } = await this.core.decodeManyAsync(keys, backendKeys, admitted);
    if (undecodable.length > 0) await this.#deleteUndecodable(undecodable.map((each) => [each, found.get(each)]));
    const counts = this.#counts;
    for (const key of keys) {
      if (values.has(key)) counts.hits++;
      else counts.misses++;
    }
    return values;
  }

  /**
   * The entries of a `getMany` as their reader is to see them: tagged ones checked against their tags'
   * states (one read of those not at hand), the gone ones left out (and discarded).
   */
  async #admitFound(found: Map<string, unknown>): Promise<Map<string, unknown>> {
    const tagged = [...found].filter(([, wire]) => hasTags(wire));
    if (tagged.length === 0) return found;
    const admitted = await this.#tags.admitMany(tagged.map(([, wire]) => wire));
    const seen = new Map(found);
    tagged.forEach(([backendKey, wire], index) => {
      const entry = admitted[index];
      if (entry !== GONE) seen.set(backendKey, entry);
      else {
        seen.delete(backendKey);
        this.#discard(backendKey, wire);
      }
    });
    return seen;
  }

  /**
   * Stores `value` under `key`; `false` only when `ifNotExists` found the key present.
   *
   * @throws RangeError for an invalid `timeToLive`; SerializationError when the value cannot be encoded
   *   (nothing is written then).
   * @example
   * ```ts
   * await cache.set("lock", 1, { timeToLive: "30s", ifNotExists: true }); // true, then false until it expires
   * ```
   */
  set(key: string, value: V, options?: SetOptions): Promise<boolean> {
    if (!tracing()) return this.#set(key, value, options);
    return this.#traced(this.core.traceContext("set", key), () => this.#set(key, value, options));
  }

  #set(key: string, value: V, options: SetOptions | undefined): Promise<boolean> {
    try {
      const backendKey = this.core.backendKey(key);
      const setOptions = backendSetOptions(options);
      this.#counts.writes++;
      if (options?.tags !== undefined) {
        const tags = checkedTags(options.tags, "set()");
        if (tags.length > 0) return this.#setTagged(key, backendKey, value, setOptions, tags);
      }
      const order = this.#order;
      if (order === undefined) return this.#store(key, backendKey, this.#codec.encode(key, value), setOptions);
      // Encoded off the event loop: the write goes out once its value and every earlier write of the key have.
      const keys = [backendKey];
      return order.defer(
        keys,
        order
          .after(keys, this.core.codec.encodeAsync(key, value))
          .then((wire) => ({ outcome: this.#store(key, backendKey, wire, setOptions) })),
      );
    } catch (error) {
      return Promise.reject(asError(error));
    }
  }

  /**
   * `set` with tags: stamped with the tags' states as they stand (read first when not at hand, the
   * write then kept in order with the key's later operations), in an envelope.
   */
  #setTagged(
    key: string,
    backendKey: string,
    value: V,
    setOptions: BackendSetOptions,
    tags: readonly string[],
  ): Promise<boolean> {
    const stamps = this.#tags.stamps(tags);
    const { timeToLive } = setOptions;
    const asObject = this.backend.capabilities?.bytesOnly !== true;
    if (!(stamps instanceof Promise) && this.#order === undefined) {
      const wire = this.core.encodeTagged(key, value, timeToLive, tags, stamps, asObject);
      return this.#store(key, backendKey, wire, setOptions);
    }
    const order = (this.#order ??= new KeyOrder());
    const keys = [backendKey];
    const encoded = this.#stampsForWrite(stamps, "set", key).then((known) =>
      this.core.encodeTaggedAsync(key, value, timeToLive, tags, known, asObject),
    );
    return order.defer(
      keys,
      order.after(keys, encoded).then((wire) => ({ outcome: this.#store(key, backendKey, wire, setOptions) })),
    );
  }

  /** The stamps of a write, a failure to read them being the write's (reported, as a `BackendError`). */
  async #stampsForWrite(
    stamps: readonly string[] | Promise<readonly string[]>,
    operation: string,
    key: string | undefined,
  ): Promise<readonly string[]> {
    try {
      return await stamps;
    } catch (cause) {
      throw this.core.policy.writeFailed(operation, cause, key);
    }
  }

  /** The backend write of `set`, as one promise chain (this path runs for every Redis write). */
  #store(key: string, backendKey: string, wire: unknown, setOptions: BackendSetOptions): Promise<boolean> {
    let written: Promise<boolean>;
    // An in-process backend writes at once, without a promise per layer.
    const local = this.#inProcessWrites;
    try {
      if (local !== undefined) return Promise.resolve(local.set(backendKey, wire, setOptions));
      written = this.backend.set(backendKey, wire, setOptions);
    } catch (cause) {
      return Promise.reject(this.core.policy.writeFailed("set", cause, key));
    }
    return written.then(undefined, (cause: unknown) => {
      throw this.core.policy.writeFailed("set", cause, key);
    });
  }

  /**
   * Stores several entries with one expiry, atomically where the backend can. Every value is encoded
   * before anything is written, so one unencodable value writes nothing.
   *
   * @example
   * ```ts
   * await cache.setMany({ a: 1, b: 2 }, { timeToLive: "1h" });
   * await cache.setMany(new Map([["c", 3]]));
   * ```
   */
  setMany(entries: CacheEntries<V>, options?: SetManyOptions): Promise<void> {
    if (!tracing()) return this.#setMany(entries, options);
    return this.#traced(this.core.traceContext("setMany"), () => this.#setMany(entries, options));
  }

  async #setMany(entries: CacheEntries<V>, options: SetManyOptions | undefined): Promise<void> {
    const timeToLive = setManyTimeToLive(options);
    const tags = checkedTags(options?.tags, "setMany()");
    if (tags.length > 0) {
      const pairs = entryPairs(entries);
      this.#counts.writes += pairs.length;
      await this.#setManyTagged(pairs, timeToLive, tags);
      return;
    }
    const order = this.#order;
    if (order === undefined) {
      const encoded = this.core.encodeMany(entries);
      if (encoded.length === 0) return;
      this.#counts.writes += encoded.length;
      await this.#call("setMany", undefined, () => this.backend.setMany(encoded, timeToLive));
      return;
    }
    const pairs = entryPairs(entries);
    const keys = this.core.backendKeys(pairs.map(([key]) => key));
    this.#counts.writes += pairs.length;
    await order.defer(
      keys,
      order.after(keys, this.core.encodeManyAsync(pairs)).then((encoded) => ({
        outcome:
          encoded.length === 0
            ? Promise.resolve()
            : this.#call("setMany", undefined, () => this.backend.setMany(encoded, timeToLive)),
      })),
    );
  }

  /** `setMany` with tags: every entry stamped with the same states, kept in order as `set` with tags is. */
  async #setManyTagged(
    pairs: readonly (readonly [string, V])[],
    timeToLive: number | undefined,
    tags: readonly string[],
  ): Promise<void> {
    const keys = this.core.backendKeys(pairs.map(([key]) => key));
    if (keys.length === 0) return;
    const order = (this.#order ??= new KeyOrder());
    const asObject = this.backend.capabilities?.bytesOnly !== true;
    const encoded = this.#stampsForWrite(this.#tags.stamps(tags), "setMany", undefined).then((stamps) =>
      Promise.all(
        pairs.map(async ([key, value], index): Promise<[string, unknown]> => [
          keys[index] as string,
          await this.core.encodeTaggedAsync(key, value, timeToLive, tags, stamps, asObject),
        ]),
      ),
    );
    await order.defer(
      keys,
      order.after(keys, encoded).then((entries) => ({
        outcome: this.#call("setMany", undefined, () => this.backend.setMany(entries, timeToLive)),
      })),
    );
  }

  /**
   * Makes every entry carrying one of `tags` gone, for every instance and near tier: no read returns one
   * written before the call, stale or in grace included. Costs one write per tag (one round trip, per
   * cluster slot), however many entries carry them; the entries themselves are removed when next read,
   * or when they expire. Computations of `getOrSet` with one of the tags that are running do not store.
   *
   * @throws ConfigurationError for a tag that is not a non-empty string; BackendError when the store fails.
   * @example
   * ```ts
   * await cache.set("user:7", user, { tags: ["user:7", "org:1"] });
   * await cache.deleteByTag("org:1"); // user:7 is gone, here and on every other instance
   * ```
   */
  deleteByTag(...tags: string[]): Promise<void> {
    if (!tracing()) return this.#deleteByTag(tags);
    return this.#traced(this.#tagContext("deleteByTag", tags), () => this.#deleteByTag(tags));
  }

  async #deleteByTag(tags: readonly string[]): Promise<void> {
    await this.#invalidate(tags, "delete", "deleteByTag");
  }

  /**
   * Makes every entry carrying one of `tags` stale from now, for every instance and near tier: `getOrSet`
   * refreshes it and serves it meanwhile only within its `staleWhileRevalidate`, or its `grace` when the
   * refresh fails, counted from now; a plain `get` returns it for as long as those windows last. Costs as
   * {@link Cache.deleteByTag}.
   *
   * @throws ConfigurationError for a tag that is not a non-empty string; BackendError when the store fails.
   * @example
   * ```ts
   * await cache.expireByTag("org:1"); // served stale while each entry is recomputed
   * ```
   */
  expireByTag(...tags: string[]): Promise<void> {
    if (!tracing()) return this.#expireByTag(tags);
    return this.#traced(this.#tagContext("expireByTag", tags), () => this.#expireByTag(tags));
  }

  async #expireByTag(tags: readonly string[]): Promise<void> {
    await this.#invalidate(tags, "expire", "expireByTag");
  }

  /** The trace context of `deleteByTag` or `expireByTag`: its tags only when traces carry keys. */
  #tagContext(operation: "deleteByTag" | "expireByTag", tags: readonly string[]): OperationContext {
    const context = this.core.traceContext(operation);
    if (this.core.traceKeys) context.tags = tags;
    return context;
  }

  async #invalidate(tags: readonly string[], how: "delete" | "expire", operation: string): Promise<void> {
    const checked = checkedTags(tags, `${operation}()`, Number.POSITIVE_INFINITY);
    this.core.assertOpen();
    if (checked.length === 0) return;
    this.#readThrough.forgetTagged(checked);
    // After every write issued before it has been sent, so that none of them outlives the call.
    await this.#call(operation, undefined, () => this.#inOrder(undefined, () => this.#tags.invalidate(checked, how)));
  }

  /**
   * Sets how long `key` lives from now, or with no duration makes it permanent; `false` when the key
   * is absent.
   *
   * @example
   * ```ts
   * await cache.expireIn("session", "15m");
   * await cache.expireIn("session"); // never expires
   * ```
   */
  expireIn(key: string, timeToLive?: Duration | null): Promise<boolean> {
    if (!tracing()) return this.#expireIn(key, timeToLive);
    return this.#traced(this.core.traceContext("expireIn", key), () => this.#expireIn(key, timeToLive));
  }

  async #expireIn(key: string, timeToLive: Duration | null | undefined): Promise<boolean> {
    const backendKey = this.core.backendKey(key);
    const milliseconds = toTimeToLive(timeToLive);
    return await this.#call("expireIn", key, () =>
      this.#inOrder([backendKey], () => this.backend.expireIn(backendKey, milliseconds)),
    );
  }

  /** Removes `key`; whether it was present. */
  delete(key: string): Promise<boolean> {
    if (!tracing()) return this.#delete(key);
    return this.#traced(this.core.traceContext("delete", key), () => this.#delete(key));
  }

  async #delete(key: string): Promise<boolean> {
    const backendKey = this.core.backendKey(key);
    this.#counts.deletes++;
    // A computation of getOrSet that began before the delete must not store its now outdated value.
    this.#readThrough.forget(backendKey);
    return await this.#call("delete", key, () => this.#inOrder([backendKey], () => this.backend.delete(backendKey)));
  }

  /** Removes several keys; how many distinct keys were present. */
  deleteMany(...keys: string[]): Promise<number> {
    if (!tracing()) return this.#deleteMany(keys);
    return this.#traced(this.core.traceContext("deleteMany", undefined, keys), () => this.#deleteMany(keys));
  }

  async #deleteMany(keys: readonly string[]): Promise<number> {
    const backendKeys = this.core.backendKeys(keys);
    if (backendKeys.length === 0) return 0;
    this.#counts.deletes += backendKeys.length;
    for (const backendKey of backendKeys) this.#readThrough.forget(backendKey);
    return await this.#call("deleteMany", undefined, () =>
      this.#inOrder(backendKeys, () => this.backend.deleteMany(backendKeys)),
    );
  }

  /**
   * Whether `key` is stored, without transferring or decoding its value. An entry made gone by
   * `deleteByTag` is stored until it is next read or expires, so `has` may still answer `true` for it.
   */
  has(key: string): Promise<boolean> {
    if (!tracing()) return this.#has(key);
    return this.#traced(this.core.traceContext("has", key), () => this.#has(key));
  }

  async #has(key: string): Promise<boolean> {
    const backendKey = this.core.backendKey(key);
    return await this.#read("has", key, () => this.#inOrder([backendKey], () => this.backend.has(backendKey)), false);
  }

  /**
   * The milliseconds `key` has left (at least 1), `null` when it never expires, `undefined` when it is
   * absent. For an entry written with `staleWhileRevalidate` or `grace`, that is the time it is kept, stale
   * window included.
   *
   * @example
   * ```ts
   * await cache.set("user:1", user, { timeToLive: "1m" });
   * await cache.ttl("user:1"); // about 60_000
   * ```
   */
  async ttl(key: string): Promise<number | null | undefined> {
    const backendKey = this.core.backendKey(key);
    return await this.#read(
      "ttl",
      key,
      () => this.#inOrder([backendKey], () => this.backend.ttl(backendKey)),
      undefined,
    );
  }

  /**
   * This cache's keys (without its prefix), streamed page by page from the backend (`SCAN` on Redis, one
   * round trip per page, each within the deadline), never all at once. A key present for the whole
   * listing comes at least once; one written, deleted or moved to another cluster node meanwhile may come
   * twice or not at all. A failure throws, whatever `failedReads` says: a listing is never cut short quietly.
   *
   * @example
   * ```ts
   * for await (const key of cache.keys({ match: "user:*", signal: AbortSignal.timeout(10_000) })) console.log(key);
   * ```
   */
  keys(options: KeysOptions = {}): AsyncIterableIterator<string> {
    this.core.assertOpen();
    const match = scanPattern(this.core.prefix, options, "Cache");
    return this.#keys(match, options.signal);
  }

  async *#keys(match: string, signal: AbortSignal | undefined): AsyncIterableIterator<string> {
    let cursor = "0";
    do {
      signal?.throwIfAborted();
      let page: BackendScanPage;
      try {
        page = await this.backend.scan(cursor, { match, count: KEYS_PAGE });
      } catch (cause) {
        throw this.core.policy.readFailed("keys", cause, undefined, false) ?? cause;
      }
      cursor = page.cursor;
      for (const key of listedKeys(this.core.prefix, page.keys)) {
        // A page can be long (an in-process store answers in one): stop within it too.
        signal?.throwIfAborted();
        yield key;
      }
    } while (cursor !== "0");
  }

  /**
   * With a prefix, deletes this cache's keys only; without one, empties the backend (for Redis: the
   * selected database).
   */
  clear(): Promise<void> {
    if (!tracing()) return this.#clear();
    return this.#traced(this.core.traceContext("clear"), () => this.#clear());
  }

  async #clear(): Promise<void> {
    this.core.assertOpen();
    this.#readThrough.forgetUnder(this.core.prefix);
    await this.#call("clear", undefined, () => this.#inOrder(undefined, () => this.backend.clear(this.core.prefix)));
  }

  /**
   * The failure counters, and with `near` the near tier's (`cache.stats.near.hits`…).
   *
   * @example
   * ```ts
   * const { near } = cache.stats;
   * metrics.gauge("cache.near.hit_ratio", near ? near.hits / Math.max(1, near.hits + near.misses) : 0);
   * ```
   */
  override get stats(): AsyncCacheStats {
    const stats = { ...super.stats, ...this.#readThrough.stats };
    return this.#near === undefined ? stats : { ...stats, near: this.#near.stats };
  }

  override resetStats(): void {
    super.resetStats();
    this.#readThrough.resetStats();
  }

  /** Closes the backend; idempotent. Later operations reject with `CacheClosedError`. */
  async close(): Promise<void> {
    // A namespace borrows its cache's backend: closing the view leaves the backend to its owner.
    if (this.core.markClosed() && this.#parent === undefined) await this.backend.close();
  }

  /**
   * Sends a backend call at once, or, when an earlier write of one of `keys` (every key, for
   * `undefined`) still waits for its off-thread encoding, right after that write has been sent.
   */
  #inOrder<T>(keys: readonly string[] | undefined, send: () => Promise<T>): Promise<T> {
    return this.#order === undefined ? send() : this.#order.run(keys, send);
  }

  /** Runs one write or delete, turning its failure into a reported `BackendError` that names it. */
  async #call<T>(operation: string, key: string | undefined, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (cause) {
      throw this.core.policy.writeFailed(operation, cause, key);
    }
  }

  /** Runs one read; a failure is reported, then thrown or (with `failedReads: "miss"`) answered by `miss`. */
  async #read<T>(operation: string, key: string | undefined, run: () => Promise<T>, miss: T): Promise<T> {
    try {
      return await run();
    } catch (cause) {
      const error = this.core.policy.readFailed(operation, cause, key);
      if (error !== undefined) throw error;
      return miss;
    }
  }

  /**
   * Deletes entries that did not decode (when the policy says so), each only while it still holds the
   * bytes that failed: another writer may have stored a good value since we read. A backend that cannot
   * compare and delete keeps them. A failure is reported, not thrown.
   */
  async #deleteUndecodable(entries: (readonly [string, unknown])[], key?: string): Promise<void> {
    const deleteIfUnchanged = this.backend.deleteIfUnchanged?.bind(this.backend);
    if (!this.core.policy.deletesUndecodable || deleteIfUnchanged === undefined) return;
    try {
      await Promise.all(entries.map(([backendKey, wire]) => deleteIfUnchanged(backendKey, wire)));
    } catch (cause) {
      this.core.policy.writeFailed("delete of an undecodable value", cause, key, false);
    }
  }

  /**
   * Removes an entry its tags' states said is gone (only while it still holds `wire`), so that it does
   * not wait for its expiry; in the background, a failure ignored: the entry reads as gone anyway.
   */
  #discard(backendKey: string, wire: unknown): void {
    const local = this.#inProcessWrites;
    if (local?.deleteIfUnchanged !== undefined) {
      try {
        local.deleteIfUnchanged(backendKey, wire);
      } catch {
        // Gone by its tags all the same.
      }
    } else {
      this.backend.deleteIfUnchanged?.(backendKey, wire).catch(() => undefined);
    }
    this.core.confirmGone(backendKey, wire);
  }

  /** `await using cache = new Cache(…)` closes the cache at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
