import type { AsyncBackend, NearView, SyncBackend } from "../backends/contract.js";
import { checkedEntry, type EntryMetadata, openEnvelope } from "../cache/envelope.js";
import { GONE, judge, newExpiry, newGeneration, stampsOf, stateKeys } from "./tag-state.js";

/** Answered by {@link TagStates.admitAtHand} when the states are not at hand: the caller reads them. */
export const NEEDS_READ: unique symbol = Symbol("cachetory.needsRead");

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

  constructor(host: TagStatesHost) {
    this.#host = host;
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
      states.push(entry.stored);
    }
    return states;
  }

  async #read(keys: readonly string[]): Promise<unknown[]> {
    const found = await this.#host.backend.getMany(keys);
    return keys.map((key) => found.get(key));
  }

  /**
   * A tagged entry as its reader is to see it: {@link GONE} when one of its tags was deleted since it was
   * written (or a tag's state is missing), an entry with earlier times when one was expired since
   * ({@link GONE} once those have all passed), else `wire` itself. An envelope that does not open is
   * left to the decoder, which reports it.
   */
  admitAtHand(wire: unknown): unknown {
    const metadata = metadataOf(wire);
    if (metadata === undefined) return wire;
    const states = this.#atHand(stateKeys(this.#host.rootPrefix, metadata.tags));
    return states === undefined ? NEEDS_READ : admitted(wire, metadata, states);
  }

  /** As {@link TagStates.admitAtHand}, reading the states when they are not at hand; rejects as the backend does. */
  async admit(wire: unknown): Promise<unknown> {
    const metadata = metadataOf(wire);
    if (metadata === undefined) return wire;
    const keys = stateKeys(this.#host.rootPrefix, metadata.tags);
    return admitted(wire, metadata, this.#atHand(keys) ?? (await this.#read(keys)));
  }

  /**
   * Several tagged entries, with one read of every state not at hand: each as {@link TagStates.admit}
   * answers it, in order.
   */
  async admitMany(wires: readonly unknown[]): Promise<unknown[]> {
    const opened = wires.map((wire) => metadataOf(wire));
    const keys = [
      ...new Set(
        opened.flatMap((metadata) => (metadata === undefined ? [] : stateKeys(this.#host.rootPrefix, metadata.tags))),
      ),
    ];
    const states = this.#atHand(keys) ?? (await this.#read(keys));
    const byKey = new Map(keys.map((key, index) => [key, states[index]]));
    return wires.map((wire, index) => {
      const metadata = opened[index];
      if (metadata === undefined) return wire;
      return admitted(
        wire,
        metadata,
        stateKeys(this.#host.rootPrefix, metadata.tags).map((key) => byKey.get(key)),
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
