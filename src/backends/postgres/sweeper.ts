import { BackgroundTask } from "../../internal/background-task.js";
import { checkOut, type PgPoolClientLike, type PgPoolLike, type PostgresStore } from "./store.js";

/**
 * What one sweep did.
 *
 * @example
 * ```ts
 * const { swept, removed, statements } = await backend.sweep();
 * ```
 */
export interface SweepReport {
  /** `false` when another instance was sweeping (it holds the table's advisory lock), so this one did not. */
  readonly swept: boolean;
  /** Rows looked at. */
  readonly examined: number;
  /** Expired rows deleted. */
  readonly removed: number;
  /** Statements sent; each looked at most at `sweepBatch` rows. */
  readonly statements: number;
  /** Whether the sweep went through the whole table (else the next sweep goes on where this one ended). */
  readonly complete: boolean;
}

/** Steps of one sweep, at most: a very large table is swept over several rounds. */
const MAX_STEPS_PER_SWEEP = 100;

/**
 * Deletes expired rows in bounded steps, never with one `DELETE` over the table. One instance at a time
 * sweeps a table: each sweep first takes the table's session-level advisory lock (`pg_try_advisory_lock`)
 * on one connection, and an instance that does not get it skips this round. The lock goes with its
 * connection, so an instance that dies mid-sweep holds it no longer.
 *
 * A sweep walks the primary key from where the last one ended, `batch` rows a statement (each deletes the
 * expired ones among them), at most 100 statements a round.
 */
export class PostgresSweeper {
  readonly #pool: PgPoolLike;
  readonly #store: PostgresStore;
  readonly #table: string;
  readonly #batch: number;
  /** The row after which the next sweep starts (its key_prefix and key_hash; empty: the first row). */
  #after: readonly [Buffer, Buffer] = [Buffer.alloc(0), Buffer.alloc(0)];
  readonly #task = new BackgroundTask<SweepReport>(() => this.#sweepOnce());

  constructor(options: { pool: PgPoolLike; store: PostgresStore; table: string; batch: number }) {
    this.#pool = options.pool;
    this.#store = options.store;
    this.#table = options.table;
    this.#batch = options.batch;
  }

  /** Sweeps every `interval` milliseconds, in the background (the timer keeps no process alive). */
  start(interval: number): void {
    this.#task.start(interval);
  }

  /** Ends the background sweeps and waits for a sweep under way. */
  stop(): Promise<void> {
    return this.#task.stop();
  }

  /** One sweep now (joining one under way). */
  sweep(): Promise<SweepReport> {
    return this.#task.run();
  }

  async #sweepOnce(): Promise<SweepReport> {
    await this.#store.ensureTable();
    const client = await checkOut(this.#pool);
    let broken: Error | undefined;
    try {
      const { rows } = await client.query(this.#store.query("sweepLock", [this.#lockName()]));
      if (rows[0]?.["held"] !== true) {
        return { swept: false, examined: 0, removed: 0, statements: 0, complete: false };
      }
      try {
        return await this.#steps(client);
      } finally {
        await client.query(this.#store.query("sweepUnlock", [this.#lockName()]));
      }
    } catch (error) {
      // A connection that failed mid-sweep may still hold the lock: it is closed, not reused.
      broken = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async #steps(client: PgPoolClientLike): Promise<SweepReport> {
    let examined = 0;
    let removed = 0;
    let statements = 0;
    while (statements < MAX_STEPS_PER_SWEEP) {
      const { rows } = await client.query(this.#store.query("sweep", [...this.#after, this.#batch]));
      statements++;
      const row = rows[0] ?? {};
      const seen = row["examined"] as number;
      examined += seen;
      removed += row["removed"] as number;
      const last = row["last"] as [Buffer, Buffer] | null;
      if (seen < this.#batch || last === null) {
        this.#after = [Buffer.alloc(0), Buffer.alloc(0)];
        return { swept: true, examined, removed, statements, complete: true };
      }
      this.#after = last;
    }
    return { swept: true, examined, removed, statements, complete: false };
  }

  #lockName(): string {
    return `cachetory sweep ${this.#table}`;
  }
}
