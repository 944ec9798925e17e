/**
 * Q1 of reliability.md: a SQLite database locked by another process, and a full disk (a small tmpfs
 * mounted for the test). Every call ends with a `BackendError` within the timeout, never a hang; the async
 * flavour keeps the event loop running meanwhile; the database stays valid.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { SqliteBackend } from "../../src/backends/sqlite/backend.js";
import { SqliteBackend as SyncSqliteBackend } from "../../src/backends/sqlite/sync-backend.js";
import { SyncBackendAdapter } from "../../src/backends/sync-adapter.js";
import { BackendError } from "../../src/errors.js";
import { serversRequired } from "../support/redis-server.js";

const PYTHON = "/usr/bin/python3";
const TIMEOUT = 300;
const SLACK = 400;
const directory = mkdtempSync(join(tmpdir(), "cachetory-sqlite-faults-"));
after(() => {
  rmSync(directory, { recursive: true, force: true });
});

/** Another process (Python's sqlite3) holding the write lock of `file` until it is stopped. */
async function holdWriteLock(file: string): Promise<ChildProcess> {
  const holder = spawn(
    PYTHON,
    [
      "-c",
      [
        "import sqlite3, sys",
        `con = sqlite3.connect(${JSON.stringify(file)}, isolation_level=None)`,
        'con.execute("BEGIN EXCLUSIVE")',
        "con.execute(\"INSERT INTO cachetory_cache (key, value) VALUES (x'6c6f636b6564', x'00')\")",
        'print("locked", flush=True)',
        "sys.stdin.read()",
        'con.execute("ROLLBACK")',
      ].join("\n"),
    ],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const [line] = (await once(holder.stdout as NodeJS.ReadableStream, "data")) as [Buffer];
  assert.equal(line.toString().trim(), "locked");
  return holder;
}

async function release(holder: ChildProcess): Promise<void> {
  holder.stdin?.end();
  if (holder.exitCode === null) await once(holder, "exit");
}

/** The integrity check of `file`, from a connection of its own (Python's sqlite3). */
function integrity(file: string): string {
  const check = spawnSync(
    PYTHON,
    [
      "-c",
      `import sqlite3; print(sqlite3.connect(${JSON.stringify(file)}).execute("PRAGMA integrity_check").fetchone()[0])`,
    ],
    { encoding: "utf8" },
  );
  return check.stdout.trim() || check.stderr;
}

/** The longest the event loop was late for a 5 ms timer while `work` ran. */
async function loopLag(work: () => Promise<unknown>): Promise<number> {
  let worst = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 5);
    last = now;
  }, 5);
  try {
    await work().catch(() => undefined);
  } finally {
    clearInterval(timer);
  }
  return worst;
}

describe("Q1: SQLite faults", () => {
  it("locked by another process: writes fail typed after the timeout, reads go on (WAL), and writes work once it lets go", async () => {
    const file = join(directory, "locked.db");
    const sync = new SyncSqliteBackend({ path: file, timeout: TIMEOUT });
    const async = new SqliteBackend({ path: file, timeout: TIMEOUT });
    sync.set("before", Buffer.from("kept"), {});
    const holder = await holdWriteLock(file);
    try {
      // The synchronous flavour waits on the calling thread (busy_timeout), at most the timeout.
      const started = performance.now();
      assert.throws(
        () => sync.set("k", Buffer.from("v"), {}),
        (error: unknown) => error instanceof BackendError && /locked by another connection/.test(error.message),
      );
      const waited = performance.now() - started;
      assert.ok(waited >= TIMEOUT - 20 && waited <= TIMEOUT + SLACK, `${waited.toFixed(0)} ms`);
      assert.throws(() => {
        sync.setMany([["k", Buffer.from("v")]], undefined);
      }, BackendError);
      assert.throws(() => {
        sync.clear("");
      }, BackendError);
      assert.equal(sync.get("before")?.toString(), "kept");

      // The async flavour never waits on the event loop: it tries again after pauses until the timeout.
      let outcome: unknown;
      let took = 0;
      const lag = await loopLag(async () => {
        const asyncStarted = performance.now();
        try {
          await async.set("k", Buffer.from("v"), {});
        } catch (error) {
          outcome = error;
        }
        took = performance.now() - asyncStarted;
      });
      assert.ok(
        outcome instanceof BackendError && /locked by another connection/.test(outcome.message),
        String(outcome),
      );
      assert.ok(took >= TIMEOUT - 20 && took <= TIMEOUT + SLACK, `${took.toFixed(0)} ms`);
      assert.ok(lag < 100, `the event loop was ${lag.toFixed(0)} ms late`);
      for (const call of [
        () => async.delete("before"),
        () => async.deleteMany(["before"]),
        () => async.expireIn("before", 1000),
        () => async.clear("b"),
      ]) {
        await assert.rejects(call(), BackendError);
      }
      assert.equal((await async.get("before"))?.toString(), "kept");
    } finally {
      await release(holder);
    }
    sync.set("after", Buffer.from("1"), {});
    await async.set("after", Buffer.from("2"), {});
    assert.equal(sync.get("after")?.toString(), "2");
    // The holder rolled back: its row never appeared.
    assert.equal(sync.get("locked"), undefined);
    sync.close();
    await async.close();
    assert.equal(integrity(file), "ok");
  });

  it("a write waiting for a lock that is let go in time succeeds (async: between its tries; sync: inside busy_timeout)", async () => {
    const file = join(directory, "released.db");
    const async = new SqliteBackend({ path: file, timeout: 2000 });
    await async.set("x", Buffer.from("0"), {});
    const holder = await holdWriteLock(file);
    const write = async.set("x", Buffer.from("1"), {});
    setTimeout(() => void release(holder), 200);
    assert.equal(await write, true);
    assert.equal((await async.get("x"))?.toString(), "1");
    await async.close();
  });

  for (const flavour of ["sync", "async"] as const) {
    it(`a full disk (a 1 MB tmpfs), ${flavour}: writes fail typed naming it, what was stored stays readable, writes work once there is room, the file stays valid`, async (t) => {
      const mountPoint = mkdtempSync(join(tmpdir(), "cachetory-full-"));
      const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint], { encoding: "utf8" });
      if (mounted.status !== 0) {
        const reason = `cannot mount a small tmpfs here (${mounted.stderr.trim()})`;
        if (serversRequired) throw new Error(`CACHETORY_REQUIRE_SERVERS=1 but ${reason}`);
        t.skip(reason);
        return;
      }
      const file = join(mountPoint, "cache", "full.db");
      try {
        // Room that can be given back once the disk is full.
        const ballast = join(mountPoint, "ballast");
        writeFileSync(ballast, Buffer.alloc(200 * 1024));
        const backend =
          flavour === "sync"
            ? new SyncBackendAdapter(new SyncSqliteBackend({ path: file, timeout: TIMEOUT }))
            : new SqliteBackend({ path: file, timeout: TIMEOUT });
        const value = Buffer.alloc(16 * 1024, 7);
        let stored = 0;
        let failure: unknown;
        for (; stored < 200; stored++) {
          try {
            await backend.set(`k${String(stored)}`, value, {});
          } catch (error) {
            failure = error;
            break;
          }
        }
        assert.ok(failure instanceof BackendError, `${String(failure)} after ${String(stored)} writes`);
        assert.match(failure.message, /disk is full/);
        assert.ok(stored > 0);
        // What was stored stays readable; even a delete needs room in the log, so it fails the same way.
        assert.deepEqual(await backend.get("k0"), value);
        await assert.rejects(backend.set("more", value, {}), /disk is full/);
        // Room again: writes work.
        unlinkSync(ballast);
        await backend.clear("k");
        await backend.set("again", Buffer.from("v"), {});
        assert.equal((await backend.get("again"))?.toString(), "v");
        await backend.close();
        const reopened = new SyncSqliteBackend({ path: file, timeout: TIMEOUT });
        assert.equal(reopened.get("again")?.toString(), "v");
        assert.equal(reopened.get("k0"), undefined);
        reopened.close();
        assert.equal(integrity(file), "ok");
      } finally {
        spawnSync("umount", ["--lazy", mountPoint]);
        rmSync(mountPoint, { recursive: true, force: true });
      }
    });
  }
});
