import { LRUCache } from "lru-cache";
import { BackendError, ConfigurationError } from "../../errors.js";
import type { CacheUrl, UrlParameters } from "../../internal/cache-url.js";
import { requireNoLocation } from "../../internal/scheme-registry.js";
import { storedSize } from "../../internal/bytes.js";
import { checkConfiguration } from "../../internal/options.js";
import { globMatcher } from "../../internal/glob.js";
import type { BackendScanOptions, BackendScanPage, BackendSetOptions, SyncBackend } from "../contract.js";

/** A source of monotonic time in milliseconds; inject one to test expiry without sleeping. */
export interface Clock {
  /** The current time in milliseconds. Must be positive and never go backwards. */
  now(): number;
}

/** Options of the memory backend (URL parameters `max-entries`, `max-size`). */
export interface MemoryBackendOptions {
  /** The most entries held (default 10 000, at most 16 777 216); the least recently used go first. */
  readonly maxEntries?: number;
  /**
   * The most bytes held, counting each value as stored: UTF-8 length for strings, `byteLength` for
   * bytes, 1 for anything else (values of `noop://`). Unbounded when absent. A single value larger
   * than this is refused with a `BackendError`.
   */
  readonly maxSize?: number;
  /** The time source for expiry (default `performance`). */
  readonly clock?: Clock;
}

/** The default of {@link MemoryBackendOptions.maxEntries}. */
export const DEFAULT_MAX_ENTRIES = 10_000;
const MAX_ENTRIES_LIMIT = 2 ** 24;
/** Node's timers overflow past 2^31 − 1 ms (24.8 days); longer waits are taken in steps. */
const LONGEST_TIMER = 2 ** 31 - 1;
/**
 * The most expired entries one turn of the event loop removes: about 1–4 ms of work, so that 100 000
 * entries expiring together cost many short pauses instead of one of 70–120 ms.
 */
export const SWEEP_SLICE = 4096;
/** lru-cache stores `undefined` as "delete"; a stored `undefined` is boxed as this. */
const UNDEFINED_VALUE: unique symbol = Symbol("cachetory.undefined");

/** Reads {@link MemoryBackendOptions} from a `memory://` URL. */
export function memoryOptionsFromUrl(url: CacheUrl, parameters: UrlParameters): MemoryBackendOptions {
  requireNoLocation(url);
  const maxSize = parameters.integer("max-size", { min: 1, max: Number.MAX_SAFE_INTEGER, default: 0 });
  return {
    maxEntries: parameters.integer("max-entries", { min: 1, max: MAX_ENTRIES_LIMIT, default: DEFAULT_MAX_ENTRIES }),
    ...(maxSize === 0 ? {} : { maxSize }),
  };
}

/**
 * The bounds of an in-process LRU (the memory backend's, a near tier's), with the default entry count,
 * checked for callers without types; `optionName` is how the caller names them (`"near.maxEntries"`).
 *
 * @throws ConfigurationError naming the option and its range.
 */
export function checkedBounds(
  options: { readonly maxEntries?: number | undefined; readonly maxSize?: number | undefined },
  optionName: (name: "maxEntries" | "maxSize") => string = (name) => name,
): { maxEntries: number; maxSize: number | undefined } {
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1 || maxEntries > MAX_ENTRIES_LIMIT) {
    throw new ConfigurationError(
      `${optionName("maxEntries")} must be an integer 1–${String(MAX_ENTRIES_LIMIT)}, got ${String(maxEntries)}`,
    );
  }
  const maxSize = options.maxSize;
  if (maxSize !== undefined && (!Number.isSafeInteger(maxSize) || maxSize < 1)) {
    throw new ConfigurationError(
      `${optionName("maxSize")} must be a positive integer number of bytes, got ${String(maxSize)}`,
    );
  }
  return { maxEntries, maxSize };
}

/** What lru-cache may hold: anything but `undefined` (`null` is fine at run time; its types say `{}`). */
type StoredValue = object | string | number | boolean | bigint | symbol;

interface Expiry {
  readonly at: number;
  readonly key: string;
}

/**
 * The bounded in-process store behind both memory backends: least-recently-used eviction by entry
 * count and byte size (through `lru-cache`), per-entry expiry, and a single timer that removes expired
 * entries without waiting for them to be read. It is itself the synchronous `MemoryBackend`.
 */
export class MemoryStore implements SyncBackend {
  /** `setMany` lands at once: nothing else runs in between. */
  readonly capabilities: { readonly atomicBatches: "all" } = { atomicBatches: "all" };
  readonly #entries: LRUCache<string, StoredValue>;
  readonly #clock: Clock;
  readonly #maxSize: number | undefined;
  /** A binary min-heap of expiry times; stale records (overwritten or deleted keys) are skipped. */
  #expiries: Expiry[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** The next slice of a sweep that had more to remove than one turn allows. */
  #slice: NodeJS.Immediate | undefined;
  #timerAt = Number.POSITIVE_INFINITY;

  /** @throws ConfigurationError for an out-of-range option. */
  constructor(options: MemoryBackendOptions = {}) {
    checkConfiguration(options, {
      what: "MemoryBackend",
      known: ["maxEntries", "maxSize", "clock"],
      example: "{ maxEntries: 10_000, maxSize: 50_000_000 }",
    });
    const { maxEntries, maxSize } = checkedBounds(options);
    this.#clock = options.clock ?? performance;
    this.#maxSize = maxSize;
    this.#entries = new LRUCache<string, StoredValue>({
      max: maxEntries,
      ...(maxSize === undefined ? {} : { maxSize }),
      perf: this.#clock,
      // Always read the clock: lru-cache's default caches it for 1 ms with a timer per read.
      ttlResolution: 0,
    });
  }

  /** How many entries are held (expired ones leave within a millisecond of their expiry). */
  get size(): number {
    return this.#entries.size;
  }

  get(key: string): unknown {
    const value = this.#entries.get(key);
    return value === UNDEFINED_VALUE ? undefined : value;
  }

  getMany(keys: readonly string[]): Map<string, unknown> {
    const found = new Map<string, unknown>();
    for (const key of keys) {
      const value = this.#entries.get(key);
      if (value !== undefined) found.set(key, value === UNDEFINED_VALUE ? undefined : value);
    }
    return found;
  }

  set(key: string, value: unknown, options: BackendSetOptions): boolean {
    if (options.ifNotExists === true && this.#entries.has(key)) return false;
    this.#store(key, value, this.#checkedSize(key, value), options.timeToLive);
    return true;
  }

  setMany(entries: readonly (readonly [string, unknown])[], timeToLive: number | undefined): void {
    // Check every size first, so that a refused value leaves the batch unwritten rather than half-written.
    const sizes = entries.map(([key, value]) => this.#checkedSize(key, value));
    // One clock reading for the batch: its entries expire together.
    const now = timeToLive === undefined ? 0 : this.#clock.now();
    entries.forEach(([key, value], index) => {
      this.#store(key, value, sizes[index] ?? 0, timeToLive, now);
    });
  }

  expireIn(key: string, timeToLive: number | undefined): boolean {
    const value = this.#entries.peek(key);
    if (value === undefined) return false;
    this.#store(key, value, this.#maxSize === undefined ? 0 : storedSize(value), timeToLive);
    return true;
  }

  delete(key: string): boolean {
    // lru-cache reports deleting an expired entry as a success; an expired key is absent.
    const present = this.#entries.has(key);
    this.#entries.delete(key);
    return present;
  }

  deleteMany(keys: readonly string[]): number {
    let deleted = 0;
    for (const key of new Set(keys)) if (this.delete(key)) deleted++;
    return deleted;
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  ttl(key: string): number | null | undefined {
    if (!this.#entries.has(key)) return undefined;
    const left = this.#entries.getRemainingTTL(key);
    return Number.isFinite(left) ? Math.max(1, Math.ceil(left)) : null;
  }

  /** One page: the keys are in memory already, and a snapshot of them is what `clear` takes too. */
  scan(_cursor: string, options: BackendScanOptions): BackendScanPage {
    const matches = options.match === undefined || options.match === "*" ? undefined : globMatcher(options.match);
    const keys: string[] = [];
    for (const key of this.#entries.keys()) if (matches === undefined || matches(key)) keys.push(key);
    return { keys, cursor: "0" };
  }

  deleteIfUnchanged(key: string, value: unknown): boolean {
    const stored = this.#entries.peek(key);
    if (stored === undefined || (stored === UNDEFINED_VALUE ? undefined : stored) !== value) return false;
    return this.delete(key);
  }

  clear(prefix: string): void {
    if (prefix === "") {
      this.#entries.clear();
      this.#resetExpiries();
      return;
    }
    const doomed = [...this.#entries.keys()].filter((key) => key.startsWith(prefix));
    for (const key of doomed) this.#entries.delete(key);
  }

  close(): void {
    this.#entries.clear();
    this.#resetExpiries();
  }

  /**
   * Removes the entries whose time has come. A timer calls it by itself; call it directly when you
   * drive an injected clock.
   *
   * @example
   * ```ts
   * clock.advance(60_000);
   * backend.purgeExpired();
   * ```
   */
  purgeExpired(): void {
    this.#sweep(Number.POSITIVE_INFINITY);
  }

  /**
   * Removes at most `limit` expired entries, then schedules the rest: another slice on the next turn of
   * the event loop while expired entries remain, or a timer for the next expiry.
   */
  #sweep(limit: number): void {
    const now = this.#clock.now();
    let next = this.#expiries[0];
    let removed = 0;
    while (next !== undefined && next.at < now && removed < limit) {
      this.#popExpiry();
      const remaining = this.#entries.getRemainingTTL(next.key);
      if (remaining < 0) this.#entries.delete(next.key);
      // lru-cache read the clock a moment after us when the entry was stored, so it may expire a little
      // later than its record says: keep a record of it, or it would stay until someone reads it.
      else if (Number.isFinite(remaining)) this.#pushExpiry({ at: now + remaining, key: next.key });
      removed++;
      next = this.#expiries[0];
    }
    this.#cancelSweeps();
    if (next === undefined) return;
    if (next.at < now) {
      // More are due: go on after other work had its turn, so that a mass expiry never stalls the loop.
      this.#timerAt = next.at;
      // Not unref()ed: an unref()ed immediate lets the loop sleep in its poll phase until the next timer.
      // A sweep ends within a few turns, so it holds the process only that long.
      this.#slice = setImmediate(() => {
        this.#sweep(SWEEP_SLICE);
      });
      return;
    }
    this.#schedule(next.at, now);
  }

  /** The size of a value to store (0 when sizes are not tracked); refuses a value larger than max-size. */
  #checkedSize(key: string, value: unknown): number {
    if (this.#maxSize === undefined) return 0;
    const size = storedSize(value);
    if (size > this.#maxSize) {
      throw new BackendError(
        `the value of ${String(size)} bytes exceeds max-size (${String(this.#maxSize)} bytes) of the memory backend`,
        { key },
      );
    }
    return size;
  }

  #store(
    key: string,
    value: unknown,
    size: number,
    timeToLive: number | undefined,
    now = timeToLive === undefined ? 0 : this.#clock.now(),
  ): void {
    this.#entries.set(key, value === undefined ? UNDEFINED_VALUE : (value as StoredValue), {
      ttl: timeToLive ?? 0,
      size,
    });
    if (timeToLive === undefined) return;
    this.#pushExpiry({ at: now + timeToLive, key });
    // Records of overwritten keys pile up in the heap; rebuild it from the live entries when they dominate.
    if (this.#expiries.length > 2 * this.#entries.size + 1024) this.#rebuildExpiries(now);
    if (now + timeToLive < this.#timerAt) this.#schedule(now + timeToLive, now);
  }

  #cancelSweeps(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#slice !== undefined) clearImmediate(this.#slice);
    this.#timer = undefined;
    this.#slice = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  #schedule(at: number, now: number): void {
    this.#cancelSweeps();
    this.#timerAt = at;
    this.#timer = setTimeout(
      () => {
        this.#sweep(SWEEP_SLICE);
      },
      Math.min(Math.max(at - now + 1, 1), LONGEST_TIMER),
    );
    this.#timer.unref();
  }

  #resetExpiries(): void {
    this.#cancelSweeps();
    this.#expiries = [];
  }

  #rebuildExpiries(now: number): void {
    // keys() skips expired entries, so remove those first or they would lose their only record.
    this.#entries.purgeStale();
    this.#expiries = [];
    for (const key of this.#entries.keys()) {
      const remaining = this.#entries.getRemainingTTL(key);
      if (Number.isFinite(remaining)) this.#pushExpiry({ at: now + remaining, key });
    }
  }

  #pushExpiry(expiry: Expiry): void {
    const heap = this.#expiries;
    let index = heap.push(expiry) - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const parentExpiry = heap[parent] as Expiry;
      if (parentExpiry.at <= expiry.at) break;
      heap[index] = parentExpiry;
      index = parent;
    }
    heap[index] = expiry;
  }

  #popExpiry(): void {
    const heap = this.#expiries;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && (heap[right] as Expiry).at < (heap[left] as Expiry).at ? right : left;
      if ((heap[child] as Expiry).at >= last.at) break;
      heap[index] = heap[child] as Expiry;
      index = child;
    }
    heap[index] = last;
  }
}
