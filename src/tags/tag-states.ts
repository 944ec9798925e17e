import type { AsyncBackend, NearView, SyncBackend } from "../backends/contract.js";
import { checkedEntry, type EntryMetadata, openEnvelope } from "../cache/envelope.js";
import { GONE, judge, newExpiry, newGeneration, stampsOf, stateKeys, stateText } from "./tag-state.js";

/** Answered by {@link TagStates.admitAtHand} when the states are not at hand: the caller reads them. */
export const NEEDS_READ: unique symbol = Symbol("cachetory.needsRead");

/** The states of some tags, read ahead of the entry that carries them (see {@link TagStates.prefetch}). */
export interface PrefetchedStates {
  readonly keys: readonly string[];
  readonly states: Promise<unknown[]>;
}

/** An envelope opened once: its metadata and its tags' state keys. */
interface Opened {
  readonly metadata: EntryMetadata;
  readonly keys: readonly string[];
}

/** How many keys {@link TagStates} remembers the tags of, for reading their states alongside the next read. */
const RECENT_KEYS = 10_000;

/** Where an async cache finds its tags' states: the backend, and its synchronous views when it has them. */
export interface TagStatesHost {
  readonly backend: AsyncBackend;
  /** The backend's `synchronous` capability (an in-process store): states read and written at once. */
  readonly inProcess: SyncBackend | undefined;
  /** The near tier's view: states held near (kept coherent like any key) are read with no I/O. */
  readonly near: NearView | undefined;
  /** The prefix of the cache that is no namespace: a tag means the same in every namespace of it. */
  readonly rootPrefix: string;
}

/**
 * The tags' states of one cache (and its namespaces) over an async backend: checks entries against
 * them, stamps what is written, and changes them for `deleteByTag` and `expireByTag`. See tag-state.ts
 * for the design.
 */
export class TagStates {
  readonly #host: TagStatesHost;
  /**
   * The state keys of the tags last seen on the entries of keys read through the backend (no
   * synchronous view), oldest first.
   */
  readonly #recent = new Map<string, readonly string[]>();
  /**
   * Envelopes already opened, by identity: a near tier or an in-process store hands back the same object
   * on every hit, which is then not parsed again.
   */
  readonly #opened = new WeakMap<object, Opened>();
  /**
   * The state reads issued in this tick, by key, not yet sent (a backend that batches sends them on
   * `process.nextTick`): concurrent tagged reads of one tag share one, so 64 reads in flight cost one
   * read of each state, not 64. A read already sent is never joined: it may predate a change.
   */
  readonly #readsThisTick = new Map<string, Promise<unknown>>();
  /** The same for a whole list of state keys (as {@link TagStates.#keysOf} hands it out), by identity. */
  readonly #listsThisTick = new Map<readonly string[], Promise<unknown[]>>();
  /** The state keys of each list of tags, one array per list (bounded: emptied past 10 000 lists). */
  readonly #keysByTags = new Map<string, readonly string[]>();

  constructor(host: TagStatesHost) {
    this.#host = host;
  }

  /**
   * Starts reading the states of `tags` now, in the same round trip as a read of the entry about to be
   * sent (the two are pipelined on one connection): a tagged read then costs no second round trip.
   * `undefined` when the states are at hand anyway (an in-process store, a near tier).
   */
  prefetch(tags: readonly string[]): PrefetchedStates | undefined {
    if (tags.length === 0 || this.#host.inProcess !== undefined || this.#host.near !== undefined) return undefined;
    return this.#prefetchKeys(this.#keysOf(tags));
  }

  #prefetchKeys(keys: readonly string[]): PrefetchedStates {
    const states = this.#read(keys);
    // Its failure is the read's, when the read uses it; unused, it is nobody's.
    states.catch(() => undefined);
    return { keys, states };
  }

  /** {@link TagStates.prefetch} for the tags the entry of `backendKey` had when last read, if any. */
  prefetchFor(backendKey: string): PrefetchedStates | undefined {
    if (this.#recent.size === 0) return undefined;
    const keys = this.#recent.get(backendKey);
    return keys === undefined ? undefined : this.#prefetchKeys(keys);
  }

  /** Remembers the tags of the entry of `backendKey` (bounded: the oldest key is forgotten first). */
  #remember(backendKey: string, keys: readonly string[]): void {
    if (this.#host.inProcess !== undefined || this.#host.near !== undefined) return;
    // Known already (the common case): kept where it is, which costs no reordering.
    if (this.#recent.get(backendKey) === keys) return;
    this.#recent.delete(backendKey);
    this.#recent.set(backendKey, keys);
    if (this.#recent.size > RECENT_KEYS) this.#recent.delete(this.#recent.keys().next().value as string);
  }

  /** Forgets the tags of `backendKey`: its entry, read again, had none. */
  forgetRecent(backendKey: string): void {
    this.#recent.delete(backendKey);
  }

  /** The states of `keys` when every one is at hand (absent ones as `undefined`), else `undefined`. */
  #atHand(keys: readonly string[]): unknown[] | undefined {
    const { inProcess, near } = this.#host;
    if (inProcess !== undefined) {
      try {
        return keys.map((key) => inProcess.get(key));
      } catch {
        return undefined;
      }
    }
    if (near === undefined) return undefined;
    const states: unknown[] = [];
    for (const key of keys) {
      const entry = near.peek(key);
      if (entry === undefined) return undefined;
      // Held near as bytes: turned into text once, on the first hit.
      if (entry.decodedBy !== this) {
        entry.decoded = stateText(entry.stored);
        entry.decodedBy = this;
      }
      states.push(entry.decoded);
    }
    return states;
  }

  /**
   * Reads the states, one `get` per key: a backend that batches the gets of a tick (Redis) sends them in
   * the same `MGET` as the tick's other reads, entries included.
   */
  #read(keys: readonly string[]): Promise<unknown[]> {
    const lists = this.#listsThisTick;
    let read = lists.get(keys);
    if (read === undefined) {
      this.#clearAtNextTick();
      read = Promise.all(keys.map((key) => this.#readOne(key)));
      lists.set(keys, read);
    }
    return read;
  }

  #readOne(key: string): Promise<unknown> {
    const shared = this.#readsThisTick;
    let read = shared.get(key);
    if (read !== undefined) return read;
    this.#clearAtNextTick();
    // As text once, however many readers share it.
    read = this.#host.backend.get(key).then(stateText);
    shared.set(key, read);
    return read;
  }

  #clearAtNextTick(): void {
    if (this.#readsThisTick.size > 0 || this.#listsThisTick.size > 0) return;
    process.nextTick(() => {
      this.#readsThisTick.clear();
      this.#listsThisTick.clear();
    });
  }

  /** {@link stateKeys} of `tags`: the same array for the same list, so that reads of it can be shared. */
  #keysOf(tags: readonly string[]): readonly string[] {
    // An injective name of the list: a lone tag behind a marker no list's name starts with, else each
    // tag behind its length.
    const name =
      tags.length === 1 ? `\u0001${tags[0] as string}` : tags.map((tag) => `${String(tag.length)}:${tag}`).join("");
    let keys = this.#keysByTags.get(name);
    if (keys === undefined) {
      if (this.#keysByTags.size >= RECENT_KEYS) this.#keysByTags.clear();
      this.#keysByTags.set(name, (keys = stateKeys(this.#host.rootPrefix, tags)));
    }
    return keys;
  }

  /** The metadata and state keys of a tagged envelope, or `undefined` when it does not open. */
  #open(wire: unknown): Opened | undefined {
    const known = typeof wire === "object" && wire !== null ? this.#opened.get(wire) : undefined;
    if (known !== undefined) return known;
    const metadata = metadataOf(wire);
    if (metadata === undefined) return undefined;
    const opened = { metadata, keys: this.#keysOf(metadata.tags) };
    if (typeof wire === "object" && wire !== null) this.#opened.set(wire, opened);
    return opened;
  }

  /**
   * A tagged entry as its reader is to see it: {@link GONE} when one of its tags was deleted since it was
   * written (or a tag's state is missing), an entry with earlier times when one was expired since
   * ({@link GONE} once those have all passed), else `wire` itself. An envelope that does not open is
   * left to the decoder, which reports it.
   */
  admitAtHand(wire: unknown): unknown {
    const opened = this.#open(wire);
    if (opened === undefined) return wire;
    const states = this.#atHand(opened.keys);
    return states === undefined ? NEEDS_READ : admitted(wire, opened.metadata, states);
  }

  /**
   * As {@link TagStates.admitAtHand}, reading the states when they are not at hand (or taking them from
   * `prefetched` when it holds them all); rejects as the backend does. With `backendKey`, the entry's
   * tags are remembered for the next read of it.
   */
  async admit(wire: unknown, backendKey?: string, prefetched?: PrefetchedStates): Promise<unknown> {
    const opened = this.#open(wire);
    if (opened === undefined) return wire;
    const { metadata, keys } = opened;
    if (backendKey !== undefined) this.#remember(backendKey, keys);
    const atHand = this.#atHand(keys);
    if (atHand !== undefined) return admitted(wire, metadata, atHand);
    // The same tags as read ahead (the common case): the very same list of keys.
    if (prefetched?.keys === keys) return admitted(wire, metadata, await prefetched.states);
    return admitted(wire, metadata, await this.#read(keys));
  }

  /**
   * `wire` judged against `states`, read ahead as `prefetched`, when its tags are still those
   * ({@link NEEDS_READ} otherwise).
   */
  admitWith(wire: unknown, prefetched: PrefetchedStates, states: readonly unknown[]): unknown {
    const opened = this.#open(wire);
    if (opened === undefined) return wire;
    return opened.keys === prefetched.keys ? admitted(wire, opened.metadata, states) : NEEDS_READ;
  }

  /**
   * Several tagged entries, with one read of every state not at hand: each as {@link TagStates.admit}
   * answers it, in order.
   */
  async admitMany(wires: readonly unknown[]): Promise<unknown[]> {
    const opened = wires.map((wire) => this.#open(wire));
    const keys = [...new Set(opened.flatMap((each) => each?.keys ?? []))];
    const states = this.#atHand(keys) ?? (await this.#read(keys));
    const byKey = new Map(keys.map((key, index) => [key, states[index]]));
    return wires.map((wire, index) => {
      const each = opened[index];
      if (each === undefined) return wire;
      return admitted(
        wire,
        each.metadata,
        each.keys.map((key) => byKey.get(key)),
      );
    });
  }

  /**
   * The stamps for an entry with `tags`, as the states stand now: at once when they are at hand, else
   * read (one round trip), creating the state of a tag that has none (one more).
   */
  stamps(tags: readonly string[]): readonly string[] | Promise<readonly string[]> {
    if (tags.length === 0) return tags;
    const keys = stateKeys(this.#host.rootPrefix, tags);
    const states = this.#atHand(keys);
    const { inProcess } = this.#host;
    if (states !== undefined) {
      const stamps = stampsOf(states);
      if (!stamps.includes(undefined)) return stamps as string[];
      if (inProcess !== undefined) {
        createMissing(keys, states, (key, value) => inProcess.set(key, value, { ifNotExists: true }));
        return stampsOf(keys.map((key) => inProcess.get(key))).map((stamp) => stamp ?? "");
      }
    }
    return this.#stampsRead(keys, states);
  }

  async #stampsRead(keys: readonly string[], known: unknown[] | undefined): Promise<readonly string[]> {
    const states = known ?? (await this.#read(keys));
    if (!stampsOf(states).includes(undefined)) return stampsOf(states) as string[];
    const { backend } = this.#host;
    await Promise.all(createMissing(keys, states, (key, value) => backend.set(key, value, { ifNotExists: true })));
    // Created, or created meanwhile by another writer: read again. A state still missing (evicted at
    // once) stamps nothing, so the entry reads as deleted: fail safe.
    return stampsOf(await this.#read(keys)).map((stamp) => stamp ?? "");
  }

  /**
   * Deletes (every entry carrying one of `tags` reads as gone) or expires (stale from now) by tag: one
   * write of one key per tag, whatever the number of entries.
   */
  async invalidate(tags: readonly string[], how: "delete" | "expire"): Promise<void> {
    if (tags.length === 0) return;
    const writes = invalidation(this.#host.rootPrefix, tags, how);
    const { inProcess } = this.#host;
    if (inProcess !== undefined) inProcess.setMany(writes, undefined);
    else await this.#host.backend.setMany(writes, undefined);
  }
}

/** The writes of a `deleteByTag` or an `expireByTag`: the generation or the expiry key of each tag. */
export function invalidation(
  rootPrefix: string,
  tags: readonly string[],
  how: "delete" | "expire",
): [string, string][] {
  const keys = stateKeys(rootPrefix, tags);
  const now = Date.now();
  const writes: [string, string][] = [];
  for (let index = how === "delete" ? 0 : 1; index < keys.length; index += 2) {
    writes.push([keys[index] as string, how === "delete" ? newGeneration() : newExpiry(now)]);
  }
  return writes;
}

/**
 * Creates the missing states among `states` (interleaved as `keys`) through `create` (a set that stores
 * only when absent): a new generation, and an expiry as old as can be, so that an entry stamped before a
 * state was evicted never matches the new one. Returns what `create` returned.
 */
export function createMissing<T>(
  keys: readonly string[],
  states: readonly unknown[],
  create: (key: string, value: string) => T,
): T[] {
  const created: T[] = [];
  for (let index = 0; index < keys.length; index++) {
    if (states[index] !== undefined) continue;
    created.push(create(keys[index] as string, index % 2 === 0 ? newGeneration() : newExpiry(0)));
  }
  return created;
}

/** The metadata of a tagged envelope, or `undefined` when it does not open (the decoder then reports it). */
export function metadataOf(wire: unknown): EntryMetadata | undefined {
  try {
    return openEnvelope(wire).metadata;
  } catch {
    return undefined;
  }
}

/** `wire` judged against its tags' states: see {@link TagStates.admitAtHand}. */
export function admitted(wire: unknown, metadata: EntryMetadata, states: readonly unknown[]): unknown {
  const verdict = judge(metadata, states);
  if (verdict === GONE) return GONE;
  if (verdict === metadata) return wire;
  // Expired by tag: served by the same rules as an entry that expired on its own at that time.
  return Date.now() >= verdict.graceUntil ? GONE : checkedEntry(wire, verdict);
}
