import { BackgroundTask } from "../../internal/background-task.js";
import { type FileEntries, type LiveFile } from "./entries.js";
import { FAN_OUT } from "./layout.js";
import { runAsync } from "./async-io.js";

/** What one sweep did. */
export interface FileSweepReport {
  /** Expired (or unreadable) entry files removed. */
  readonly removed: number;
  /** Live entries removed to keep under `max-size`, oldest written first. */
  readonly evicted: number;
  /** The bytes of the entry files left. */
  readonly bytes: number;
}

/**
 * The file backend's sweep, in the background with `node:fs/promises` for both flavours: one fan-out
 * directory per step (the event loop served between steps), expired entries, unreadable files, temporary
 * files of dead writers and stale locks removed; then, when the entries take more than `max-size`, the
 * oldest written removed until they take 90 % of it (the margin keeps the sweep from running after every
 * write). It also runs as soon as this instance has written a tenth of `max-size` since the last sweep.
 */
export class FileSweeper {
  readonly #entries: FileEntries;
  readonly #maxSize: number;
  readonly #task = new BackgroundTask<FileSweepReport>((task) => this.#sweepOnce(task));
  #writtenSince = 0;

  constructor(entries: FileEntries, maxSize: number) {
    this.#entries = entries;
    this.#maxSize = maxSize;
  }

  /** Sweeps every `interval` milliseconds (the timer keeps no process alive). */
  start(interval: number): void {
    this.#task.start(interval);
  }

  /** Ends the background sweeps, after the step under way. */
  stop(): Promise<void> {
    return this.#task.stop();
  }

  /** A sweep that starts now, or after the one under way: it sees every write made before the call. */
  sweep(): Promise<FileSweepReport> {
    return this.#task.runAfresh();
  }

  /** Counts `bytes` written by this instance; a sweep starts when they reach a tenth of `max-size`. */
  wrote(bytes: number): void {
    if (this.#maxSize === 0 || this.#task.stopped) return;
    this.#writtenSince += bytes;
    // During a sweep the count goes on: the first write after it starts the next one.
    if (this.#writtenSince >= this.#maxSize / 10 && !this.#task.busy) {
      this.#writtenSince = 0;
      this.#task.run().catch(() => undefined);
    }
  }

  async #sweepOnce(task: BackgroundTask<FileSweepReport>): Promise<FileSweepReport> {
    let removed = 0;
    let bytes = 0;
    const live: LiveFile[] = [];
    for (let index = 0; index < FAN_OUT && !task.stopped; index++) {
      const step = await runAsync(this.#entries.sweepDirectory(index));
      removed += step.removed;
      for (const file of step.live) {
        bytes += file.size;
        if (this.#maxSize > 0) live.push(file);
      }
    }
    let evicted = 0;
    if (this.#maxSize > 0 && bytes > this.#maxSize) {
      live.sort((one, other) => one.modified - other.modified);
      const target = this.#maxSize * 0.9;
      for (const file of live) {
        if (bytes <= target || task.stopped) break;
        if (await runAsync(this.#entries.evict(file.path))) evicted++;
        bytes -= file.size;
      }
    }
    return { removed, evicted, bytes };
  }
}
