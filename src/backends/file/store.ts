import { mkdirSync } from "node:fs";
import { CacheClosedError } from "../../errors.js";
import { describeKey } from "../../internal/quote-key.js";
import { keyBytes } from "../../internal/stored-bytes.js";
import { FileEntries } from "./entries.js";
import { fileFailure } from "./failure.js";
import { FAN_OUT } from "./layout.js";
import type { FileSteps } from "./requests.js";
import { type FileSweepReport, FileSweeper } from "./sweeper.js";
import type { FileSettings } from "./url.js";

/**
 * What both flavours of the file backend share: the entries, the sweeper and the closed state, with each
 * operation's steps made here (the sync or async runner runs them) and its failures named.
 */
export class FileStoreCore {
  readonly entries: FileEntries;
  readonly directory: string;
  readonly #sweeper: FileSweeper;
  #closed = false;

  /** @throws BackendError when the directory cannot be created. */
  constructor(settings: FileSettings) {
    this.directory = settings.directory;
    try {
      mkdirSync(settings.directory, { recursive: true });
    } catch (cause) {
      throw fileFailure("open", undefined, settings.directory, cause);
    }
    this.entries = new FileEntries(settings.directory);
    this.#sweeper = new FileSweeper(this.entries, settings.bounds.maxSize);
    if (settings.bounds.sweepInterval > 0) this.#sweeper.start(settings.bounds.sweepInterval);
  }

  /** The steps of `operation` on `key`, or the error of a closed store. */
  steps<T>(operation: string, key: string | undefined, make: (key: Buffer) => FileSteps<T>): FileSteps<T> {
    if (this.#closed) {
      throw new CacheClosedError(`${operation}${describeKey(key)}: the file backend at ${this.directory} is closed`, {
        key,
      });
    }
    return make(keyBytes(key ?? ""));
  }

  /** The error for a failure of `operation`. */
  failure(operation: string, key: string | undefined, cause: unknown): Error {
    return fileFailure(operation, key, this.directory, cause);
  }

  /** The fan-out directories a `clear` goes through, one step each. */
  readonly directories: readonly number[] = Array.from({ length: FAN_OUT }, (_, index) => index);

  /** Counts bytes written, for the sweep that keeps `max-size`. */
  wrote(bytes: number): void {
    this.#sweeper.wrote(bytes);
  }

  sweep(): Promise<FileSweepReport> {
    return this.#sweeper.sweep();
  }

  /** Stops the sweeps; later calls fail with `CacheClosedError`. */
  close(): Promise<void> {
    this.#closed = true;
    return this.#sweeper.stop();
  }
}
