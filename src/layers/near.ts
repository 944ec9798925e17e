import { LRUCache } from "lru-cache";
import type {
  AsyncBackend,
  BackendCapabilities,
  BackendScanOptions,
  BackendScanPage,
  BackendSetOptions,
  ChangeListener,
  ChangeNotifications,
  NearEntry,
  NearStats,
  NearView,
  WatchedValue,
} from "../backends/contract.js";
import { checkedBounds, type Clock } from "../backends/memory/store.js";
import { ConfigurationError } from "../errors.js";
import { storedSize } from "../internal/bytes.js";
import { EVENT_CHANNELS } from "../observability/channels.js";

/** Options of {@link NearBackend}; times in milliseconds. */
export interface NearTierOptions {
  /** The most entries held near (default 10 000); the least recently used go first. */
  readonly maxEntries?: number | undefined;
  /** The most bytes held near, counting each value as stored (its encoded size). Unbounded when absent. */
  readonly maxSize?: number | undefined;
  /**
   * How long an entry may be served near at most. Required over a backend that cannot tell about changes:
   * it is then how stale a near read can be.
   */
  readonly timeToLive?: number | undefined;
  /** The time source (default `performance`). */
  readonly clock?: Clock | undefined;
  /** What the backend is, for the message when it needs a `timeToLive` (`"memory://"`). */
  readonly backendName?: string | undefined;
}

/** An entry held near, with when the backend said the key would expire (clock time; `undefined`: never). */
interface HeldEntry<W> extends NearEntry<W> {
  readonly backendUntil: number | undefined;
}

/** The reads and writes of one key in flight, and whether the key changed while they were. */
interface InFlight {
  count: number;
  changed: boolean;
  /** Counts our own writes and deletes of the key: a write is kept only if none was issued after it. */
  ownChanges: number;
}

/**
 * A near tier: an in-process, bounded copy of what a backend holds, in front of it. Reads it holds are
 * answered at once; the rest go to the backend and are kept. Writes, deletes and `clear` go through to
 * the backend and update the copy.
 *
 * Over a backend that tells about changes (`capabilities.changes`, as Redis with tracking does), the
 * copy stays coherent with every writer: a changed key is dropped when the backend says so, and the copy
 * is emptied when changes may have gone unseen. A read or write of a key that changed while it was in
 * flight is not kept (its answer may predate the change), nor one that began before the copy was
 * emptied. Entries never outlive what the backend said the key has left, nor `timeToLive`.
 *
 * Over any other backend, `timeToLive` is required: it bounds how stale a read can be.
 *
 * @example
 * ```ts
 * const backend = new NearBackend(new RedisBackend({ url, notifyChanges: true }), { maxEntries: 10_000 });
 * await backend.get("app:user:1"); // from Redis, kept near; the next read costs no I/O
 * ```
 */
export class NearBackend<W> implements AsyncBackend<W> {
  readonly #inner: AsyncBackend<W>;
  readonly #changes: ChangeNotifications<W> | undefined;
  readonly #entries: LRUCache<string, HeldEntry<W>>;
  /** What the tier held when it was last emptied, kept for serving stale values while the backend fails. */
  readonly #fallback: LRUCache<string, HeldEntry<W>>;
  readonly #timeToLive: number | undefined;
  /** The backend returns what it stores as bytes. */
  readonly #bytesOnly: boolean;
  readonly #clock: Clock;
  readonly #stopListening: (() => void) | undefined;
  readonly #inFlight = new Map<string, InFlight>();
  /** Counts the times the copy was emptied: what was read before the last one is not kept. */
  #generation = 0;
  /** What the point events call the backend (`"redis://"`, or the backend's class). */
  readonly #backendName: string;
  #hits = 0;
  #misses = 0;
  #invalidations = 0;
  #flushes = 0;
  /** Present when the inner backend has it; forgets the key at once. */
  readonly deleteIfUnchanged?: (key: string, value: W) => Promise<boolean>;
  /** The inner's capabilities, but the ones this layer uses up, and its own view. */
  readonly capabilities: BackendCapabilities<W> & { readonly near: NearView<W> };

  /** @throws ConfigurationError for bad options, or when the backend cannot tell about changes and no `timeToLive` is given. */
  constructor(inner: AsyncBackend<W>, options: NearTierOptions = {}) {
    this.#backendName = options.backendName ?? inner.constructor.name;
    const { maxEntries, maxSize } = checkedBounds(options, (name) => `near.${name}`);
    const { timeToLive } = options;
    if (timeToLive !== undefined && (!Number.isSafeInteger(timeToLive) || timeToLive < 1)) {
      throw new ConfigurationError(
        `near.timeToLive must be a positive number of milliseconds, got ${String(timeToLive)}`,
      );
    }
    this.#changes = inner.capabilities?.changes;
    if (this.#changes === undefined && timeToLive === undefined) {
      throw new ConfigurationError(
        `near needs a backend that tells about changes, or a near.timeToLive that bounds how stale a near read may be: ${options.backendName ?? "this backend"} cannot tell when another writer changes a key (for Redis, give the cache a redis:// URL, or a RedisBackend created with { notifyChanges: true })`,
      );
    }
    this.#inner = inner;
    this.#timeToLive = timeToLive;
    this.#bytesOnly = inner.capabilities?.bytesOnly === true;
    this.#clock = options.clock ?? performance;
    const bounds = {
      max: maxEntries,
      ...(maxSize === undefined ? {} : { maxSize, sizeCalculation: (entry: HeldEntry<W>) => storedSize(entry.stored) }),
      perf: this.#clock,
      ttlResolution: 0,
    };
    this.#entries = new LRUCache<string, HeldEntry<W>>(bounds);
    this.#fallback = new LRUCache<string, HeldEntry<W>>(bounds);
    const { synchronous: _synchronous, changes: _changes, ...kept } = inner.capabilities ?? {};
    const view: NearView<W> = {
      peek: (key) => {
        const entry = this.#entries.get(key);
        if (entry === undefined) this.#misses++;
        else this.#hits++;
        return entry;
      },
      remember: (key, stored, decoded, decodedBy) => {
        const entry = this.#entries.peek(key);
        if (entry?.stored !== stored) return;
        entry.decoded = decoded;
        entry.decodedBy = decodedBy;
      },
      fallback: (key) => this.#entries.peek(key) ?? this.#fallback.get(key),
      get stats() {
        return counters();
      },
    };
    const counters = (): NearStats => this.stats;
    this.capabilities = { ...kept, near: view };
    this.#stopListening = this.#changes?.subscribe(this.#listener);
    const deleteIfUnchanged = inner.deleteIfUnchanged?.bind(inner);
    if (deleteIfUnchanged !== undefined) {
      this.deleteIfUnchanged = (key, value) => {
        this.#forgetOwn(key);
        return deleteIfUnchanged(key, value);
      };
    }
  }

  /** The counters. */
  get stats(): NearStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      entries: this.#entries.size,
      invalidations: this.#invalidations,
      flushes: this.#flushes,
    };
  }

  readonly #listener: ChangeListener = {
    changed: (keys) => {
      let dropped = 0;
      for (const key of keys) if (this.#forget(key)) dropped++;
      this.#invalidations += dropped;
      if (dropped > 0 && EVENT_CHANNELS.nearInvalidated.hasSubscribers) {
        EVENT_CHANNELS.nearInvalidated.publish({ backend: this.#backendName, dropped });
      }
    },
    lost: () => {
      this.#generation++;
      if (EVENT_CHANNELS.nearFlushed.hasSubscribers) {
        EVENT_CHANNELS.nearFlushed.publish({ backend: this.#backendName, entries: this.#entries.size });
      }
      if (this.#entries.size === 0) return;
      const now = this.#clock.now();
      for (const [key, entry] of this.#entries.entries()) {
        // Kept for as long as the backend said the key would live (ttl 0: it never expires); one that is
        // expiring now is not kept at all.
        if (entry.backendUntil === undefined) this.#fallback.set(key, entry, { ttl: 0 });
        else if (entry.backendUntil - now >= 1) this.#fallback.set(key, entry, { ttl: entry.backendUntil - now });
      }
      this.#entries.clear();
      this.#flushes++;
    },
  };

  /** Drops `key` and marks what is in flight for it as changed; whether it was held. */
  #forget(key: string): boolean {
    const inFlight = this.#inFlight.get(key);
    if (inFlight !== undefined) inFlight.changed = true;
    this.#fallback.delete(key);
    return this.#entries.delete(key);
  }

  /**
   * {@link #forget} for a write or delete of ours: a write of ours still in flight was issued before it,
   * so its value must not be kept when it settles (the backend applies the two in issue order).
   */
  #forgetOwn(key: string): boolean {
    const inFlight = this.#inFlight.get(key);
    if (inFlight !== undefined) inFlight.ownChanges++;
    return this.#forget(key);
  }

  /** Records a read or write of `key` going out now; {@link #settle} with what it returns. */
  #begin(key: string): InFlight {
    let inFlight = this.#inFlight.get(key);
    if (inFlight === undefined) this.#inFlight.set(key, (inFlight = { count: 0, changed: false, ownChanges: 0 }));
    inFlight.count++;
    return inFlight;
  }

  /**
   * Whether what came back for `key` may be kept: nothing changed it, nothing was missed meanwhile. For a
   * write, a change told while it was in flight took effect before it (the backend's promise), our own
   * write's invalidation included: only a missed stream stops it from being kept.
   */
  #settle(key: string, inFlight: InFlight, generation: number, write = false): boolean {
    if (--inFlight.count === 0) this.#inFlight.delete(key);
    return (write || !inFlight.changed) && generation === this.#generation;
  }

  /** Keeps `stored` for at most `timeToLive` from `since` (when its read or write went out), and `timeToLive` of the tier. */
  #keep(key: string, stored: W, timeToLive: number | undefined, since: number): void {
    const now = this.#clock.now();
    const left = timeToLive === undefined ? undefined : timeToLive - (now - since);
    const ttl = left === undefined ? this.#timeToLive : Math.min(left, this.#timeToLive ?? left);
    if (ttl !== undefined && ttl < 1) return;
    const backendUntil = left === undefined ? undefined : now + left;
    this.#entries.set(key, { stored, decoded: undefined, decodedBy: undefined, backendUntil }, { ttl: ttl ?? 0 });
  }

  /**
   * What the backend would return for a value we write: a store of bytes only returns text as its UTF-8
   * bytes, and bytes as a `Buffer` of their own (a copy: the caller may reuse theirs).
   */
  #asReturned(value: W): W {
    if (!this.#bytesOnly || !(typeof value === "string" || value instanceof Uint8Array)) return value;
    return Buffer.from(value as string) as W;
  }

  get(key: string): Promise<W | undefined> {
    const entry = this.#entries.get(key);
    if (entry !== undefined) return Promise.resolve(entry.stored);
    return this.#readThrough(key);
  }

  #readThrough(key: string): Promise<W | undefined> {
    const generation = this.#generation;
    const since = this.#clock.now();
    const inFlight = this.#begin(key);
    const changes = this.#changes;
    const read =
      changes === undefined
        ? this.#inner.get(key).then((value) => (value === undefined ? undefined : { value, timeToLive: undefined }))
        : changes.readWatched(key);
    return read.then(
      (found) => {
        if (this.#settle(key, inFlight, generation) && found !== undefined) {
          this.#keep(key, found.value, found.timeToLive, since);
        }
        return found?.value;
      },
      (error: unknown) => {
        this.#settle(key, inFlight, generation);
        throw error;
      },
    );
  }

  async getMany(keys: readonly string[]): Promise<Map<string, W>> {
    const held = new Map<string, W>();
    const missing: string[] = [];
    for (const key of new Set(keys)) {
      const entry = this.#entries.get(key);
      if (entry === undefined) missing.push(key);
      else held.set(key, entry.stored);
    }
    this.#hits += held.size;
    this.#misses += missing.length;
    if (missing.length === 0) return held;
    const generation = this.#generation;
    const since = this.#clock.now();
    const inFlight = missing.map((key) => this.#begin(key));
    let read: Map<string, WatchedValue<W>> | undefined;
    try {
      read = await (this.#changes?.readManyWatched(missing) ??
        this.#inner
          .getMany(missing)
          .then((found) => new Map([...found].map(([key, value]) => [key, { value, timeToLive: undefined }]))));
    } finally {
      missing.forEach((key, index) => {
        const kept = this.#settle(key, inFlight[index] as InFlight, generation);
        const found = read?.get(key);
        if (kept && found !== undefined) this.#keep(key, found.value, found.timeToLive, since);
      });
    }
    // In the order asked.
    const answer = new Map<string, W>();
    for (const key of keys) {
      const value = held.get(key) ?? read?.get(key)?.value;
      if (value !== undefined) answer.set(key, value);
    }
    return answer;
  }

  /** Writes through; what was written is kept near unless the key changed meanwhile. */
  async set(key: string, value: W, options: BackendSetOptions): Promise<boolean> {
    // With ifNotExists, a key held near is present: the write will not change it.
    if (options.ifNotExists !== true) this.#forgetOwn(key);
    else {
      const pending = this.#inFlight.get(key);
      if (pending !== undefined) pending.ownChanges++;
    }
    const generation = this.#generation;
    const since = this.#clock.now();
    const written = this.#inner.set(key, value, options);
    // After the call: a backend reports its own write to every near tier over it as it sends it.
    const inFlight = this.#begin(key);
    const mine = inFlight.ownChanges;
    let stored = false;
    try {
      stored = await written;
    } finally {
      if (this.#settle(key, inFlight, generation, true) && stored && inFlight.ownChanges === mine) {
        this.#keep(key, this.#asReturned(value), options.timeToLive, since);
      }
    }
    return stored;
  }

  async setMany(entries: readonly (readonly [string, W])[], timeToLive: number | undefined): Promise<void> {
    const values = new Map(entries);
    for (const key of values.keys()) this.#forgetOwn(key);
    const generation = this.#generation;
    const since = this.#clock.now();
    const written = this.#inner.setMany(entries, timeToLive);
    const inFlight = [...values.keys()].map((key) => this.#begin(key));
    const mine = inFlight.map((each) => each.ownChanges);
    let done = false;
    try {
      await written;
      done = true;
    } finally {
      [...values].forEach(([key, value], index) => {
        const each = inFlight[index] as InFlight;
        if (this.#settle(key, each, generation, true) && done && each.ownChanges === mine[index])
          this.#keep(key, this.#asReturned(value), timeToLive, since);
      });
    }
  }

  expireIn(key: string, timeToLive: number | undefined): Promise<boolean> {
    this.#forgetOwn(key);
    return this.#inner.expireIn(key, timeToLive);
  }

  delete(key: string): Promise<boolean> {
    this.#forgetOwn(key);
    return this.#inner.delete(key);
  }

  deleteMany(keys: readonly string[]): Promise<number> {
    for (const key of keys) this.#forgetOwn(key);
    return this.#inner.deleteMany(keys);
  }

  has(key: string): Promise<boolean> {
    if (this.#entries.has(key)) return Promise.resolve(true);
    return this.#inner.has(key);
  }

  /** Asks the backend: the near copy of an entry never outlives it, so the backend's time is the one left. */
  ttl(key: string): Promise<number | null | undefined> {
    return this.#inner.ttl(key);
  }

  scan(cursor: string, options: BackendScanOptions): Promise<BackendScanPage> {
    return this.#inner.scan(cursor, options);
  }

  /** Drops what is held under `prefix` when the clear starts and again when it ends, with whatever was read meanwhile. */
  clear(prefix: string): Promise<void> {
    const forgetPrefix = (): void => {
      // Whatever is in flight may have been read before the keys were deleted: keep none of it.
      this.#generation++;
      for (const held of [this.#entries, this.#fallback]) {
        if (prefix === "") held.clear();
        else for (const key of [...held.keys()]) if (key.startsWith(prefix)) held.delete(key);
      }
    };
    forgetPrefix();
    return this.#inner.clear(prefix).finally(forgetPrefix);
  }

  close(): Promise<void> {
    this.#stopListening?.();
    this.#entries.clear();
    this.#fallback.clear();
    return this.#inner.close();
  }
}
