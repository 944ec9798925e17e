import { MemoryStore } from "./store.js";

/**
 * The synchronous in-process backend (`memory://?max-entries=N&max-size=BYTES`): bounded (10 000
 * entries by default), least-recently-used eviction, expired entries removed by a timer without
 * being read. With `noop://` it keeps references to your objects, not copies.
 *
 * @example
 * ```ts
 * const backend = new MemoryBackend({ maxEntries: 50_000, maxSize: 64 * 1024 * 1024 });
 * const cache = new SyncCache<string>({ backend, serializer: "noop://" });
 * ```
 */
export class MemoryBackend extends MemoryStore {}
