import { loadOptional } from "../../internal/load-optional.js";
import { moduleRequire } from "../../internal/module-require.js";

/** A prepared statement: positional parameters, rows as plain objects. */
export interface SqliteStatement {
  get(...parameters: unknown[]): Record<string, unknown> | undefined;
  all(...parameters: unknown[]): Record<string, unknown>[];
  run(...parameters: unknown[]): { readonly changes: number | bigint };
}

/** An open database, whichever library opened it. */
export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): void;
  close(): void;
}

/** Which library opens the database: Node's own `node:sqlite`, or `better-sqlite3`. */
export type SqliteDriverName = "node:sqlite" | "better-sqlite3";

interface NodeSqliteModule {
  readonly DatabaseSync: new (path: string, options?: { timeout?: number }) => SqliteDatabase;
}

type BetterSqliteConstructor = new (path: string, options?: { timeout?: number }) => SqliteDatabase;

/**
 * `node:sqlite` when this Node has it (22.5 or newer; it loads without a flag from 22.13), else `undefined`.
 * `process.getBuiltinModule` (Node 20.16) loads it without a static import that older Nodes would refuse.
 */
function nodeSqlite(): NodeSqliteModule | undefined {
  const getBuiltin = (process as { getBuiltinModule?: (name: string) => unknown }).getBuiltinModule;
  try {
    return getBuiltin?.("node:sqlite") as NodeSqliteModule | undefined;
  } catch {
    return undefined;
  }
}

/** The driver a backend uses when not told: `node:sqlite` where Node has it, else `better-sqlite3`. */
export function defaultSqliteDriver(): SqliteDriverName {
  return nodeSqlite() === undefined ? "better-sqlite3" : "node:sqlite";
}

/**
 * Opens `path` (`:memory:` for a private in-memory database) with `driver`, waiting at most `busyTimeout`
 * milliseconds for a lock another connection holds.
 *
 * @throws ConfigurationError when `better-sqlite3` is needed and not installed, naming the install command.
 */
export function openSqlite(driver: SqliteDriverName, path: string, busyTimeout: number): SqliteDatabase {
  if (driver === "node:sqlite") {
    const module = nodeSqlite();
    if (module === undefined) {
      // Asked for by name on a Node without it: load it the ordinary way, so that its own error explains.
      return new (moduleRequire("node:sqlite") as NodeSqliteModule).DatabaseSync(path, { timeout: busyTimeout });
    }
    return new module.DatabaseSync(path, { timeout: busyTimeout });
  }
  // better-sqlite3 13 needs Node 22 (on Node 20 it installs, then crashes the process); 12 works on both.
  const Database = loadOptional(
    "better-sqlite3",
    "sqlite:// (on a Node without node:sqlite)",
    "better-sqlite3@12",
  ) as BetterSqliteConstructor;
  return new Database(path, { timeout: busyTimeout });
}
