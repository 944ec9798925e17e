import { randomUUID } from "node:crypto";
import type { AsyncBackend, BackendLocks, NearEntry, NearView, SyncBackend } from "../backends/contract.js";
import { CacheError, CacheTimeoutError } from "../errors.js";
import { causeMessage } from "../internal/error-kinds.js";
import { quoteKey } from "../internal/quote-key.js";
import type { CacheCore } from "./cache-core.js";
import { UNDECODABLE } from "./codec.js";
import {
  type EntryMetadata,
  entryMetadata,
  FENCE_DIGITS,
  FENCE_MARKER,
  FENCE_OFFSET,
  freshUntilOf,
  hasTags,
  inGrace,
} from "./envelope.js";
import type { Factory, ReadThroughPlan } from "./get-or-set-options.js";
import { metadataOf, NEEDS_READ, type PrefetchedStates, type TagStates } from "../tags/tag-states.js";
import { GONE } from "../tags/tag-state.js";
import type { OperationStats } from "../observability/operation-stats.js";
import type { Channel } from "node:diagnostics_channel";
import { EVENT_CHANNELS } from "../observability/channels.js";

/** What the cache hands the read-through engine: its synchronous views and its backend calls. */
export interface ReadThroughHost<V> {
  readonly core: CacheCore<V>;
  readonly backend: AsyncBackend;
  /** The backend's synchronous view, when it is in-process and its values decode without a promise. */
  readonly inProcess: SyncBackend | undefined;
  /** The near tier's view, with `near`. */
  readonly near: NearView | undefined;
  /** The tags' states, which decide whether a tagged entry is current. */
  readonly tags: TagStates;
  /** The cache's counters of hits and misses, which `getOrSet` adds to. */
  readonly counts: OperationStats;
  /** Reads `backendKey` through the backend (in order with the cache's pending writes); rejects as the backend does. */
  read(backendKey: string): Promise<unknown>;
  /** Writes through the backend; rejects as the backend does. */
  write(backendKey: string, wire: unknown, timeToLive: number | undefined): Promise<boolean>;
  /** Deletes an entry that did not decode, by the cache's policy; never rejects. */
  deleteUndecodable(backendKey: string, wire: unknown, key: string): Promise<void>;
  /** Removes an entry its tags said is gone (only while it holds `wire`), in the background. */
  discard(backendKey: string, wire: unknown): void;
}

/** The counters `getOrSet` adds to `cache.stats`. */
export interface ReadThroughStats {
  /** Stale values served (within `staleWhileRevalidate`, or within `grace` when the refresh could not answer). */
  readonly staleHits: number;
  /** Recomputations of a value that was still stored (stale, in grace, or refreshed early). */
  readonly refreshes: number;
}

/**
 * How one `getOrSet` was answered, for its trace: the tier that held the entry, whether a stored value
 * answered (fresh or stale) rather than a computation, and whether it was stale.
 */
export interface ReadOutcome {
  tier: "near" | "backend";
  hit: boolean;
  stale: boolean;
}

/** What an untraced call records into: only `tier` is read (to count near hits); the rest is ignored. */
// Frozen: shared by every untraced call, so a write to one would be a bug (and throws, in a module).
const NEAR_SINK: ReadOutcome = Object.freeze({ tier: "near", hit: true, stale: false });
const BACKEND_SINK: ReadOutcome = Object.freeze({ tier: "backend", hit: true, stale: false });

/** How a failed backend read is handled: by the cache's `failedReads` policy, or as a miss (for `cached`). */
export type ReadFailureMode = "policy" | "miss";

/** A computation of one key in this process, shared by every caller that asks for it meanwhile. */
interface Flight<V> {
  readonly result: Promise<V>;
  /** Set when the key was deleted meanwhile: the value is still the callers', but no longer stored. */
  detached: boolean;
  /** The tags it stores its value with: a `deleteByTag` of one of them detaches it. */
  readonly tags: readonly string[];
}

/** How a wait for the distributed lock ended: holding it, with another's value, told to skip, or given up. */
interface LockWait<V> {
  readonly held?: { readonly name: string; readonly token: string };
  readonly found?: { readonly value: V };
  readonly skip?: boolean;
  readonly fence: number;
}

/** What a caller has in hand while a computation runs: the stale value, if any. */
interface Stale<V> {
  readonly value: V;
  readonly metadata: EntryMetadata;
}

const NOT_DECODED: unique symbol = Symbol("cachetory.notDecoded");
const NOT_AT_HAND: unique symbol = Symbol("cachetory.notAtHand");
/** Appended to a key (prefix included) for the name of its lock: a NUL, which keys hardly ever hold. */
/** What follows a key in the name of its `lock: "distributed"` lock. */
export const LOCK_SUFFIX = "\u0000lock";
const FIRST_WAIT_MS = 10;
const LONGEST_WAIT_MS = 250;

/** Waits `milliseconds`, or rejects with the signal's reason when it aborts first. */
function pause(milliseconds: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, milliseconds);
    function onAbort(): void {
      clearTimeout(timer);
      reject(signal.reason as Error);
    }
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * `getOrSet`: the state machine of docs/get-or-set.md over any backend. A stored value is fresh, stale
 * (served at once, refreshed in the background), in grace (served only when the refresh cannot answer)
 * or gone; computations of a key are shared per process, and with `lock: "distributed"` across
 * instances through the backend's locks, their writes fenced so that a late one never replaces a newer.
 */
export class ReadThrough<V> {
  readonly #host: ReadThroughHost<V>;
  /** The computations running, by backend key: shared with the namespaces of the cache (their keys differ). */
  readonly #flights: Map<string, Flight<V>>;
  readonly #failures = new WeakMap<object, Error>();
  #staleHits = 0;
  #refreshes = 0;
  #warnedNoLocks = false;

  /** @param sharing - The engine of the cache a namespace views: one table of computations for both. */
  constructor(host: ReadThroughHost<V>, sharing?: ReadThrough<V>) {
    this.#host = host;
    this.#flights = sharing === undefined ? new Map<string, Flight<V>>() : sharing.#flights;
  }

  /** The counters, as numbers. */
  get stats(): ReadThroughStats {
    return { staleHits: this.#staleHits, refreshes: this.#refreshes };
  }

  /** Back to zero. */
  resetStats(): void {
    this.#staleHits = 0;
    this.#refreshes = 0;
  }

  /** Detaches the running computation of `backendKey` (the key was deleted): it will not store, and later calls start afresh. */
  forget(backendKey: string): void {
    const flight = this.#flights.get(backendKey);
    if (flight === undefined) return;
    flight.detached = true;
    this.#flights.delete(backendKey);
  }

  /** Detaches every running computation that would store its value with one of `tags` (deleted or expired by tag). */
  forgetTagged(tags: readonly string[]): void {
    const wanted = new Set(tags);
    for (const [backendKey, flight] of [...this.#flights]) {
      if (flight.tags.some((tag) => wanted.has(tag))) this.forget(backendKey);
    }
  }

  /** Detaches every running computation of a key under `prefix` (the cache or a namespace was cleared). */
  forgetUnder(prefix: string): void {
    for (const backendKey of [...this.#flights.keys()]) if (backendKey.startsWith(prefix)) this.forget(backendKey);
  }

  /**
   * The value of `key` by the state table: fresh, stale, in grace, or computed by `factory`.
   *
   * @throws what `factory` throws when there is no stale value to serve; `CacheTimeoutError` past
   *   `timeout.hard`; `BackendError` when the backend fails and the policy throws; `CacheClosedError`.
   */
  getOrSet(
    key: string,
    factory: Factory<V>,
    plan: ReadThroughPlan,
    mode: ReadFailureMode,
    traced?: ReadOutcome,
  ): Promise<V> {
    const host = this.#host;
    let outcome = traced ?? BACKEND_SINK;
    const backendKey = host.core.backendKey(key);
    // The synchronous views first, without allocating: a hit answers here.
    const local = host.inProcess;
    if (local !== undefined) {
      let wire: unknown = NOT_AT_HAND;
      try {
        wire = local.get(backendKey);
      } catch {
        // The promise path reads again, and reports and decides by the policy.
      }
      if (wire === undefined) return this.#compute(key, backendKey, factory, plan, undefined, outcome);
      if (wire !== NOT_AT_HAND) return this.#answer(key, backendKey, wire, NOT_DECODED, factory, plan, mode, outcome);
    } else {
      const entry: NearEntry | undefined = host.near?.peek(backendKey);
      if (entry !== undefined) {
        if (traced === undefined) outcome = NEAR_SINK;
        else traced.tier = "near";
        const { codec } = host.core;
        const decoded =
          entry.decodedBy === codec || entry.decodedBy === codec.taggedOwner ? entry.decoded : NOT_DECODED;
        return this.#answer(key, backendKey, entry.stored, decoded, factory, plan, mode, outcome);
      }
    }
    const read = host.read(backendKey);
    // The states of the tags this call would store with, in the same round trip as the entry.
    const prefetched = plan.tags.length === 0 ? undefined : host.tags.prefetch(plan.tags);
    return read.then(
      (wire) => {
        if (wire === undefined) return this.#compute(key, backendKey, factory, plan, undefined, outcome);
        if (typeof wire === "object" && wire !== null && hasTags(wire)) {
          return this.#answerWithTags(key, backendKey, wire, NOT_DECODED, factory, plan, mode, outcome, prefetched);
        }
        // A value, not a promise, when it is fresh: the read's promise then settles without adopting another.
        const value = this.#freshValue(backendKey, key, wire, NOT_DECODED, plan);
        if (value === NOT_AT_HAND) return this.#answerSlowly(key, backendKey, wire, factory, plan, outcome);
        this.#host.counts.hits++;
        return value;
      },
      (cause: unknown) => this.#readFailed(key, backendKey, cause, factory, plan, mode, outcome),
    );
  }

  /** Answers from a stored entry by its state, once its tags' states (if it has tags) have had their say. */
  #answer(
    key: string,
    backendKey: string,
    wire: unknown,
    decoded: unknown,
    factory: Factory<V>,
    plan: ReadThroughPlan,
    mode: ReadFailureMode,
    outcome: ReadOutcome,
    prefetched?: PrefetchedStates,
  ): Promise<V> {
    // Text (most caches' values) needs no look further: the hot path, as it was before tags.
    if (typeof wire !== "object" || wire === null || !hasTags(wire)) {
      const value = this.#freshValue(backendKey, key, wire, decoded, plan);
      if (value === NOT_AT_HAND) return this.#answerSlowly(key, backendKey, wire, factory, plan, outcome);
      this.#hit(outcome, false);
      return Promise.resolve(value);
    }
    return this.#answerWithTags(key, backendKey, wire, decoded, factory, plan, mode, outcome, prefetched);
  }

  /** {@link ReadThrough.#answer} of a tagged entry: its tags' states decide first. */
  #answerWithTags(
    key: string,
    backendKey: string,
    wire: unknown,
    decoded: unknown,
    factory: Factory<V>,
    plan: ReadThroughPlan,
    mode: ReadFailureMode,
    outcome: ReadOutcome,
    prefetched: PrefetchedStates | undefined,
  ): Promise<V> {
    const admitted = this.#host.tags.admitAtHand(wire);
    if (admitted === NEEDS_READ)
      return this.#answerTagged(key, backendKey, wire, factory, plan, mode, outcome, prefetched);
    if (admitted === GONE) return this.#gone(key, backendKey, wire, factory, plan, outcome);
    // The same value, its times perhaps moved earlier by an expireByTag.
    return this.#answerChecked(key, backendKey, admitted, decoded, factory, plan, outcome);
  }

  /** A tagged entry whose tags' states must be read first. */
  async #answerTagged(
    key: string,
    backendKey: string,
    wire: unknown,
    factory: Factory<V>,
    plan: ReadThroughPlan,
    mode: ReadFailureMode,
    outcome: ReadOutcome,
    prefetched: PrefetchedStates | undefined,
  ): Promise<V> {
    let admitted: unknown;
    try {
      admitted = await this.#host.tags.admit(wire, undefined, prefetched);
    } catch (cause) {
      return this.#readFailed(key, backendKey, cause, factory, plan, mode, outcome);
    }
    if (admitted === GONE) return this.#gone(key, backendKey, wire, factory, plan, outcome);
    return this.#answerChecked(key, backendKey, admitted, NOT_DECODED, factory, plan, outcome);
  }

  /**
   * An entry its tags say is gone: removed, and computed as a miss, fenced above it (a fenced write must
   * replace it even if the removal has not happened yet).
   */
  #gone(
    key: string,
    backendKey: string,
    wire: unknown,
    factory: Factory<V>,
    plan: ReadThroughPlan,
    outcome: ReadOutcome,
  ): Promise<V> {
    try {
      this.#host.discard(backendKey, wire);
    } catch (error) {
      // A sealed entry whose seal fails, in strict mode: a SerializationError.
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return this.#compute(key, backendKey, factory, plan, undefined, outcome, metadataOf(wire)?.fence ?? 0);
  }

  /** Answers from a stored entry by its state. */
  #answerChecked(
    key: string,
    backendKey: string,
    wire: unknown,
    decoded: unknown,
    factory: Factory<V>,
    plan: ReadThroughPlan,
    outcome: ReadOutcome,
  ): Promise<V> {
    const value = this.#freshValue(backendKey, key, wire, decoded, plan);
    if (value === NOT_AT_HAND) return this.#answerSlowly(key, backendKey, wire, factory, plan, outcome);
    this.#hit(outcome, false);
    return Promise.resolve(value);
  }

  /**
   * The value of a fresh entry that needs nothing more (no early refresh, decoded on this thread), or
   * `NOT_AT_HAND` for the rest of the table: the hot path, without a promise of its own.
   */
  #freshValue(
    backendKey: string,
    key: string,
    wire: unknown,
    decoded: unknown,
    plan: ReadThroughPlan,
  ): V | typeof NOT_AT_HAND {
    const core = this.#host.core;
    if (plan.earlyRefresh !== 0 || core.serializesAsync) return NOT_AT_HAND;
    const freshUntil = freshUntilOf(wire);
    if (freshUntil !== Number.POSITIVE_INFINITY && Date.now() >= freshUntil) return NOT_AT_HAND;
    if (decoded !== NOT_DECODED) return decoded as V;
    const value = core.codec.decodeQuietly(key, wire);
    // Undecodable: the slow path reports it by the policy and computes.
    if (value === UNDECODABLE) return NOT_AT_HAND;
    this.#host.near?.remember(backendKey, wire, value, core.codec.ownerFor(wire));
    return value;
  }

  async #answerSlowly(
    key: string,
    backendKey: string,
    wire: unknown,
    factory: Factory<V>,
    plan: ReadThroughPlan,
    outcome: ReadOutcome,
  ): Promise<V> {
    const entry = await this.#open(key, wire);
    if (entry === UNDECODABLE) return this.#undecodable(key, backendKey, wire, factory, plan, outcome);
    const { value, metadata } = entry;
    this.#host.near?.remember(backendKey, wire, value, this.#host.core.codec.ownerFor(wire));
    const now = Date.now();
    if (now < metadata.freshUntil) {
      // XFetch: refresh ahead with a probability that grows as expiry nears, scaled by what computing took.
      if (
        plan.earlyRefresh > 0 &&
        now - metadata.computeMs * plan.earlyRefresh * Math.log(Math.random()) >= metadata.freshUntil
      ) {
        this.#refreshInBackground(key, backendKey, factory, plan, entry);
      }
      this.#hit(outcome, false);
      return value;
    }
    if (now < metadata.staleUntil) {
      this.#staleHits++;
      this.#refreshInBackground(key, backendKey, factory, plan, entry);
      this.#hit(outcome, true);
      return value;
    }
    if (now < metadata.graceUntil) return this.#refreshOrStale(key, backendKey, factory, plan, entry, outcome);
    // Still stored past its grace (another machine's clock): a miss.
    return this.#compute(key, backendKey, factory, plan, undefined, outcome, metadata.fence);
  }

  /** The value and metadata of a stored entry, or `UNDECODABLE` (reported by the policy, or thrown by it). */
  #open(key: string, wire: unknown): Stale<V> | typeof UNDECODABLE | Promise<Stale<V> | typeof UNDECODABLE> {
    const core = this.#host.core;
    return core.serializesAsync ? core.decodeStoredEntryAsync(key, wire) : core.decodeStoredEntry(key, wire);
  }

  async #undecodable(
    key: string,
    backendKey: string,
    wire: unknown,
    factory: Factory<V>,
    plan: ReadThroughPlan,
    outcome: ReadOutcome,
  ): Promise<V> {
    await this.#host.deleteUndecodable(backendKey, wire, key);
    return this.#compute(key, backendKey, factory, plan, undefined, outcome);
  }

  /**
   * A failed read: within grace, the value the near tier last held; otherwise the policy's error, or
   * (failedReads "miss", or `cached`) a computation.
   */
  async #readFailed(
    key: string,
    backendKey: string,
    cause: unknown,
    factory: Factory<V>,
    plan: ReadThroughPlan,
    mode: ReadFailureMode,
    outcome: ReadOutcome,
  ): Promise<V> {
    const policy = this.#host.core.policy;
    const fallback = this.#host.near?.fallback(backendKey);
    // A tagged one only when its tags' states are at hand and say it is current.
    const stored =
      fallback === undefined || !hasTags(fallback.stored)
        ? fallback?.stored
        : this.#host.tags.admitAtHand(fallback.stored);
    if (stored !== undefined && stored !== NEEDS_READ && stored !== GONE) {
      const entry = await this.#open(key, stored);
      if (entry !== UNDECODABLE && inGrace(entry.metadata, Date.now())) {
        policy.readFailed("getOrSet", cause, key, true);
        this.#staleHits++;
        // What the near tier set aside answered: a near hit, whichever sink the call came with.
        if (outcome === BACKEND_SINK || outcome === NEAR_SINK) this.#hit(NEAR_SINK, true);
        else {
          outcome.tier = "near";
          this.#hit(outcome, true);
        }
        return entry.value;
      }
    }
    const error =
      mode === "miss" ? policy.readFailed("getOrSet", cause, key, true) : policy.readFailed("getOrSet", cause, key);
    if (error !== undefined) throw error;
    return this.#compute(key, backendKey, factory, plan, undefined, outcome);
  }

  /** Within grace: the refreshed value, or the stale one when the refresh fails or passes `timeout.soft`. */
  async #refreshOrStale(
    key: string,
    backendKey: string,
    factory: Factory<V>,
    plan: ReadThroughPlan,
    stale: Stale<V>,
    outcome: ReadOutcome,
  ): Promise<V> {
    const flight = this.#flight(key, backendKey, factory, plan, stale);
    const graceLeft = stale.metadata.graceUntil - Date.now();
    let timer: NodeJS.Timeout | undefined;
    const soft =
      plan.softTimeout === undefined
        ? undefined
        : new Promise<typeof NOT_AT_HAND>((resolve) => {
            timer = setTimeout(resolve, Math.min(plan.softTimeout ?? graceLeft, graceLeft), NOT_AT_HAND);
          });
    try {
      const answer = await (soft === undefined ? flight.result : Promise.race([flight.result, soft]));
      if (answer !== NOT_AT_HAND) {
        // The refresh answered in time: a computed value.
        this.#missed(outcome);
        return answer;
      }
    } catch (error) {
      this.#host.core.policy.report(this.#refreshFailure(key, error), "getOrSet", key);
    } finally {
      clearTimeout(timer);
    }
    // Grace ended while this caller waited: the stale value is too old now; the computation answers.
    if (Date.now() >= stale.metadata.graceUntil) {
      this.#missed(outcome);
      return flight.result;
    }
    this.#staleHits++;
    this.#hit(outcome, true);
    return stale.value;
  }

  #refreshInBackground(
    key: string,
    backendKey: string,
    factory: Factory<V>,
    plan: ReadThroughPlan,
    stale: Stale<V>,
  ): void {
    if (this.#flights.has(backendKey)) return;
    this.#flight(key, backendKey, factory, plan, stale, true).result.catch((error: unknown) => {
      this.#host.core.policy.report(this.#refreshFailure(key, error), "getOrSet", key);
    });
  }

  /** The failure of a refresh as reported: one error however many callers it reaches, so reported once. */
  #refreshFailure(key: string, error: unknown): Error {
    if ((error as { code?: unknown } | null)?.code === "CACHETORY_TIMEOUT") return error as Error;
    const known = typeof error === "object" && error !== null ? this.#failures.get(error) : undefined;
    if (known !== undefined) return known;
    const failure = new CacheError(`the refresh of key ${quoteKey(key)} failed: ${causeMessage(error)}`, {
      key,
      cause: error,
    });
    if (typeof error === "object" && error !== null) this.#failures.set(error, failure);
    return failure;
  }

  /** A miss: the computation every caller of the key waits for. */
  #compute(
    key: string,
    backendKey: string,
    factory: Factory<V>,
    plan: ReadThroughPlan,
    stale: Stale<V> | undefined,
    outcome: ReadOutcome,
    fence = 0,
  ): Promise<V> {
    this.#missed(outcome);
    return this.#flight(key, backendKey, factory, plan, stale, false, fence).result;
  }

  /** Publishes a point event of this cache (its key only when traces carry keys), when someone listens. */
  #tell(channel: Channel, key: string, fields: object): void {
    if (!channel.hasSubscribers) return;
    const core = this.#host.core;
    channel.publish(core.traceKeys ? { cache: core.name, key, ...fields } : { cache: core.name, ...fields });
  }

  /** Counts a stored value served (by the near tier, when the call's entry was held there). */
  #hit(outcome: ReadOutcome, stale: boolean): void {
    const counts = this.#host.counts;
    counts.hits++;
    if (outcome.tier === "near") counts.nearHits++;
    if (outcome !== NEAR_SINK && outcome !== BACKEND_SINK) {
      outcome.hit = true;
      outcome.stale = stale;
    }
  }

  /** Counts a caller answered by a computation. */
  #missed(outcome: ReadOutcome): void {
    this.#host.counts.misses++;
    if (outcome !== NEAR_SINK && outcome !== BACKEND_SINK) {
      outcome.hit = false;
      outcome.stale = false;
    }
  }

  /**
   * The running computation of `backendKey`, or a new one: it takes the distributed lock when asked,
   * runs the factory, stores its value, and settles every caller, or rejects them all at `timeout.hard`.
   */
  #flight(
    key: string,
    backendKey: string,
    factory: Factory<V>,
    plan: ReadThroughPlan,
    stale: Stale<V> | undefined,
    background = false,
    fence = stale?.metadata.fence ?? 0,
  ): Flight<V> {
    const running = this.#flights.get(backendKey);
    if (running !== undefined) return running;
    if (stale !== undefined) {
      this.#refreshes++;
      this.#tell(EVENT_CHANNELS.refresh, key, { background });
    }
    const controller = new AbortController();
    let resolve!: (value: V) => void;
    let reject!: (error: unknown) => void;
    const flight: Flight<V> = {
      result: new Promise<V>((onValue, onError) => {
        resolve = onValue;
        reject = onError;
      }),
      detached: false,
      tags: plan.tags,
    };
    this.#flights.set(backendKey, flight);
    let timer: NodeJS.Timeout | undefined;
    const end = (): void => {
      clearTimeout(timer);
      if (this.#flights.get(backendKey) === flight) this.#flights.delete(backendKey);
    };
    if (plan.hardTimeout !== undefined) {
      timer = setTimeout(() => {
        const error = new CacheTimeoutError(
          `getOrSet of key ${quoteKey(key)} gave up after timeout.hard (${String(plan.hardTimeout)} ms): the factory had not answered`,
          { key },
        );
        controller.abort(error);
        end();
        reject(error);
      }, plan.hardTimeout);
    }
    this.#run(key, backendKey, factory, plan, stale, background, fence, controller.signal, flight).then(
      (value) => {
        end();
        resolve(value);
      },
      (error: unknown) => {
        end();
        reject(error);
      },
    );
    return flight;
  }

  async #run(
    key: string,
    backendKey: string,
    factory: Factory<V>,
    plan: ReadThroughPlan,
    stale: Stale<V> | undefined,
    background: boolean,
    fence: number,
    signal: AbortSignal,
    flight: Flight<V>,
  ): Promise<V> {
    const locks = plan.distributed ? this.#locks() : undefined;
    let held: { readonly name: string; readonly token: string } | undefined;
    if (locks !== undefined) {
      const outcome = await this.#holdOrWait(locks, key, backendKey, plan, background, signal, fence);
      if (outcome.found !== undefined) return outcome.found.value;
      // Another instance holds the lock and refreshes: keep serving what we have.
      if (outcome.skip && stale !== undefined) return stale.value;
      held = outcome.held;
      fence = Math.max(fence, outcome.fence);
    }
    // The tags' states as they stand before the factory runs: a deleteByTag meanwhile outdates the value.
    const stamps = plan.tags.length === 0 ? undefined : Promise.resolve(this.#host.tags.stamps(plan.tags));
    stamps?.catch(() => undefined);
    try {
      const started = performance.now();
      const value = await factory({ key, stale: stale?.value, signal });
      // Past timeout.hard every caller was told so, and a delete since it began outdates it: storing now
      // could replace a newer value.
      const wanted = !signal.aborted && !flight.detached && !((await plan.exclude?.(key, value as never)) ?? false);
      if (wanted && !flight.detached)
        await this.#store(key, backendKey, value, plan, performance.now() - started, fence + 1, locks, stamps);
      return value;
    } finally {
      if (held !== undefined) {
        locks?.release(held.name, held.token).catch((error: unknown) => {
          this.#host.core.policy.writeFailed("unlock", error, key, false);
        });
      }
    }
  }

  /** The backend's locks, or `undefined` to compute per process (said once, for a remote backend). */
  #locks(): BackendLocks | undefined {
    const capabilities = this.#host.backend.capabilities;
    const locks = capabilities?.locks;
    // An in-process store has no other instance to agree with: one computation per process is exact.
    if (locks !== undefined || capabilities?.synchronous !== undefined || this.#warnedNoLocks) return locks;
    this.#warnedNoLocks = true;
    process.emitWarning(
      `getOrSet with lock: "distributed" needs a backend with locks (Redis has them); ${this.#host.backend.constructor.name} has none, so each process computes once instead`,
      { type: "CachetoryWarning", code: "CACHETORY_NO_LOCKS" },
    );
    return undefined;
  }

  /**
   * Takes the lock of `backendKey`, or waits for its holder: polling with a growing, jittered pause (10 ms
   * to 250 ms) for a fresh value or one written since `seenFence` (the holder's), which ends the wait, or for the lock to come free (its holder died or
   * stalled past `lockTimeout`, and its lock expired). Each holder is waited for `lockTimeout` at most:
   * when the lock changes hands, the wait starts again for the new holder (twice at most), so that the
   * death of one holder costs one more computation, not one per waiting instance. Past that it computes
   * without the lock. A background refresh does not wait: someone else refreshes.
   */
  async #holdOrWait(
    locks: BackendLocks,
    key: string,
    backendKey: string,
    plan: ReadThroughPlan,
    background: boolean,
    signal: AbortSignal,
    seenFence: number,
  ): Promise<LockWait<V>> {
    const name = backendKey + LOCK_SUFFIX;
    const token = randomUUID();
    const policy = this.#host.core.policy;
    const tryLock = async (): Promise<true | string | undefined> => {
      try {
        return await locks.acquire(name, token, plan.lockTimeout);
      } catch (error) {
        policy.writeFailed("lock", error, key, false);
        return undefined;
      }
    };
    let holder = await tryLock();
    if (holder === true) return { held: { name, token }, fence: 0 };
    if (holder === undefined) return { fence: 0 };
    if (background) return { skip: true, fence: 0 };
    const waitStarted = performance.now();
    const waited = (outcome: LockWait<V>): LockWait<V> => {
      this.#tell(EVENT_CHANNELS.lockWait, key, {
        waitedMs: performance.now() - waitStarted,
        outcome: outcome.found !== undefined ? "found" : outcome.held !== undefined ? "acquired" : "gave up",
      });
      return outcome;
    };
    let deadline = performance.now() + plan.lockTimeout;
    let handovers = 0;
    let pauseMs = FIRST_WAIT_MS;
    let fence = 0;
    for (;;) {
      const left = deadline - performance.now();
      await pause(Math.max(0, Math.min(left, pauseMs * (0.75 + Math.random() / 2))), signal);
      let wire: unknown;
      try {
        wire = await this.#host.read(backendKey);
        if (hasTags(wire)) wire = await this.#host.tags.admit(wire);
      } catch {
        wire = undefined;
      }
      if (wire === GONE) wire = undefined;
      if (wire !== undefined) {
        const entry = await this.#open(key, wire);
        if (entry !== UNDECODABLE) {
          const { metadata } = entry;
          // A fresh value, or one written since we looked (the holder's answer, however short its freshness).
          const now = Date.now();
          if (now < metadata.freshUntil || (metadata.fence > seenFence && now < metadata.graceUntil)) {
            return waited({ found: { value: entry.value }, fence });
          }
          fence = Math.max(fence, metadata.fence);
        }
      }
      const now = await tryLock();
      if (now === true) return waited({ held: { name, token }, fence });
      if (now === undefined) return waited({ fence });
      if (now !== holder && handovers < 2) {
        holder = now;
        handovers++;
        deadline = performance.now() + plan.lockTimeout;
      } else if (performance.now() >= deadline) return waited({ fence });
      pauseMs = Math.min(pauseMs * 2, LONGEST_WAIT_MS);
    }
  }

  /** Stores a computed value (fenced under a distributed lock); a failure is reported, never thrown. */
  async #store(
    key: string,
    backendKey: string,
    value: V,
    plan: ReadThroughPlan,
    computeMs: number,
    fence: number,
    locks: BackendLocks | undefined,
    stamps: Promise<readonly string[]> | undefined,
  ): Promise<void> {
    const core = this.#host.core;
    let tagStamps: readonly string[] = [];
    try {
      tagStamps = (await stamps) ?? tagStamps;
    } catch (error) {
      core.policy.writeFailed("getOrSet", error, key, false);
      return;
    }
    let wire: unknown;
    try {
      if (plan.enveloped) {
        const metadata = entryMetadata(Date.now(), plan.timeToLive, plan, {
          fence,
          computeMs,
          tags: plan.tags,
          stamps: tagStamps,
        });
        // A store of any value keeps the envelope as an object: no copy, nothing to parse on a read.
        const asObject = this.#host.backend.capabilities?.bytesOnly !== true;
        wire = core.serializesAsync
          ? await core.codec.encodeEntryAsync(key, value, metadata, asObject)
          : core.codec.encodeEntry(key, value, metadata, asObject);
      } else {
        wire = core.serializesAsync ? await core.codec.encodeAsync(key, value) : core.codec.encode(key, value);
      }
    } catch (error) {
      // `undefined` is a result like any other, but some serializers (JSON) cannot hold it.
      if (value !== undefined) core.policy.report(error, "getOrSet", key);
      return;
    }
    try {
      this.#host.counts.writes++;
      if (locks === undefined) await this.#host.write(backendKey, wire, plan.storedFor);
      else {
        await locks.setFenced(backendKey, wire, plan.storedFor, {
          marker: FENCE_MARKER,
          offset: FENCE_OFFSET,
          digits: FENCE_DIGITS,
          value: fence,
        });
      }
    } catch (error) {
      core.policy.writeFailed("getOrSet", error, key, false);
    }
  }
}
