import type { AsyncBackend, BackendScanOptions, BackendScanPage, BackendSetOptions } from "../contract.js";
import { runAsync } from "./async-io.js";
import type { FileSteps } from "./requests.js";
import { FileStoreCore } from "./store.js";
import type { FileSweepReport } from "./sweeper.js";
import type { FileSettings } from "./url.js";

/** How many entries of a batch are read or written at once. */
const BATCH_CONCURRENCY = 16;

/**
 * The file backend's operations with `node:fs/promises`, on keys and byte values already checked (the
 * `CheckedBackend` layer over it checks them): every file call runs in libuv's thread pool, and a large
 * value's checksum is computed in slices, so the event loop never waits on a file.
 */
export class AsyncFileStore implements AsyncBackend<Buffer> {
  readonly capabilities = { bytesOnly: true, atomicBatches: "none" } as const;
  readonly #core: FileStoreCore;

  /** @throws BackendError when the directory cannot be created. */
  constructor(settings: FileSettings) {
    this.#core = new FileStoreCore(settings);
  }

  async #run<T>(operation: string, key: string | undefined, make: (key: Buffer) => FileSteps<T>): Promise<T> {
    try {
      return await runAsync(this.#core.steps(operation, key, make));
    } catch (cause) {
      throw this.#core.failure(operation, key, cause);
    }
  }

  get(key: string): Promise<Buffer | undefined> {
    return this.#run("get", key, (bytes) => this.#core.entries.get(bytes));
  }

  async getMany(keys: readonly string[]): Promise<Map<string, Buffer>> {
    const distinct = [...new Set(keys)];
    const values: (Buffer | undefined)[] = [];
    await inSlices([...distinct.keys()], async (index) => {
      values[index] = await this.get(distinct[index] as string);
    });
    // In the order asked, whatever order the reads finished in.
    const found = new Map<string, Buffer>();
    for (const [index, key] of distinct.entries()) {
      const value = values[index];
      if (value !== undefined) found.set(key, value);
    }
    return found;
  }

  async set(key: string, value: Buffer, options: BackendSetOptions): Promise<boolean> {
    const size = await this.#run("set", key, (bytes) =>
      this.#core.entries.set(bytes, value, options.timeToLive, options.ifNotExists === true),
    );
    this.#core.wrote(size);
    return size > 0;
  }

  /** Entries written in parallel (not atomic); a later duplicate wins. */
  async setMany(entries: readonly (readonly [string, Buffer])[], timeToLive: number | undefined): Promise<void> {
    const last = new Map(entries);
    await inSlices([...last], ([key, value]) => this.set(key, value, { timeToLive }));
  }

  expireIn(key: string, timeToLive: number | undefined): Promise<boolean> {
    return this.#run("expireIn", key, (bytes) => this.#core.entries.expireIn(bytes, timeToLive));
  }

  delete(key: string): Promise<boolean> {
    return this.#run("delete", key, (bytes) => this.#core.entries.delete(bytes));
  }

  async deleteMany(keys: readonly string[]): Promise<number> {
    let deleted = 0;
    await inSlices([...new Set(keys)], async (key) => {
      if (await this.delete(key)) deleted++;
    });
    return deleted;
  }

  deleteIfUnchanged(key: string, value: Buffer): Promise<boolean> {
    return this.#run("delete", key, (bytes) => this.#core.entries.deleteIfUnchanged(bytes, value));
  }

  async has(key: string): Promise<boolean> {
    return (await this.ttl(key)) !== undefined;
  }

  ttl(key: string): Promise<number | null | undefined> {
    return this.#run("ttl", key, (bytes) => this.#core.entries.ttl(bytes));
  }

  scan(cursor: string, options: BackendScanOptions): Promise<BackendScanPage> {
    return this.#run("scan", undefined, () => this.#core.entries.scan(cursor, options));
  }

  /** One fan-out directory at a time. */
  async clear(prefix: string): Promise<void> {
    for (const index of this.#core.directories) {
      await this.#run("clear", undefined, () => this.#core.entries.clearDirectory(index, prefix));
    }
  }

  /** One sweep now. */
  sweep(): Promise<FileSweepReport> {
    return this.#core.sweep();
  }

  close(): Promise<void> {
    return this.#core.close();
  }
}

/** `work` on each item, `BATCH_CONCURRENCY` at a time. */
async function inSlices<T>(items: readonly T[], work: (item: T) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < items.length; start += BATCH_CONCURRENCY) {
    await Promise.all(items.slice(start, start + BATCH_CONCURRENCY).map(work));
  }
}
