import { CheckedBackend } from "../../layers/checked.js";
import type {
  AsyncBackend,
  BackendCapabilities,
  BackendScanOptions,
  BackendScanPage,
  BackendSetOptions,
} from "../contract.js";
import { AsyncFileStore } from "./async-store.js";
import { type FileBackendOptions, fileSettings } from "./options.js";
import { MAX_VALUE_BYTES } from "./format.js";
import type { FileSweepReport } from "./sweeper.js";

export type { FileBackendOptions } from "./options.js";
export type { FileSweepReport } from "./sweeper.js";

/**
 * The file-system backend for the async `Cache` (`file:///absolute/dir?max-size=BYTES`): one file per
 * entry, named by the SHA-256 of its key in 256 fan-out directories, holding a checked header (format,
 * expiry, the key itself, checksums) before the value. A write goes to a temporary file beside the entry,
 * renamed into place, so that any number of processes can share the directory and never read half an
 * entry; a truncated, corrupt or foreign file is a miss. Every file call runs in libuv's thread pool and a
 * large value is checksummed in slices, so the event loop never waits on a file. A background sweep
 * removes expired entries and keeps the directory under `max-size`.
 *
 * @example
 * ```ts
 * const cache = new Cache<Buffer>({ backend: "file:///var/cache/app?max-size=10000000000", serializer: "noop://" });
 * ```
 */
export class FileBackend implements AsyncBackend<Buffer> {
  /** Bytes only; `setMany` is not atomic (one file per entry). */
  readonly capabilities: BackendCapabilities<Buffer> = { bytesOnly: true, atomicBatches: "none" };
  readonly #store: AsyncFileStore;
  readonly #layers: CheckedBackend;

  /** @throws ConfigurationError for a bad URL or option; BackendError when the directory cannot be created. */
  constructor(options: FileBackendOptions) {
    this.#store = new AsyncFileStore(fileSettings(options, "FileBackend"));
    this.#layers = new CheckedBackend(this.#store, { store: "the file backend", maxValueBytes: MAX_VALUE_BYTES });
  }

  get(key: string): Promise<Buffer | undefined> {
    return this.#layers.get(key);
  }

  /** 16 files read at once. */
  getMany(keys: readonly string[]): Promise<Map<string, Buffer>> {
    return this.#layers.getMany(keys);
  }

  /** With `ifNotExists`, true to its word across processes (see the docs for the one narrow exception). */
  set(key: string, value: unknown, options: BackendSetOptions): Promise<boolean> {
    return this.#layers.set(key, value, options);
  }

  /** 16 files written at once; not atomic. */
  setMany(entries: readonly (readonly [string, unknown])[], timeToLive: number | undefined): Promise<void> {
    return this.#layers.setMany(entries, timeToLive);
  }

  /** Rewrites the entry with its new expiry. */
  expireIn(key: string, timeToLive: number | undefined): Promise<boolean> {
    return this.#layers.expireIn(key, timeToLive);
  }

  delete(key: string): Promise<boolean> {
    return this.#layers.delete(key);
  }

  deleteMany(keys: readonly string[]): Promise<number> {
    return this.#layers.deleteMany(keys);
  }

  /** A replacement written meanwhile by any process is kept. */
  deleteIfUnchanged(key: string, value: unknown): Promise<boolean> {
    return this.#layers.deleteIfUnchanged(key, value);
  }

  /** Reads the header alone. */
  has(key: string): Promise<boolean> {
    return this.#layers.has(key);
  }

  /** Reads the header alone. */
  ttl(key: string): Promise<number | null | undefined> {
    return this.#layers.ttl(key);
  }

  /** Whole fan-out directories per page, until about `count` files were looked at. */
  scan(cursor: string, options: BackendScanOptions): Promise<BackendScanPage> {
    return this.#layers.scan(cursor, options);
  }

  /** One fan-out directory at a time. */
  clear(prefix: string): Promise<void> {
    return this.#layers.clear(prefix);
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
    return this.#store.sweep();
  }

  /** Stops the sweeps (after the step under way). */
  close(): Promise<void> {
    return this.#layers.close();
  }
}
