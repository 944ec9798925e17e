import type { SyncBackend } from "../backends/contract.js";
import { admitted, createMissing, invalidation, metadataOf } from "./tag-states.js";
import { stampsOf, stateKeys } from "./tag-state.js";

/** The tags' states of a `SyncCache`: {@link TagStates}' work over a synchronous backend. */
export class SyncTagStates {
  readonly #backend: SyncBackend;
  readonly #rootPrefix: string;

  constructor(backend: SyncBackend, rootPrefix: string) {
    this.#backend = backend;
    this.#rootPrefix = rootPrefix;
  }

  #read(keys: readonly string[]): unknown[] {
    const found = this.#backend.getMany(keys);
    return keys.map((key) => found.get(key));
  }

  /** A tagged entry as its reader is to see it (see `TagStates.admitAtHand`); throws as the backend does. */
  admit(wire: unknown): unknown {
    const metadata = metadataOf(wire);
    if (metadata === undefined) return wire;
    return admitted(wire, metadata, this.#read(stateKeys(this.#rootPrefix, metadata.tags)));
  }

  /** The stamps for an entry with `tags`, creating the state of a tag that has none. */
  stamps(tags: readonly string[]): readonly string[] {
    if (tags.length === 0) return tags;
    const keys = stateKeys(this.#rootPrefix, tags);
    const states = this.#read(keys);
    if (!stampsOf(states).includes(undefined)) return stampsOf(states) as string[];
    createMissing(keys, states, (key, value) => this.#backend.set(key, value, { ifNotExists: true }));
    return stampsOf(this.#read(keys)).map((stamp) => stamp ?? "");
  }

  /** `deleteByTag` or `expireByTag`: one write of one key per tag. */
  invalidate(tags: readonly string[], how: "delete" | "expire"): void {
    if (tags.length > 0) this.#backend.setMany(invalidation(this.#rootPrefix, tags, how), undefined);
  }
}
