/**
 * The SQL of the PostgreSQL backend, written once per table. Every statement is prepared on first use on
 * each connection (a named statement), and every read checks the expiry against the server's clock
 * (`now()`), so that the clocks of the instances never decide what has expired.
 *
 * The table has one index, its primary key (the key's first 256 bytes and its SHA-256): an update of a row
 * changes no indexed column (the key stays, `value` and `expires_at` are not indexed), so PostgreSQL can
 * make it a HOT update (heap-only, on the same page while `fillfactor` leaves room) that never touches the
 * index. An index on `expires_at` would make every write with a time to live a non-HOT update; the sweep
 * walks the primary key instead.
 */
export interface PostgresStatements {
  readonly createTable: string;
  readonly get: string;
  readonly getMany: string;
  readonly set: string;
  readonly setIfAbsent: string;
  readonly setMany: string;
  readonly expireIn: string;
  readonly delete: string;
  readonly deleteMany: string;
  readonly deleteIfUnchanged: string;
  readonly has: string;
  readonly ttl: string;
  readonly scan: string;
  readonly clearPrefix: string;
  readonly clearAll: string;
  readonly sweepLock: string;
  readonly sweepUnlock: string;
  readonly sweep: string;
}

/** A row is present while it has no expiry or its expiry is still ahead. */
const ALIVE = "(expires_at IS NULL OR expires_at > now())";

/** How many bytes of a key its index holds: a B-tree entry has to fit in a third of a page. */
export const KEY_PREFIX_BYTES = 256;

/** The row of the key `$n` (by the primary key, then the whole key). */
function row(parameter: string, alias = ""): string {
  return (
    `${alias}key_prefix = substring(${parameter}::bytea FROM 1 FOR ${String(KEY_PREFIX_BYTES)}) ` +
    `AND ${alias}key_hash = sha256(${parameter}::bytea) AND ${alias}key = ${parameter}::bytea`
  );
}

/** The expiry of a write: `$n` milliseconds from now, or none when `$n` is null. */
function expiry(parameter: string): string {
  return `now() + ${parameter}::bigint * interval '1 millisecond'`;
}

/** `"schema"."table"` from a name already checked to be letters, digits and `_`. */
export function quotedTable(table: string): string {
  return table
    .split(".")
    .map((part) => `"${part}"`)
    .join(".");
}

/** The statements over `table` (checked by `checkTableName`). */
export function postgresStatements(table: string, unlogged: boolean): PostgresStatements {
  const t = quotedTable(table);
  const upsert =
    "ON CONFLICT (key_prefix, key_hash) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at";
  // Keys of any length (a B-tree entry holds at most ~2.7 kB): the primary key is the key's first 256
  // bytes and its SHA-256, both computed by the server from the key, so that keys stay in byte order for
  // prefix scans and any SQL client writing `key` gets the same row.
  return {
    createTable:
      `CREATE ${unlogged ? "UNLOGGED " : ""}TABLE IF NOT EXISTS ${t} (` +
      "key bytea NOT NULL, value bytea NOT NULL, expires_at timestamptz, " +
      `key_prefix bytea GENERATED ALWAYS AS (substring(key FROM 1 FOR ${String(KEY_PREFIX_BYTES)})) STORED, ` +
      "key_hash bytea GENERATED ALWAYS AS (sha256(key)) STORED, " +
      "PRIMARY KEY (key_prefix, key_hash)) WITH (fillfactor = 90)",
    get: `SELECT value FROM ${t} WHERE ${row("$1")} AND ${ALIVE}`,
    getMany:
      `SELECT entry.key, entry.value FROM unnest($1::bytea[]) AS wanted (key) JOIN ${t} AS entry ON ${row("wanted.key", "entry.")} ` +
      `WHERE (entry.expires_at IS NULL OR entry.expires_at > now())`,
    set: `INSERT INTO ${t} (key, value, expires_at) VALUES ($1, $2, ${expiry("$3")}) ${upsert}`,
    // ON CONFLICT decides under the row's lock: of two writers racing for one absent key, one inserts and
    // the other sees the conflict and updates only when the row it waited for has expired.
    setIfAbsent:
      `INSERT INTO ${t} AS entry (key, value, expires_at) VALUES ($1, $2, ${expiry("$3")}) ${upsert} ` +
      "WHERE entry.expires_at <= now() RETURNING 1",
    setMany:
      `INSERT INTO ${t} (key, value, expires_at) ` +
      `SELECT batch.key, batch.value, ${expiry("$3")} FROM unnest($1::bytea[], $2::bytea[]) AS batch (key, value) ${upsert}`,
    expireIn: `UPDATE ${t} SET expires_at = ${expiry("$2")} WHERE ${row("$1")} AND ${ALIVE}`,
    // Expired rows go too (the sweep has less to do), but only live ones count as deleted.
    delete: `WITH gone AS (DELETE FROM ${t} WHERE ${row("$1")} RETURNING expires_at) SELECT count(*)::int AS present FROM gone WHERE ${ALIVE}`,
    deleteMany:
      `WITH gone AS (DELETE FROM ${t} AS entry USING unnest($1::bytea[]) AS wanted (key) WHERE ${row("wanted.key", "entry.")} ` +
      `RETURNING entry.expires_at) SELECT count(*)::int AS present FROM gone WHERE ${ALIVE}`,
    deleteIfUnchanged: `DELETE FROM ${t} WHERE ${row("$1")} AND value = $2 AND ${ALIVE}`,
    has: `SELECT 1 FROM ${t} WHERE ${row("$1")} AND ${ALIVE}`,
    ttl:
      `SELECT CASE WHEN expires_at IS NULL THEN NULL ELSE greatest(1, ceil(extract(epoch FROM expires_at - now()) * 1000))::bigint END AS left ` +
      `FROM ${t} WHERE ${row("$1")} AND ${ALIVE}`,
    // A page in primary-key order: key_prefix from $1 (inclusive) below $2 (exclusive; null: no bound),
    // after the row ($3, $4).
    scan:
      `SELECT key, key_prefix, key_hash FROM ${t} WHERE key_prefix >= $1 AND ($2::bytea IS NULL OR key_prefix < $2) ` +
      `AND (key_prefix, key_hash) > ($3::bytea, $4::bytea) AND ${ALIVE} ORDER BY key_prefix, key_hash LIMIT $5`,
    // At most $3 rows whose key starts with $4, found in the key_prefix range [$1, $2).
    clearPrefix:
      `DELETE FROM ${t} WHERE (key_prefix, key_hash) IN (SELECT key_prefix, key_hash FROM ${t} ` +
      "WHERE key_prefix >= $1 AND ($2::bytea IS NULL OR key_prefix < $2) " +
      "AND substring(key FROM 1 FOR octet_length($4::bytea)) = $4::bytea LIMIT $3)",
    clearAll: `TRUNCATE ${t}`,
    sweepLock: "SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS held",
    sweepUnlock: "SELECT pg_advisory_unlock(hashtextextended($1, 0))",
    // One bounded step of the sweep: at most $3 rows after the row ($1, $2) in primary-key order are looked
    // at, and the expired ones among them deleted; the last row looked at is where the next step starts.
    sweep:
      `WITH batch AS MATERIALIZED (SELECT key_prefix, key_hash, expires_at FROM ${t} ` +
      "WHERE (key_prefix, key_hash) > ($1::bytea, $2::bytea) ORDER BY key_prefix, key_hash LIMIT $3), " +
      `gone AS (DELETE FROM ${t} AS entry USING batch WHERE entry.key_prefix = batch.key_prefix AND entry.key_hash = batch.key_hash ` +
      "AND batch.expires_at <= now() AND entry.expires_at <= now() RETURNING 1) " +
      "SELECT (SELECT count(*) FROM batch)::int AS examined, " +
      "(SELECT ARRAY[key_prefix, key_hash] FROM batch ORDER BY key_prefix DESC, key_hash DESC LIMIT 1) AS last, " +
      "(SELECT count(*) FROM gone)::int AS removed",
  };
}
