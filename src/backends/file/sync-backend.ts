import { keyRefusal } from "../../internal/key-refusal.js";
import { storedBytes } from "../../internal/stored-bytes.js";
import type { BackendScanOptions, BackendScanPage, BackendSetOptions, SyncBackend } from "../contract.js";
import { MAX_VALUE_BYTES } from "./format.js";
import { type FileBackendOptions, fileSettings } from "./options.js";
import type { FileSteps } from "./requests.js";
import { FileStoreCore } from "./store.js";
import type { FileSweepReport } from "./sweeper.js";
import { runSync } from "./sync-io.js";

export type { FileBackendOptions } from "./options.js";
export type { FileSweepReport } from "./sweeper.js";

/**
 * The file-system backend for `SyncCache` (`file:///absolute/dir?max-size=BYTES`): the same files and
 * steps as the async `FileBackend`, run with `node:fs`'s synchronous calls on the calling thread (no
 * worker: a file read is cheaper than a thread's round trip). Processes sharing the directory never read
 * half an entry; a truncated, corrupt or foreign file is a miss. The sweep of expired entries and of
 * `max-size` runs in the background with the asynchronous calls.
 *
 * @example
 * ```ts
 * const cache = new SyncCache<Config>({ backend: "file:///home/me/.cache/tool", serializer: "json://" });
 * cache.set("config", config, { timeToLive: "1d" });
 * ```
 */
export class FileBackend implements SyncBackend<Buffer> {
  /** Bytes only; `setMany` is not atomic (one file per entry). */
  readonly capabilities = { bytesOnly: true, atomicBatches: "none" } as const;
  readonly #core: FileStoreCore;

  /** @throws ConfigurationError for a bad URL or option; BackendError when the directory cannot be created. */
  constructor(options: FileBackendOptions) {
    this.#core = new FileStoreCore(fileSettings(options, "the synchronous FileBackend"));
  }

  #run<T>(operation: string, key: string | undefined, make: (key: Buffer) => FileSteps<T>): T {
    if (key !== undefined) refuseKey(operation, key);
    const steps = this.#core.steps(operation, key, make);
    try {
      return runSync(steps);
    } catch (cause) {
      throw this.#core.failure(operation, key, cause);
    }
  }

  #bytes(key: string, value: unknown): Buffer {
    return storedBytes("the file backend", key, value, MAX_VALUE_BYTES);
  }

  get(key: string): Buffer | undefined {
    return this.#run("get", key, (bytes) => this.#core.entries.get(bytes));
  }

  getMany(keys: readonly string[]): Map<string, Buffer> {
    const found = new Map<string, Buffer>();
    for (const key of keys) {
      const value = this.get(key);
      if (value !== undefined) found.set(key, value);
    }
    return found;
  }

  set(key: string, value: unknown, options: BackendSetOptions): boolean {
    const bytes = this.#bytes(key, value);
    const size = this.#run("set", key, (keyBytes) =>
      this.#core.entries.set(keyBytes, bytes, options.timeToLive, options.ifNotExists === true),
    );
    this.#core.wrote(size);
    return size > 0;
  }

  /** Entry by entry (not atomic); a later duplicate wins. */
  setMany(entries: readonly (readonly [string, unknown])[], timeToLive: number | undefined): void {
    const values = entries.map(([key, value]) => [key, this.#bytes(key, value)] as const);
    for (const [key] of values) refuseKey("setMany", key);
    for (const [key, value] of new Map(values)) this.set(key, value, { timeToLive });
  }

  expireIn(key: string, timeToLive: number | undefined): boolean {
    return this.#run("expireIn", key, (bytes) => this.#core.entries.expireIn(bytes, timeToLive));
  }

  delete(key: string): boolean {
    return this.#run("delete", key, (bytes) => this.#core.entries.delete(bytes));
  }

  deleteMany(keys: readonly string[]): number {
    for (const key of keys) refuseKey("deleteMany", key);
    return [...new Set(keys)].filter((key) => this.delete(key)).length;
  }

  deleteIfUnchanged(key: string, value: unknown): boolean {
    const bytes = this.#bytes(key, value);
    return this.#run("delete", key, (keyBytes) => this.#core.entries.deleteIfUnchanged(keyBytes, bytes));
  }

  has(key: string): boolean {
    return this.ttl(key) !== undefined;
  }

  ttl(key: string): number | null | undefined {
    return this.#run("ttl", key, (bytes) => this.#core.entries.ttl(bytes));
  }

  scan(cursor: string, options: BackendScanOptions): BackendScanPage {
    return this.#run("scan", undefined, () => this.#core.entries.scan(cursor, options));
  }

  /** One fan-out directory at a time. */
  clear(prefix: string): void {
    for (const index of this.#core.directories) {
      this.#run("clear", undefined, () => this.#core.entries.clearDirectory(index, prefix));
    }
  }

  /**
   * Removes expired entries (and, over `max-size`, the oldest written) now; also done every `sweepInterval`.
   *
   * @example
   * ```ts
   * const { removed, evicted, bytes } = await backend.sweep();
   * ```
   */
  sweep(): Promise<FileSweepReport> {
    return this.#core.sweep();
  }

  close(): void {
    void this.#core.close();
  }
}

/** @throws BackendError for a key with no UTF-8 form (it would collide with others as U+FFFD). */
function refuseKey(operation: string, key: string): void {
  const refusal = keyRefusal(operation, key);
  if (refusal !== undefined) throw refusal;
}
