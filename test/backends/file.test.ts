import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { after, describe, it } from "node:test";
import { FileBackend } from "../../src/backends/file/backend.js";
import { FileBackend as SyncFileBackend } from "../../src/backends/file/sync-backend.js";
import { entryPath } from "../../src/backends/file/layout.js";
import { fromUrl } from "../../src/backends/registry.js";
import { fromUrl as syncFromUrl } from "../../src/backends/sync/registry.js";
import { SyncBackendAdapter } from "../../src/backends/sync-adapter.js";
import { Cache } from "../../src/cache/cache.js";
import { SyncCache } from "../../src/cache/sync-cache.js";
import { BackendError, CacheClosedError, ConfigurationError } from "../../src/errors.js";
import { runBackendConformance } from "../support/conformance.js";

const root = mkdtempSync(join(tmpdir(), "cachetory-file-"));
after(() => {
  rmSync(root, { recursive: true, force: true });
});
let directories = 0;
/** A fresh cache directory that does not exist yet (under one that does not either). */
function freshDirectory(): string {
  return join(root, `nested-${String(directories)}`, `cache-${String(directories++)}`);
}

const onDisk = { timeScale: 2 } as const;
runBackendConformance("file:// (async)", () => fromUrl(`file://${freshDirectory()}`), onDisk);
runBackendConformance(
  "file:// (sync)",
  () => new SyncBackendAdapter(syncFromUrl(`file://${freshDirectory()}?sweep-interval=0`)),
  onDisk,
);

/** The path of `key`'s entry file under `directory`. */
function fileOf(directory: string, key: string): string {
  return entryPath(directory, Buffer.from(key, "utf8"));
}

describe("file backend", () => {
  it("creates its directory, spreads entries over 256 fan-out directories, and keeps no key in a name", async () => {
    const directory = freshDirectory();
    const backend = new FileBackend({ directory, sweepInterval: 0 });
    try {
      const keys = Array.from({ length: 600 }, (_, index) => `../../etc/passwd/${String(index)}\u0000 CON`);
      await backend.setMany(
        keys.map((key) => [key, Buffer.from(key)]),
        undefined,
      );
      const fanOut = readdirSync(directory);
      assert.ok(fanOut.length > 200 && fanOut.length <= 256, String(fanOut.length));
      for (const name of fanOut) {
        assert.match(name, /^[0-9a-f]{2}$/);
        for (const file of readdirSync(join(directory, name))) assert.match(file, /^[0-9a-f]{62}$/);
      }
      assert.deepEqual(await backend.get(keys[7] as string), Buffer.from(keys[7] as string));
    } finally {
      await backend.close();
    }
  });

  it("a truncated, corrupt or foreign file is a miss, never a wrong value", async () => {
    const directory = freshDirectory();
    const backend = new FileBackend({ directory, sweepInterval: 0 });
    try {
      const value = Buffer.alloc(10_000, 7);
      for (const key of ["cut", "flipped", "header", "foreign", "empty"]) await backend.set(key, value, {});
      truncateSync(fileOf(directory, "cut"), statSync(fileOf(directory, "cut")).size - 1);
      const flipped = readFileSync(fileOf(directory, "flipped"));
      flipped[5000] = (flipped[5000] as number) ^ 1;
      writeFileSync(fileOf(directory, "flipped"), flipped);
      const header = readFileSync(fileOf(directory, "header"));
      header[9] = (header[9] as number) ^ 0x40;
      writeFileSync(fileOf(directory, "header"), header);
      writeFileSync(fileOf(directory, "foreign"), "not a cache entry at all, from another program");
      writeFileSync(fileOf(directory, "empty"), "");
      for (const key of ["cut", "flipped", "header", "foreign", "empty"]) {
        assert.equal(await backend.get(key), undefined, key);
        // has and ttl read the header alone (its own checksum covers it and the key): a flipped value bit
        // shows only when the value is read.
        assert.equal(await backend.has(key), key === "flipped", key);
      }
      // A foreign file is replaced by a new write, and ifNotExists treats it as absent.
      assert.equal(await backend.set("foreign", Buffer.from("mine"), { ifNotExists: true }), true);
      assert.deepEqual(await backend.get("foreign"), Buffer.from("mine"));
      // The sweep removes what it cannot read (the cut file, the bad header, the empty file).
      const report = await backend.sweep();
      assert.equal(report.removed, 3);
      assert.equal(report.evicted, 0);
    } finally {
      await backend.close();
    }
  });

  it("an entry copied under another key's name is not that key's value", async () => {
    const directory = freshDirectory();
    const backend = new FileBackend({ directory, sweepInterval: 0 });
    try {
      await backend.set("a", Buffer.from("value of a"), {});
      await backend.set("b", Buffer.from("value of b"), {});
      writeFileSync(fileOf(directory, "b"), readFileSync(fileOf(directory, "a")));
      assert.equal(await backend.get("b"), undefined);
      assert.equal(await backend.ttl("b"), undefined);
      assert.deepEqual((await backend.scan("0", {})).keys, ["a"]);
    } finally {
      await backend.close();
    }
  });

  it("keeps under max-size by removing the oldest-written entries, and removes expired ones", async () => {
    const directory = freshDirectory();
    const backend = new FileBackend({ directory, maxSize: 200_000, sweepInterval: 0 });
    try {
      const value = Buffer.alloc(10_000, 1);
      for (let index = 0; index < 10; index++) await backend.set(`old:${String(index)}`, value, {});
      await new Promise((resolve) => setTimeout(resolve, 20));
      for (let index = 0; index < 20; index++) await backend.set(`new:${String(index)}`, value, {});
      await backend.set("short", value, { timeToLive: 1 });
      await new Promise((resolve) => setTimeout(resolve, 10));
      // The writes started sweeps of their own (every 20 000 bytes); one more settles the count.
      const report = await backend.sweep();
      assert.ok(report.bytes <= 200_000 * 0.9 + 10_100, String(report.bytes));
      assert.equal(await backend.has("short"), false);
      for (let index = 0; index < 10; index++) assert.equal(await backend.has(`old:${String(index)}`), false);
      let kept = 0;
      for (let index = 0; index < 20; index++) if (await backend.has(`new:${String(index)}`)) kept++;
      assert.ok(kept >= 15, `kept ${String(kept)} of the newest 20`);
    } finally {
      await backend.close();
    }
  });

  it("the async flavour keeps the event loop free while it reads and writes 64 MB values", async () => {
    const directory = freshDirectory();
    const backend = new FileBackend({ directory, sweepInterval: 0 });
    const delay = monitorEventLoopDelay({ resolution: 5 });
    try {
      const value = Buffer.alloc(64 << 20, 3);
      delay.enable();
      await backend.set("big", value, {});
      const read = await backend.get("big");
      delay.disable();
      assert.equal(read?.length, value.length);
      assert.ok(read?.equals(value));
      // A 64 MB checksum in one go takes 20 ms or more; in 1 MB slices none waits that long.
      assert.ok(delay.max / 1e6 < 60, `the event loop waited ${String(delay.max / 1e6)} ms`);
    } finally {
      await backend.close();
    }
  });

  it("ifNotExists has one winner among 40 racers on 8 instances, over an absent and over an expired entry", async () => {
    const directory = freshDirectory();
    const instances = Array.from({ length: 8 }, () => new FileBackend({ directory, sweepInterval: 0 }));
    try {
      for (const round of ["absent", "expired"]) {
        if (round === "expired") {
          await instances[0]?.set(`race:${round}`, Buffer.from("old"), { timeToLive: 1 });
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        const outcomes = await Promise.all(
          Array.from({ length: 40 }, (_, index) =>
            (instances[index % 8] as FileBackend).set(`race:${round}`, Buffer.from(`writer ${String(index)}`), {
              ifNotExists: true,
            }),
          ),
        );
        const winners = outcomes.flatMap((won, index) => (won ? [index] : []));
        assert.equal(winners.length, 1, `${round}: ${winners.join(",")}`);
        assert.deepEqual(await instances[3]?.get(`race:${round}`), Buffer.from(`writer ${String(winners[0])}`));
      }
      // No lock or temporary file is left behind.
      const leftovers = readdirSync(directory, { recursive: true })
        .map(String)
        .filter((name) => /\.(tmp|lock)$/.test(name));
      assert.deepEqual(leftovers, []);
    } finally {
      await Promise.all(instances.map((instance) => instance.close()));
    }
  });

  it("a SyncCache and an async Cache on one directory see each other's writes", async () => {
    const directory = freshDirectory();
    const writer = new SyncCache<{ n: number }>({ backend: `file://${directory}`, serializer: "json://" });
    const reader = new Cache<{ n: number }>({ backend: `file://${directory}`, serializer: "json://" });
    try {
      writer.set("a", { n: 1 }, { timeToLive: "1m" });
      assert.deepEqual(await reader.get("a"), { n: 1 });
      await reader.set("b", { n: 2 });
      assert.deepEqual(writer.get("b"), { n: 2 });
      assert.equal(writer.ttl("b"), null);
      const left = writer.ttl("a");
      assert.ok(typeof left === "number" && left > 59_000 && left <= 60_000, String(left));
    } finally {
      writer.close();
      await reader.close();
    }
  });

  it("a failure of the file system is a BackendError naming the operation and the directory", async () => {
    const directory = freshDirectory();
    const backend = new SyncFileBackend({ directory, sweepInterval: 0 });
    try {
      backend.set("k", Buffer.from("v"), {});
      // The entry's fan-out directory replaced by a file: no entry can be written there.
      const fanOut = join(directory, fileOf(directory, "k").slice(directory.length + 1, directory.length + 3));
      rmSync(fanOut, { recursive: true });
      writeFileSync(fanOut, "");
      assert.throws(
        () => backend.set("k", Buffer.from("v"), {}),
        (error: unknown) =>
          error instanceof BackendError &&
          error.message.includes(`set of key "k" on the file backend at ${directory} failed`) &&
          error.key === "k",
      );
      assert.equal(backend.get("k"), undefined);
    } finally {
      backend.close();
    }
    assert.throws(() => backend.get("k"), CacheClosedError);
  });

  it("takes a path with an @ or a %-escape in it as a path", async () => {
    const directory = join(freshDirectory(), "user@host", "a b");
    const backend = fromUrl(`file://${directory.replace(" ", "%20")}?sweep-interval=0`);
    try {
      await backend.set("k", Buffer.from("v"), {});
      assert.equal(readdirSync(directory).length, 1);
    } finally {
      await backend.close();
    }
  });

  it("bad URLs and options are ConfigurationErrors naming the problem", () => {
    assert.throws(() => fromUrl("file://relative/dir"), /absolute directory/);
    assert.throws(() => fromUrl("file:///tmp/x?max-size=-1"), /max-size must be an integer/);
    assert.throws(() => fromUrl("file:///tmp/x?colour=red"), /unknown parameter "colour"/);
    assert.throws(() => new FileBackend({ directory: "relative" }), ConfigurationError);
    assert.throws(() => new FileBackend({}), /takes a url or a directory/);
    assert.throws(() => new SyncFileBackend({ directory: "/tmp/x", maxSize: 1.5 }), /maxSize must be an integer/);
    assert.throws(() => syncFromUrl("file:///tmp/x?sweep-interval=abc"), ConfigurationError);
  });
});
