/**
 * The backend conformance suite: every backend, sync (through the async adapter) and async, passes it.
 * A backend declares its capabilities; a case that does not apply says why it is skipped.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AsyncBackend } from "../../src/backends/backend.js";

export interface BackendUnderTest {
  readonly backend: AsyncBackend;
  /** Moves time forward by `milliseconds` as the backend sees it (a manual clock, or a real wait). */
  readonly advance: (milliseconds: number) => Promise<void>;
}

export interface BackendCapabilities {
  /** `false` for `dummy://`, which forgets everything. */
  readonly stores: boolean;
  /** `true` for remote stores, which return every value as bytes (text as UTF-8). */
  readonly returnsBytes?: boolean;
  /**
   * Multiplies every time to live and wait of the suite, for backends on a real clock (a scheduler
   * hiccup of a shared CI machine must not turn a 50 ms margin into a failure).
   */
  readonly timeScale?: number;
}

/** Keys of reliability case B7 that must round-trip on every backend. */
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

export function backendConformance(
  name: string,
  capabilities: BackendCapabilities,
  create: () => Promise<BackendUnderTest> | BackendUnderTest,
): void {
  const storing = capabilities.stores ? {} : { skip: `${name} stores nothing` };
  const scale = capabilities.timeScale ?? 1;
  const asStored = (value: string | Uint8Array): string | Uint8Array =>
    capabilities.returnsBytes === true ? Buffer.from(value) : value;
  const forgetting = capabilities.stores ? { skip: `${name} stores values` } : {};

  async function withBackend(run: (subject: BackendUnderTest) => Promise<void>): Promise<void> {
    const created = await create();
    const subject: BackendUnderTest = {
      backend: created.backend,
      advance: (milliseconds) => created.advance(milliseconds * scale),
    };
    try {
      await run(subject);
    } finally {
      await subject.backend.close();
    }
  }

  describe(`backend conformance: ${name}`, () => {
    it("misses an absent key", () =>
      withBackend(async ({ backend }) => {
        assert.equal(await backend.get("absent"), undefined);
        assert.equal(await backend.has("absent"), false);
        assert.deepEqual(await backend.getMany(["absent"]), new Map());
      }));

    it("stores and returns text and bytes unchanged", storing, () =>
      withBackend(async ({ backend }) => {
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

    it("round-trips every awkward key (B7)", storing, () =>
      withBackend(async ({ backend }) => {
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

    it("stores a 1 MB value", storing, () =>
      withBackend(async ({ backend }) => {
        const big = new Uint8Array(1024 * 1024).fill(7);
        await backend.set("big", big, {});
        assert.deepEqual(await backend.get("big"), asStored(big));
      }),
    );

    it("overwrites, and ifNotExists stores only when absent", storing, () =>
      withBackend(async ({ backend }) => {
        assert.equal(await backend.set("k", "1", {}), true);
        assert.equal(await backend.set("k", "2", {}), true);
        assert.equal(await backend.set("k", "3", { ifNotExists: true }), false);
        assert.deepEqual(await backend.get("k"), asStored("2"));
        assert.equal(await backend.set("fresh", "1", { ifNotExists: true }), true);
        assert.deepEqual(await backend.get("fresh"), asStored("1"));
      }),
    );

    it("expires entries after their time to live", storing, () =>
      withBackend(async ({ backend, advance }) => {
        await backend.set("short", "1", { timeToLive: 100 * scale });
        await backend.set("long", "1", { timeToLive: 100_000 * scale });
        await backend.set("forever", "1", {});
        await advance(50);
        assert.deepEqual(await backend.get("short"), asStored("1"));
        await advance(100);
        assert.equal(await backend.get("short"), undefined);
        assert.equal(await backend.has("short"), false);
        assert.deepEqual(await backend.get("long"), asStored("1"));
        assert.deepEqual(await backend.get("forever"), asStored("1"));
      }),
    );

    it("treats an expired key as absent: ifNotExists stores, delete and expireIn report false", storing, () =>
      withBackend(async ({ backend, advance }) => {
        await backend.set("a", "old", { timeToLive: 100 * scale });
        await backend.set("b", "old", { timeToLive: 100 * scale });
        await backend.set("c", "old", { timeToLive: 100 * scale });
        await advance(150);
        assert.equal(await backend.set("a", "new", { ifNotExists: true }), true);
        assert.deepEqual(await backend.get("a"), asStored("new"));
        assert.equal(await backend.delete("b"), false);
        assert.equal(await backend.expireIn("c", 1000), false);
        assert.equal(await backend.deleteMany(["b", "c"]), 0);
      }),
    );

    it("sets, extends and removes expiry with expireIn", storing, () =>
      withBackend(async ({ backend, advance }) => {
        assert.equal(await backend.expireIn("absent", 1000), false);
        await backend.set("k", "1", {});
        assert.equal(await backend.expireIn("k", 100 * scale), true);
        await advance(150);
        assert.equal(await backend.get("k"), undefined);
        await backend.set("p", "1", { timeToLive: 100 * scale });
        assert.equal(await backend.expireIn("p", undefined), true);
        await advance(150);
        assert.deepEqual(await backend.get("p"), asStored("1"));
      }),
    );

    it("deletes and reports whether the key existed", storing, () =>
      withBackend(async ({ backend }) => {
        await backend.set("k", "1", {});
        assert.equal(await backend.delete("k"), true);
        assert.equal(await backend.delete("k"), false);
        assert.equal(await backend.get("k"), undefined);
      }),
    );

    it("deleteIfUnchanged removes a key only while it holds the value read", storing, () =>
      withBackend(async ({ backend }) => {
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

    it("handles batches: duplicates, absent keys, empty batches (B11)", storing, () =>
      withBackend(async ({ backend }) => {
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

    it("applies one expiry to a whole batch", storing, () =>
      withBackend(async ({ backend, advance }) => {
        await backend.setMany(
          [
            ["x", "1"],
            ["y", "2"],
          ],
          100 * scale,
        );
        assert.equal((await backend.getMany(["x", "y"])).size, 2);
        await advance(150);
        assert.equal((await backend.getMany(["x", "y"])).size, 0);
      }),
    );

    it("clears only the keys under a prefix, or everything", storing, () =>
      withBackend(async ({ backend }) => {
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

    it("keeps entries with a time to live beyond 24.8 days (B9)", storing, () =>
      withBackend(async ({ backend, advance }) => {
        const warnings: Error[] = [];
        const onWarning = (warning: Error): void => {
          warnings.push(warning);
        };
        process.on("warning", onWarning);
        try {
          await backend.set("long", "1", { timeToLive: 2 ** 31 + 1000 });
          await backend.set("longer", "1", { timeToLive: 2 ** 40 });
          await advance(200);
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

    it("forgets everything and always succeeds", forgetting, () =>
      withBackend(async ({ backend }) => {
        assert.equal(await backend.set("k", "1", {}), true);
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

    it("closes idempotently", () =>
      withBackend(async ({ backend }) => {
        await backend.close();
        await backend.close();
      }));
  });
}
