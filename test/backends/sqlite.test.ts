import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { SqliteBackend } from "../../src/backends/sqlite/backend.js";
import { SqliteBackend as SyncSqliteBackend } from "../../src/backends/sqlite/sync-backend.js";
import { fromUrl } from "../../src/backends/registry.js";
import { fromUrl as syncFromUrl } from "../../src/backends/sync/registry.js";
import { SyncBackendAdapter } from "../../src/backends/sync-adapter.js";
import { Cache } from "../../src/cache/cache.js";
import { SyncCache } from "../../src/cache/sync-cache.js";
import { BackendError, ConfigurationError } from "../../src/errors.js";
import { runBackendConformance } from "../support/conformance.js";

const directory = mkdtempSync(join(tmpdir(), "cachetory-sqlite-"));
after(() => {
  rmSync(directory, { recursive: true, force: true });
});
let files = 0;
/** A fresh database file under the test's directory (in a directory that does not exist yet). */
function freshFile(): string {
  return join(directory, `nested-${String(files)}`, `cache-${String(files++)}.db`);
}

const onDisk = { timeScale: 2 } as const;
runBackendConformance("sqlite:// (async, a file)", () => fromUrl(`sqlite://${freshFile()}`), onDisk);
runBackendConformance("sqlite:// (async, :memory:)", () => fromUrl("sqlite://:memory:"), onDisk);
runBackendConformance(
  "sqlite:// (sync, a file)",
  () => new SyncBackendAdapter(new SyncSqliteBackend({ path: freshFile() })),
  onDisk,
);
runBackendConformance(
  "sqlite:// (sync, :memory:)",
  () => new SyncBackendAdapter(syncFromUrl("sqlite://:memory:?table=other")),
  onDisk,
);

describe("SQLite backend", () => {
  it("a SyncCache and an async Cache on one file see each other's writes, across processes' worth of connections", async () => {
    const file = freshFile();
    const writer = new SyncCache<{ n: number }>({ backend: `sqlite://${file}`, serializer: "json://" });
    const reader = new Cache<{ n: number }>({ backend: `sqlite://${file}`, serializer: "json://" });
    try {
      writer.set("a", { n: 1 }, { timeToLive: "1m" });
      assert.deepEqual(await reader.get("a"), { n: 1 });
      await reader.set("b", { n: 2 });
      assert.deepEqual(writer.get("b"), { n: 2 });
      assert.equal(writer.ttl("b"), null);
    } finally {
      writer.close();
      await reader.close();
    }
  });

  it("sweeps expired rows in bounded steps, keeping live ones", async () => {
    const backend = new SqliteBackend({ path: freshFile(), sweepInterval: 0, sweepBatch: 300 });
    try {
      const expiring: [string, Buffer][] = Array.from({ length: 2000 }, (_, index) => [
        `gone:${String(index)}`,
        Buffer.from("v"),
      ]);
      await backend.setMany(expiring, 1);
      await backend.set("kept", Buffer.from("v"), { timeToLive: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(await backend.sweep(), 2000);
      assert.equal(await backend.sweep(), 0);
      assert.equal(await backend.has("kept"), true);
    } finally {
      await backend.close();
    }
  });

  it("takes a path with an @ in it as a path, not as credentials", async () => {
    const path = join(directory, "user@host", "cache.db");
    const backend = fromUrl(`sqlite://${path}`);
    try {
      await backend.set("k", Buffer.from("v"), {});
      assert.ok(existsSync(path));
    } finally {
      await backend.close();
    }
  });

  it("bad URLs and options are ConfigurationErrors naming the problem", () => {
    assert.throws(() => fromUrl("sqlite://relative.db"), /absolute path/);
    assert.throws(() => fromUrl("sqlite:///tmp/x.db?table=a-b"), /table must be a name/);
    assert.throws(() => fromUrl("sqlite:///tmp/x.db?driver=mysql"), /driver is "node:sqlite" or "better-sqlite3"/);
    assert.throws(() => fromUrl("sqlite:///tmp/x.db?timeout=0"), /timeout must be an integer/);
    assert.throws(() => fromUrl("sqlite:///tmp/x.db?colour=red"), /unknown parameter "colour"/);
    assert.throws(() => new SqliteBackend({}), ConfigurationError);
    assert.throws(() => new SqliteBackend({ path: "/tmp/a.db", url: "sqlite:///tmp/a.db" }), /a url or a path/);
  });

  it("a file that is not a database fails with a BackendError naming the path", async () => {
    const { writeFileSync, mkdirSync } = await import("node:fs");
    const file = freshFile();
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(file, "this is not a SQLite database, but it is long enough to have a header of sorts...".repeat(20));
    assert.throws(
      () => new SyncSqliteBackend({ path: file }),
      (error: unknown) =>
        error instanceof BackendError && error.message.includes(file) && /not a database/.test(error.message),
    );
  });
});
