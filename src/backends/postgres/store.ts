import { BackendError } from "../../errors.js";
import { globMatcher, literalPrefix } from "../../internal/glob.js";
import { keyBytes, prefixEnd } from "../../internal/stored-bytes.js";
import type {
  AsyncBackend,
  BackendCapabilities,
  BackendScanOptions,
  BackendScanPage,
  BackendSetOptions,
} from "../contract.js";
import { KEY_PREFIX_BYTES, type PostgresStatements } from "./statements.js";

/** One statement's answer, as `pg` gives it. */
export interface PgResult {
  readonly rows: readonly Record<string, unknown>[];
  readonly rowCount: number | null;
}

/** A statement for `pg`: named, so that each connection prepares it once. */
export interface PgQuery {
  readonly name: string;
  readonly text: string;
  readonly values: readonly unknown[];
  /** `pg` gives up on the answer after this many milliseconds. */
  readonly query_timeout: number;
}

/** A connection of a pool, checked out for a series of statements. */
export interface PgPoolClientLike {
  query(query: PgQuery): Promise<PgResult>;
  release(error?: Error | boolean): void;
  /** A connection that dies while checked out emits `error`; unheard, it would end the process. */
  on?(event: "error", listener: (error: Error) => void): unknown;
}

const listenedTo = new WeakSet<PgPoolClientLike>();

/**
 * A connection of the pool, checked out with an `error` listener on it (once per connection): `pg` listens
 * only while the connection is idle in the pool, and its failure mid-statement also rejects the statement.
 */
export async function checkOut(pool: PgPoolLike): Promise<PgPoolClientLike> {
  const client = await pool.connect();
  if (!listenedTo.has(client)) {
    listenedTo.add(client);
    client.on?.("error", () => undefined);
  }
  return client;
}

/**
 * What the PostgreSQL backend uses of a `pg.Pool`: an injected pool needs only these (a `pg.Pool`, or
 * any pool with `pg`'s `query` and `connect`).
 */
export interface PgPoolLike {
  query(query: PgQuery): Promise<PgResult>;
  connect(): Promise<PgPoolClientLike>;
}

/** SQLSTATE 42P01: the statement names a table that does not exist. */
const UNDEFINED_TABLE = "42P01";

/** The SQLSTATE of an error the server sent (five characters), or `undefined` for any other failure. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * How much later than our deadline `pg` itself gives up on an answer: ours settles the call, pg's frees the
 * connection from an answer nobody waits for.
 */
const PG_GIVES_UP_AFTER_US_MS = 100;

/** How many rows one step of a prefix `clear` deletes. */
const CLEAR_BATCH = 10_000;
/** How many keys a `scan` page looks at when not told. */
const DEFAULT_SCAN_COUNT = 1000;

/**
 * The rows whose key starts with `prefix`, as a range of the indexed `key_prefix`: from the prefix's first
 * 256 bytes (inclusive) to the smallest byte string above all that start with them (exclusive).
 */
export function prefixRange(prefix: string): { from: Buffer; to: Buffer | null; whole: Buffer } {
  const whole = keyBytes(prefix);
  const from = whole.subarray(0, KEY_PREFIX_BYTES);
  return { from, to: prefixEnd(from), whole };
}

/**
 * The operations as SQL statements on one table, through a pool. It knows nothing of deadlines or the
 * breaker (the backend's layers do that); it creates the table on first use.
 */
export class PostgresStore implements AsyncBackend<Buffer> {
  readonly capabilities: BackendCapabilities<Buffer> = { bytesOnly: true, atomicBatches: "all" };
  readonly #pool: PgPoolLike;
  readonly #statements: PostgresStatements;
  readonly #names: string;
  readonly #deadline: number;
  readonly #createTable: boolean;
  #tableReady: Promise<void> | undefined;
  /** Runs when the store is closed: ends the pool we created. */
  readonly #onClose: () => Promise<void>;

  constructor(options: {
    pool: PgPoolLike;
    statements: PostgresStatements;
    table: string;
    /** The deadline of each operation (the guard's timeout): a statement not sent by then never is. */
    deadline: number;
    createTable: boolean;
    onClose: () => Promise<void>;
  }) {
    this.#pool = options.pool;
    this.#statements = options.statements;
    this.#names = `cachetory:${options.table}`;
    this.#deadline = options.deadline;
    this.#createTable = options.createTable;
    this.#onClose = options.onClose;
  }

  /** A named statement of the store, with the store's deadline. */
  query(name: keyof PostgresStatements, values: readonly unknown[]): PgQuery {
    return {
      name: `${this.#names}:${name}`,
      text: this.#statements[name],
      values,
      query_timeout: this.#deadline + PG_GIVES_UP_AFTER_US_MS,
    };
  }

  /**
   * Runs a statement once the table exists (creating it the first time). A table gone since (dropped, or
   * lost with a crash) is created again and the statement sent once more: it had failed as a whole.
   */
  async run(name: keyof PostgresStatements, values: readonly unknown[]): Promise<PgResult> {
    // The caller has been told by then (the deadline guard): what waits this long for a connection of the
    // pool is never sent.
    const giveUpAt = performance.now() + this.#deadline;
    await this.ensureTable();
    try {
      return await this.#send(name, values, giveUpAt);
    } catch (error) {
      if (sqlState(error) !== UNDEFINED_TABLE || !this.#createTable) throw error;
      this.#tableReady = undefined;
      await this.ensureTable();
      return this.#send(name, values, giveUpAt);
    }
  }

  /**
   * One statement on a connection of the pool. A connection whose statement timed out or failed below SQL
   * (the socket) is closed rather than handed back: it may still be busy with a statement nobody awaits.
   */
  async #send(name: keyof PostgresStatements, values: readonly unknown[], giveUpAt: number): Promise<PgResult> {
    const client = await checkOut(this.#pool);
    if (performance.now() > giveUpAt) {
      client.release();
      throw new BackendError(`${name}: no connection of the pool was free before the deadline; nothing was sent`);
    }
    let failure: Error | undefined;
    try {
      return await client.query(this.query(name, values));
    } catch (error) {
      if (sqlState(error) === undefined) failure = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      client.release(failure);
    }
  }

  /** Creates the table when absent (once; a failure is tried again next time). */
  ensureTable(): Promise<void> {
    if (!this.#createTable) return Promise.resolve();
    this.#tableReady ??= this.#pool.query({ ...this.query("createTable", []), name: "" }).then(
      () => undefined,
      (error: unknown) => {
        this.#tableReady = undefined;
        // Two instances creating the table at once: one wins, the other's CREATE … IF NOT EXISTS may still
        // fail on the catalog's unique index. The table is there either way.
        const code = sqlState(error);
        if (code === "23505" || code === "42P07") return;
        throw error;
      },
    );
    return this.#tableReady;
  }

  async get(key: string): Promise<Buffer | undefined> {
    const { rows } = await this.run("get", [keyBytes(key)]);
    return rows[0]?.["value"] as Buffer | undefined;
  }

  async getMany(keys: readonly string[]): Promise<Map<string, Buffer>> {
    const found = new Map<string, Buffer>();
    if (keys.length === 0) return found;
    const { rows } = await this.run("getMany", [[...new Set(keys)].map(keyBytes)]);
    for (const row of rows) found.set((row["key"] as Buffer).toString("utf8"), row["value"] as Buffer);
    return found;
  }

  async set(key: string, value: Buffer, options: BackendSetOptions): Promise<boolean> {
    const values = [keyBytes(key), value, options.timeToLive ?? null];
    if (options.ifNotExists !== true) {
      await this.run("set", values);
      return true;
    }
    return ((await this.run("setIfAbsent", values)).rowCount ?? 0) > 0;
  }

  /** One `INSERT … SELECT FROM unnest(…) ON CONFLICT`: one statement, so atomic. */
  async setMany(entries: readonly (readonly [string, Buffer])[], timeToLive: number | undefined): Promise<void> {
    // One INSERT … ON CONFLICT may not touch a row twice: later duplicates win, as in a Map.
    const distinct = new Map(entries);
    if (distinct.size === 0) return;
    await this.run("setMany", [[...distinct.keys()].map(keyBytes), [...distinct.values()], timeToLive ?? null]);
  }

  async expireIn(key: string, timeToLive: number | undefined): Promise<boolean> {
    return ((await this.run("expireIn", [keyBytes(key), timeToLive ?? null])).rowCount ?? 0) > 0;
  }

  async delete(key: string): Promise<boolean> {
    const { rows } = await this.run("delete", [keyBytes(key)]);
    return (rows[0]?.["present"] as number | undefined) === 1;
  }

  async deleteMany(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const { rows } = await this.run("deleteMany", [[...new Set(keys)].map(keyBytes)]);
    return (rows[0]?.["present"] as number | undefined) ?? 0;
  }

  async deleteIfUnchanged(key: string, value: Buffer): Promise<boolean> {
    return ((await this.run("deleteIfUnchanged", [keyBytes(key), value])).rowCount ?? 0) > 0;
  }

  async has(key: string): Promise<boolean> {
    return (await this.run("has", [keyBytes(key)])).rows.length > 0;
  }

  async ttl(key: string): Promise<number | null | undefined> {
    const { rows } = await this.run("ttl", [keyBytes(key)]);
    const row = rows[0];
    if (row === undefined) return undefined;
    // bigint arrives as text.
    return row["left"] === null ? null : Number(row["left"]);
  }

  /**
   * One page in primary-key order: the range the glob's literal start allows, then the glob itself. The
   * cursor is `"0"` or `k<hex of the last key_prefix>.<hex of its key_hash>`.
   */
  async scan(cursor: string, options: BackendScanOptions): Promise<BackendScanPage> {
    const range = prefixRange(literalPrefix(options.match ?? "*"));
    let after: readonly [Buffer, Buffer] = [Buffer.alloc(0), Buffer.alloc(0)];
    if (cursor !== "0") {
      const match = /^k((?:[0-9a-f]{2})*)\.((?:[0-9a-f]{2}){32})$/.exec(cursor);
      if (match === null) {
        throw new BackendError(`scan got the cursor ${JSON.stringify(cursor)}, which no PostgreSQL scan gave`);
      }
      after = [Buffer.from(match[1] ?? "", "hex"), Buffer.from(match[2] ?? "", "hex")];
    }
    const count = Math.max(1, Math.min(options.count ?? DEFAULT_SCAN_COUNT, 100_000));
    const { rows } = await this.run("scan", [range.from, range.to, after[0], after[1], count]);
    const matches = options.match === undefined ? undefined : globMatcher(options.match);
    const keys = rows.map((row) => (row["key"] as Buffer).toString("utf8"));
    const last = rows.at(-1);
    return {
      keys: matches === undefined ? keys : keys.filter(matches),
      cursor:
        rows.length < count || last === undefined
          ? "0"
          : `k${(last["key_prefix"] as Buffer).toString("hex")}.${(last["key_hash"] as Buffer).toString("hex")}`,
    };
  }

  /**
   * `TRUNCATE` for everything; for a prefix, deletes of at most 10 000 rows of the key range each, until
   * none is left: each step is short, so that no statement holds many row locks or runs past its deadline.
   * `step` runs each statement (the backend passes it through the deadline guard).
   */
  async clear(prefix: string, step: <T>(send: () => Promise<T>) => Promise<T> = (send) => send()): Promise<void> {
    if (prefix === "") {
      await step(() => this.run("clearAll", []));
      return;
    }
    const range = prefixRange(prefix);
    for (;;) {
      const { rowCount } = await step(() => this.run("clearPrefix", [range.from, range.to, CLEAR_BATCH, range.whole]));
      if ((rowCount ?? 0) < CLEAR_BATCH) return;
    }
  }

  close(): Promise<void> {
    return this.#onClose();
  }
}
