/**
 * cachetory's file backend (async, and sync through `SyncCache`) against bentocache's file driver, in one
 * process run, each in a fresh directory under the system's temporary directory: `npm run bench` runs it
 * after the others, or `node --import tsx bench/peers/files.ts` alone. Everyone reads and writes the same
 * JSON string of 1 KB and of 1 MB, at 1 and 16 calls in flight, over 100 keys. Plain `fs/promises`
 * `readFile`/`writeFile` of the JSON (no header, no checks, a write in place that a reader may see half
 * of) is measured beside them as the floor. Results go to bench/results/files.md and .json.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BentoCache, bentostore } from "bentocache";
import { fileDriver } from "bentocache/drivers/file";
import { Cache, SyncCache } from "cachetory";
import { RatioTable } from "./ratio-table.js";

const KEYS = 100;
const table = new RatioTable();
const root = mkdtempSync(join(tmpdir(), "cachetory-bench-files-"));
const closers: (() => unknown)[] = [];

let counter = 0;
/** One of KEYS keys, in turn. */
function nextKey(): string {
  counter = (counter + 1) % KEYS;
  return `k${String(counter)}`;
}

try {
  const ours = new Cache<string>({ backend: `file://${join(root, "ours")}?sweep-interval=0`, serializer: "json://" });
  const oursSync = new SyncCache<string>({
    backend: `file://${join(root, "ours-sync")}?sweep-interval=0`,
    serializer: "json://",
  });
  const bento = new BentoCache({
    default: "file",
    stores: { file: bentostore().useL2Layer(fileDriver({ directory: join(root, "bento"), pruneInterval: false })) },
  });
  const plain = join(root, "plain");
  closers.push(
    () => ours.close(),
    () => oursSync.close(),
    () => bento.disconnect(),
  );
  for (const [label, value] of [
    ["1 KB", "x".repeat(1022)],
    ["1 MB", "x".repeat((1 << 20) - 2)],
  ] as const) {
    const { mkdir } = await import("node:fs/promises");
    await mkdir(plain, { recursive: true });
    for (let index = 0; index < KEYS; index++) {
      const key = `k${String(index)}`;
      await ours.set(key, value);
      oursSync.set(key, value);
      await bento.set({ key, value });
      await writeFile(join(plain, key), JSON.stringify(value));
    }
    for (const concurrency of [1, 16]) {
      const options = { concurrency };
      const name = (operation: string): string => `file ${operation} ${label}, ${String(concurrency)} in flight`;
      await table.scenario([
        [name("get"), "cachetory", () => ours.get(nextKey()), options],
        [name("get"), "cachetory SyncCache", () => oursSync.get(nextKey()), options],
        [name("get"), "bentocache (file driver)", () => bento.get({ key: nextKey() }), options],
        [
          name("get"),
          "fs/promises readFile (floor)",
          async () => JSON.parse(await readFile(join(plain, nextKey()), "utf8")) as unknown,
          options,
        ],
      ]);
      await table.scenario([
        [name("set"), "cachetory", () => ours.set(nextKey(), value, { timeToLive: 60_000 }), options],
        [name("set"), "cachetory SyncCache", () => oursSync.set(nextKey(), value, { timeToLive: 60_000 }), options],
        [name("set"), "bentocache (file driver)", () => bento.set({ key: nextKey(), value, ttl: "1m" }), options],
        [
          name("set"),
          "fs/promises writeFile (floor)",
          () => writeFile(join(plain, nextKey()), JSON.stringify(value)),
          options,
        ],
      ]);
    }
  }
} finally {
  for (const close of closers.reverse()) await close();
  rmSync(root, { recursive: true, force: true });
}
table.write("files", "file backends");
