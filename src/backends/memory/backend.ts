import { SyncBackendAdapter } from "../sync-adapter.js";
import { type MemoryBackendOptions, MemoryStore } from "./store.js";

/**
 * The in-process backend (`memory://?max-entries=N&max-size=BYTES`) for the async `Cache`: bounded
 * (10 000 entries by default), least-recently-used eviction, expired entries removed by a timer
 * without being read. It wraps the same store as the synchronous `MemoryBackend`.
 *
 * @example
 * ```ts
 * const cache = new Cache<User>({ backend: new MemoryBackend({ maxEntries: 50_000 }), serializer: "noop://" });
 * const same = new Cache<User>({ backend: "memory://?max-entries=50000", serializer: "noop://" });
 * ```
 */
export class MemoryBackend extends SyncBackendAdapter {
  readonly #store: MemoryStore;

  /** @throws ConfigurationError for an out-of-range option. */
  constructor(options: MemoryBackendOptions = {}) {
    const store = new MemoryStore(options);
    super(store);
    this.#store = store;
  }

  /** How many entries are held. */
  get size(): number {
    return this.#store.size;
  }

  /** Removes expired entries now (a timer does it by itself); useful with an injected clock. */
  purgeExpired(): void {
    this.#store.purgeExpired();
  }
}
