/**
 * One of the processes of the file backend's D1 test: writes and reads the same keys as the others for
 * `duration` ms, each value self-checking (a SHA-256 of its body at its start), and prints what it saw as
 * JSON. `big` writes values of 4–16 MB and reads nothing, so that a kill lands in the middle of a write.
 *
 * Usage: file-child.ts <directory> <writer id> <duration ms> [big]
 */
import { createHash, randomBytes } from "node:crypto";
import { FileBackend } from "../../src/backends/file/backend.js";
import { FileBackend as SyncFileBackend } from "../../src/backends/file/sync-backend.js";

const [directory, writer, duration, mode] = process.argv.slice(2);
if (directory === undefined || writer === undefined || duration === undefined) {
  throw new Error("usage: file-child.ts <directory> <writer id> <duration ms> [big]");
}

/** The keys every process shares. */
export const SHARED_KEYS = Array.from({ length: 8 }, (_, index) => `shared:${String(index)}`);

/** A value that tells whether it is whole: the SHA-256 of the rest, then the rest. */
function makeValue(size: number): Buffer {
  const body = randomBytes(size);
  return Buffer.concat([createHash("sha256").update(body).digest(), body]);
}

/** Whether `value` is one whole value as {@link makeValue} made it. */
function isWhole(value: Buffer): boolean {
  return value.length >= 32 && createHash("sha256").update(value.subarray(32)).digest().equals(value.subarray(0, 32));
}

const big = mode === "big";
const asynchronous = Number(writer) % 2 === 0;
const backend = new FileBackend({ directory, sweepInterval: 0 });
const syncBackend = new SyncFileBackend({ directory, sweepInterval: 0 });
const seen = { writes: 0, hits: 0, misses: 0, torn: 0 };
const until = Date.now() + Number(duration);
process.stdout.write("started\n");
// The big writer makes its values once, so that it spends its time writing them.
const bigValues = big ? [4, 9, 16].map((megabytes) => makeValue(megabytes << 20)) : [];
while (Date.now() < until) {
  const key = SHARED_KEYS[Math.floor(Math.random() * SHARED_KEYS.length)] as string;
  const value = big
    ? (bigValues[seen.writes % bigValues.length] as Buffer)
    : makeValue(1 + Math.floor(Math.random() * 200_000));
  if (asynchronous) await backend.set(key, value, {});
  else syncBackend.set(key, value, {});
  seen.writes++;
  if (big) continue;
  for (const other of SHARED_KEYS.slice(0, 3)) {
    const value = asynchronous ? await backend.get(other) : syncBackend.get(other);
    if (value === undefined) seen.misses++;
    else if (isWhole(value)) seen.hits++;
    else seen.torn++;
  }
}
await backend.close();
syncBackend.close();
process.stdout.write(`${JSON.stringify(seen)}\n`);
