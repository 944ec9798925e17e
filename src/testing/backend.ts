/**
 * The backend conformance suite, published as `cachetory/testing`: what every backend must do, as cases any
 * test runner can run. The built-in backends pass it; run it against yours.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { AsyncBackend } from "../backends/contract.js";
import { type ConformanceCase, conformanceCase } from "./conformance-case.js";

/** What a backend under test does not do; each case that needs it is skipped, saying why. */
export interface BackendConformanceCapabilities {
  /** `false` for a backend that stores nothing (as `dummy://`): the "forgets everything" case runs instead. */
  readonly stores?: boolean;
  /** `false` for a backend without expiry: the cases with a time to live are skipped. */
  readonly expiry?: boolean;
  /**
   * `true` for a backend that declares `locks` (for `getOrSet`'s `lock: "distributed"`): the lock and
   * fenced-write cases run, and the capability must be there. Default `false`: they are skipped.
   */
  readonly locks?: boolean;
}

/** Options of {@link backendConformance}. */
export interface BackendConformanceOptions {
  /** What the backend does not do (default: it stores, and expires). */
  readonly capabilities?: BackendConformanceCapabilities;
  /**
   * Multiplies every time to live and wait (default 1: TTLs of 100 ms, waits of 50–150 ms), for a backend
   * on a busy machine or a slow link, so that a scheduler hiccup does not turn a margin into a failure.
   */
  readonly timeScale?: number;
}

/** Keys that must round-trip on every backend (reliability case B7). */
export const AWKWARD_KEYS: readonly string[] = [
  "",
  " ",
  ":",
  "a::b",
  "héllo wörld",
  "🙂 emoji",
  "nul\u0000inside",
  "{x}",
  "*?[]\\",
  "k".repeat(1024 * 1024),
];

function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

/**
 * The cases every async backend must pass. `makeBackend` builds a fresh backend for each case (closed after
 * it); expiry cases wait in real time. A backend that declares `bytesOnly` in its capabilities is expected
 * to return text as its UTF-8 bytes.
 *
 * @example
 * ```ts
 * import { it } from "node:test";
 * import { backendConformance } from "cachetory/testing";
 *
 * for (const { name, skip, run } of backendConformance(() => new MyStoreBackend(), { timeScale: 2 })) {
 *   it(name, { skip }, run);
 * }
 * ```
 */
export function backendConformance(
  makeBackend: () => AsyncBackend | Promise<AsyncBackend>,
  options: BackendConformanceOptions = {},
): ConformanceCase[] {
  const stores = options.capabilities?.stores ?? true;
  const expires = options.capabilities?.expiry ?? true;
  const scale = options.timeScale ?? 1;
  const cases: ConformanceCase[] = [];
  let returnsBytes = false;
  const asStored = (value: string | Uint8Array): string | Uint8Array => (returnsBytes ? Buffer.from(value) : value);
  const wait = (milliseconds: number): Promise<void> =>
    new Promise((resolve) => setTimeout(resolve, milliseconds * scale));

  async function withBackend(run: (backend: AsyncBackend) => Promise<void>): Promise<void> {
    const backend = await makeBackend();
    returnsBytes = backend.capabilities?.bytesOnly === true;
    try {
      await run(backend);
    } finally {
      await backend.close();
    }
  }

  const add = (name: string, run: () => Promise<void>): void => {
    cases.push(conformanceCase(name, run, stores, "the backend stores nothing"));
  };
  /** A case that needs expiry as well as storage. */
  const addExpiring = (name: string, run: () => Promise<void>): void => {
    if (stores && !expires) cases.push(conformanceCase(name, run, false, "the backend has no expiry"));
    else add(name, run);
  };
  const addForgetting = (name: string, run: () => Promise<void>): void => {
    cases.push(conformanceCase(name, run, !stores, "the backend stores values"));
  };

  cases.push(
    conformanceCase("misses an absent key", () =>
      withBackend(async (backend) => {
        assert.equal(await backend.get("absent"), undefined);
        assert.equal(await backend.has("absent"), false);
        assert.deepEqual(await backend.getMany(["absent"]), new Map());
      }),
    ),
  );

  add("stores and returns text and bytes unchanged", () =>
    withBackend(async (backend) => {
      const everyByte = Uint8Array.from({ length: 256 }, (_, index) => index);
      assert.equal(await backend.set("text", "héllo", {}), true);
      assert.equal(await backend.set("bytes", everyByte, {}), true);
      assert.equal(await backend.set("empty", bytes(), {}), true);
      assert.deepEqual(await backend.get("text"), asStored("héllo"));
      assert.deepEqual(await backend.get("bytes"), asStored(everyByte));
      assert.deepEqual(await backend.get("empty"), asStored(bytes()));
      assert.equal(await backend.has("bytes"), true);
    }),
  );

  add("round-trips every awkward key (B7)", () =>
    withBackend(async (backend) => {
      // A failure names the key by a summary: the error's own `key` would print a 1 MB key into the log.
      const summarised = async <T>(index: number, key: string, run: () => Promise<T>): Promise<T> => {
        try {
          return await run();
        } catch (error) {
          const shown =
            key.length > 40
              ? `${JSON.stringify(key.slice(0, 20))}… (${String(key.length)} characters)`
              : JSON.stringify(key);
          throw new Error(`key #${String(index)} ${shown}: ${(error as Error).message.slice(0, 300)}`);
        }
      };
      for (const [index, key] of AWKWARD_KEYS.entries()) {
        await summarised(index, key, () => backend.set(key, `value ${String(index)}`, {}));
      }
      for (const [index, key] of AWKWARD_KEYS.entries()) {
        const found = await summarised(index, key, () => backend.get(key));
        assert.deepEqual(found, asStored(`value ${String(index)}`), `key #${String(index)}`);
      }
    }),
  );

  add("stores a 1 MB value", () =>
    withBackend(async (backend) => {
      const big = new Uint8Array(1024 * 1024).fill(7);
      await backend.set("big", big, {});
      assert.deepEqual(await backend.get("big"), asStored(big));
    }),
  );

  add("overwrites, and ifNotExists stores only when absent", () =>
    withBackend(async (backend) => {
      assert.equal(await backend.set("k", "1", {}), true);
      assert.equal(await backend.set("k", "2", {}), true);
      assert.equal(await backend.set("k", "3", { ifNotExists: true }), false);
      assert.deepEqual(await backend.get("k"), asStored("2"));
      assert.equal(await backend.set("fresh", "1", { ifNotExists: true }), true);
      assert.deepEqual(await backend.get("fresh"), asStored("1"));
    }),
  );

  addExpiring("expires entries after their time to live", () =>
    withBackend(async (backend) => {
      await backend.set("short", "1", { timeToLive: 100 * scale });
      await backend.set("long", "1", { timeToLive: 100_000 * scale });
      await backend.set("forever", "1", {});
      await wait(50);
      assert.deepEqual(await backend.get("short"), asStored("1"));
      await wait(100);
      assert.equal(await backend.get("short"), undefined);
      assert.equal(await backend.has("short"), false);
      assert.deepEqual(await backend.get("long"), asStored("1"));
      assert.deepEqual(await backend.get("forever"), asStored("1"));
    }),
  );

  addExpiring("treats an expired key as absent: ifNotExists stores, delete and expireIn report false", () =>
    withBackend(async (backend) => {
      await backend.set("a", "old", { timeToLive: 100 * scale });
      await backend.set("b", "old", { timeToLive: 100 * scale });
      await backend.set("c", "old", { timeToLive: 100 * scale });
      await wait(150);
      assert.equal(await backend.set("a", "new", { ifNotExists: true }), true);
      assert.deepEqual(await backend.get("a"), asStored("new"));
      assert.equal(await backend.delete("b"), false);
      assert.equal(await backend.expireIn("c", 1000), false);
      assert.equal(await backend.deleteMany(["b", "c"]), 0);
    }),
  );

  addExpiring("sets, extends and removes expiry with expireIn", () =>
    withBackend(async (backend) => {
      assert.equal(await backend.expireIn("absent", 1000), false);
      await backend.set("k", "1", {});
      assert.equal(await backend.expireIn("k", 100 * scale), true);
      await wait(150);
      assert.equal(await backend.get("k"), undefined);
      await backend.set("p", "1", { timeToLive: 100 * scale });
      assert.equal(await backend.expireIn("p", undefined), true);
      await wait(150);
      assert.deepEqual(await backend.get("p"), asStored("1"));
    }),
  );

  add("deletes and reports whether the key existed", () =>
    withBackend(async (backend) => {
      await backend.set("k", "1", {});
      assert.equal(await backend.delete("k"), true);
      assert.equal(await backend.delete("k"), false);
      assert.equal(await backend.get("k"), undefined);
    }),
  );

  add("deleteIfUnchanged removes a key only while it holds the value read", () =>
    withBackend(async (backend) => {
      const deleteIfUnchanged = backend.deleteIfUnchanged?.bind(backend);
      if (deleteIfUnchanged === undefined) return;
      await backend.set("k", "old", {});
      const read = await backend.get("k");
      await backend.set("k", "new", {});
      assert.equal(await deleteIfUnchanged("k", read), false);
      assert.deepEqual(await backend.get("k"), asStored("new"));
      assert.equal(await deleteIfUnchanged("k", await backend.get("k")), true);
      assert.equal(await backend.has("k"), false);
      assert.equal(await deleteIfUnchanged("absent", read), false);
    }),
  );

  add("handles batches: duplicates, absent keys, empty batches (B11)", () =>
    withBackend(async (backend) => {
      await backend.setMany([], undefined);
      assert.deepEqual(await backend.getMany([]), new Map());
      assert.equal(await backend.deleteMany([]), 0);
      await backend.setMany(
        [
          ["a", "1"],
          ["b", "2"],
          ["a", "3"],
        ],
        undefined,
      );
      assert.deepEqual(
        await backend.getMany(["a", "a", "b", "absent"]),
        new Map([
          ["a", asStored("3")],
          ["b", asStored("2")],
        ]),
      );
      assert.equal(await backend.deleteMany(["a", "a", "absent", "b"]), 2);
      assert.deepEqual(await backend.getMany(["a", "b"]), new Map());
    }),
  );

  addExpiring("applies one expiry to a whole batch", () =>
    withBackend(async (backend) => {
      await backend.setMany(
        [
          ["x", "1"],
          ["y", "2"],
        ],
        100 * scale,
      );
      assert.equal((await backend.getMany(["x", "y"])).size, 2);
      await wait(150);
      assert.equal((await backend.getMany(["x", "y"])).size, 0);
    }),
  );

  add("clears only the keys under a prefix, or everything", () =>
    withBackend(async (backend) => {
      await backend.setMany(
        [
          ["app:1", "1"],
          ["app:2", "2"],
          ["apple", "3"],
          ["other", "4"],
        ],
        undefined,
      );
      await backend.clear("app:");
      assert.deepEqual([...(await backend.getMany(["app:1", "app:2", "apple", "other"])).keys()], ["apple", "other"]);
      await backend.clear("");
      assert.equal((await backend.getMany(["apple", "other"])).size, 0);
    }),
  );

  addExpiring("tells the time a key has left: ms, null without expiry, undefined when absent", () =>
    withBackend(async (backend) => {
      assert.equal(await backend.ttl("absent"), undefined);
      await backend.set("forever", "1", {});
      assert.equal(await backend.ttl("forever"), null);
      await backend.set("soon", "1", { timeToLive: 60_000 });
      const left = await backend.ttl("soon");
      assert.ok(typeof left === "number" && left > 50_000 && left <= 60_000, `ttl of a 60 s entry: ${String(left)}`);
      await backend.set("short", "1", { timeToLive: Math.round(100 * scale) });
      await wait(150);
      assert.equal(await backend.ttl("short"), undefined, "an expired key has no time left");
      assert.equal(await backend.expireIn("forever", 30_000), true);
      const extended = await backend.ttl("forever");
      assert.ok(typeof extended === "number" && extended <= 30_000 && extended > 20_000, String(extended));
      assert.equal(await backend.expireIn("forever", undefined), true);
      assert.equal(await backend.ttl("forever"), null);
    }),
  );

  add("scans its keys page by page, matching a glob, to the end", () =>
    withBackend(async (backend) => {
      const scanAll = async (match: string): Promise<string[]> => {
        const found = new Set<string>();
        let cursor = "0";
        let pages = 0;
        do {
          const page = await backend.scan(cursor, { match, count: 100 });
          assert.equal(typeof page.cursor, "string");
          for (const key of page.keys) found.add(key);
          cursor = page.cursor;
          assert.ok(++pages < 10_000, "the scan never ended");
        } while (cursor !== "0");
        return [...found].sort();
      };
      const many = Array.from({ length: 2500 }, (_, index) => `scan:${String(index).padStart(4, "0")}`);
      // In batches: on a cluster, one batch is a transaction per hash slot, and 2 500 of them take a while.
      for (let start = 0; start < many.length; start += 250) {
        await backend.setMany(
          many.slice(start, start + 250).map((key) => [key, "v"]),
          undefined,
        );
      }
      for (const key of ["other:1", "*?[]\\:1", "*?[]\\x", "scan", "héllo:1"]) await backend.set(key, "v", {});
      assert.deepEqual(await scanAll("scan:*"), many);
      assert.deepEqual(await scanAll("scan:00[0-1]?"), many.slice(0, 20));
      assert.deepEqual(await scanAll("scan:[^0-1]*"), many.slice(2000));
      // The glob characters of a prefix, escaped, match literally (B14).
      assert.deepEqual(await scanAll("\\*\\?\\[\\]\\\\:*"), ["*?[]\\:1"]);
      assert.deepEqual(await scanAll("héllo:?"), ["héllo:1"]);
      assert.deepEqual(await scanAll("nothing:*"), []);
      assert.equal((await scanAll("*")).length, many.length + 5);
    }),
  );

  addExpiring("keeps entries with a time to live beyond 24.8 days (B9)", () =>
    withBackend(async (backend) => {
      const warnings: Error[] = [];
      const onWarning = (warning: Error): void => {
        warnings.push(warning);
      };
      process.on("warning", onWarning);
      try {
        await backend.set("long", "1", { timeToLive: 2 ** 31 + 1000 });
        await backend.set("longer", "1", { timeToLive: 2 ** 40 });
        await wait(200);
        assert.deepEqual(await backend.get("long"), asStored("1"));
        assert.deepEqual(await backend.get("longer"), asStored("1"));
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(
          warnings.map((warning) => warning.name),
          [],
        );
      } finally {
        process.off("warning", onWarning);
      }
    }),
  );

  addForgetting("forgets everything and always succeeds", () =>
    withBackend(async (backend) => {
      assert.equal(await backend.set("k", "1", {}), true);
      assert.equal(await backend.ttl("k"), undefined);
      assert.deepEqual((await backend.scan("0", {})).keys, []);
      assert.equal(await backend.set("k", "1", { ifNotExists: true }), true);
      await backend.setMany([["k", "1"]], 1000);
      assert.equal(await backend.get("k"), undefined);
      assert.equal(await backend.has("k"), false);
      assert.deepEqual(await backend.getMany(["k"]), new Map());
      assert.equal(await backend.expireIn("k", 1000), false);
      assert.equal(await backend.delete("k"), false);
      assert.equal(await backend.deleteMany(["k"]), 0);
      await backend.clear("");
    }),
  );

  const locking = options.capabilities?.locks === true;
  const lockingReason = "the backend declares no locks (capabilities: { locks: true } to test them)";
  cases.push(
    conformanceCase(
      "locks: taken unless held (answering the holder's token), released only by their token, expiring",
      () =>
        withBackend(async (backend) => {
          const locks = backend.capabilities?.locks;
          assert.ok(locks !== undefined, "capabilities.locks is missing");
          assert.equal(await locks.acquire("lock", "first", 100 * scale), true);
          assert.equal(await locks.acquire("lock", "second", 100 * scale), "first");
          assert.equal(await locks.release("lock", "second"), false, "released by another token");
          assert.equal(await locks.acquire("lock", "second", 100 * scale), "first", "still held");
          assert.equal(await locks.release("lock", "first"), true);
          assert.equal(await locks.release("lock", "first"), false, "released twice");
          assert.equal(await locks.acquire("lock", "third", 50), true);
          await wait(150);
          assert.equal(await locks.acquire("lock", "fourth", 100), true, "an expired lock is free");
        }),
      locking,
      lockingReason,
    ),
    conformanceCase(
      "locks: a fenced write stores only over an absent key or a lower fence",
      () =>
        withBackend(async (backend) => {
          const locks = backend.capabilities?.locks;
          assert.ok(locks !== undefined, "capabilities.locks is missing");
          const marker = bytes(0xfe, 0x01);
          const fenced = (fence: number, text: string): Uint8Array =>
            Buffer.concat([marker, Buffer.from(fence.toString(16).padStart(8, "0")), Buffer.from(text)]);
          const at = (value: number) => ({ marker, offset: 2, digits: 8, value });
          assert.equal(await locks.setFenced("k", fenced(3, "three"), 60_000, at(3)), true, "absent");
          assert.equal(await locks.setFenced("k", fenced(3, "again"), 60_000, at(3)), false, "the same fence");
          assert.equal(await locks.setFenced("k", fenced(2, "older"), 60_000, at(2)), false, "a lower fence");
          assert.equal(await locks.setFenced("k", fenced(4, "four"), undefined, at(4)), true, "a higher fence");
          assert.deepEqual(await backend.get("k"), asStored(fenced(4, "four")));
          await backend.set("plain", "v", {});
          assert.equal(await locks.setFenced("plain", fenced(9, "nine"), 60_000, at(9)), false, "over a plain value");
          assert.equal(await locks.setFenced("short", fenced(1, "one"), 50, at(1)), true);
          await wait(150);
          assert.equal(await backend.get("short"), undefined, "the fenced write's time to live");
        }),
      locking,
      lockingReason,
    ),
  );

  cases.push(
    conformanceCase("closes idempotently", () =>
      withBackend(async (backend) => {
        await backend.close();
        await backend.close();
      }),
    ),
  );
  return cases;
}
