import { setImmediate as nextTurn } from "node:timers/promises";
import { BackgroundTask } from "../../internal/background-task.js";
import type { SqliteStore } from "./store.js";

/** Steps of one sweep, at most: a very large backlog is swept over several rounds. */
const MAX_STEPS_PER_SWEEP = 100;

/**
 * Deletes expired rows in the background in bounded steps (each one short transaction of at most `batch`
 * rows, found through the partial index on `expires_at`), yielding to the event loop between steps, so that
 * neither the process nor another process waiting for the write lock waits long. A step that finds the
 * database locked ends the round: the next one tries again.
 */
export class SqliteSweeper {
  readonly #store: SqliteStore;
  readonly #batch: number;
  readonly #task = new BackgroundTask<number>((task) => this.#sweepOnce(task));

  constructor(store: SqliteStore, batch: number) {
    this.#store = store;
    this.#batch = batch;
  }

  /** Sweeps every `interval` milliseconds (the timer keeps no process alive). */
  start(interval: number): void {
    this.#task.start(interval);
  }

  /** Ends the background sweeps, after the step under way. */
  stop(): Promise<void> {
    return this.#task.stop();
  }

  /** One sweep now (joining one under way); how many expired rows it deleted. */
  sweep(): Promise<number> {
    return this.#task.run();
  }

  async #sweepOnce(task: BackgroundTask<number>): Promise<number> {
    let removed = 0;
    for (let step = 0; step < MAX_STEPS_PER_SWEEP; step++) {
      const deleted = this.#store.sweepStep(this.#batch);
      removed += deleted;
      if (deleted < this.#batch || task.stopped) break;
      await nextTurn();
    }
    return removed;
  }
}
