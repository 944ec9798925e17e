import { createHash } from "node:crypto";
import { BackendError } from "../../errors.js";
import type { DeadlineGuard } from "../../layers/deadline-guard.js";
import { FailedRead } from "../../layers/read-batcher.js";
import { escapeGlob } from "../../internal/glob.js";
import type {
  AsyncBackend,
  BackendCapabilities,
  BackendScanOptions,
  BackendScanPage,
  BackendSetOptions,
  WatchedValue,
  WriteFence,
} from "../contract.js";
import {
  type MasterSender,
  type RedisArgument,
  type RedisCommand,
  type RedisDriver,
  redisErrorCode,
} from "./drivers/driver.js";

/** What the store is handed (already checked and converted by `RedisBackend`) and what it returns. */
type StoredValue = string | Uint8Array;

const SCAN_BATCH = 1000;

/** KEYS[1] is unlinked only while the SHA-1 of its string value is ARGV[1]. */
const DELETE_IF_UNCHANGED = `local held = redis.call("GET", KEYS[1])
if held and redis.sha1hex(held) == ARGV[1] then return redis.call("UNLINK", KEYS[1]) end
return 0`;

/** KEYS[1] (a lock) is set to the token ARGV[1] for ARGV[2] ms unless it is held: 1, or the holder's token. */
const ACQUIRE_LOCK = `local held = redis.call("GET", KEYS[1])
if held then return held end
redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
return 1`;

/** KEYS[1] (a lock) is deleted only while it holds the token ARGV[1]. */
const RELEASE_LOCK = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0`;

/**
 * KEYS[1] is set to ARGV[1] (for ARGV[2] ms; "" for no expiry) unless it holds a value that does not begin
 * with the marker ARGV[3] (a plain value, newer than any fence) or one whose fence (ARGV[5] hexadecimal
 * digits at the 1-based offset ARGV[4]) is ARGV[6] or more.
 */
const SET_FENCED = `local held = redis.call("GET", KEYS[1])
if held then
  if string.sub(held, 1, #ARGV[3]) ~= ARGV[3] then return 0 end
  local at = tonumber(ARGV[4])
  local fence = tonumber(string.sub(held, at, at + tonumber(ARGV[5]) - 1), 16)
  if fence == nil or fence >= tonumber(ARGV[6]) then return 0 end
end
if ARGV[2] == "" then redis.call("SET", KEYS[1], ARGV[1]) else redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2]) end
return 1`;

/**
 * The backend operations as Redis commands on one driver, and nothing else: no deadline, no admission, no
 * batching of reads across callers (the layers that wrap it in `RedisBackend` do those). It is the one place
 * where keys are grouped by hash slot and the replies mapped back. Keys and values arrive checked and
 * converted to command arguments.
 */
export class RedisStore implements AsyncBackend<StoredValue> {
  readonly #driver: RedisDriver;
  readonly #guard: DeadlineGuard;
  /** Bytes only; `setMany` atomic as a whole, or per hash slot on a cluster. */
  readonly capabilities: BackendCapabilities<StoredValue>;
  /**
   * Whether the connection tracks what it reads: writes then read the key back (a `PTTL`) in the same
   * transaction, so that it stays tracked. A write ends the tracking of the key (Redis forgets a tracked
   * key once it has invalidated it, our own write included), and a near tier keeps what we wrote.
   */
  readonly #tracking: boolean;

  /** @param guard - Gives each round trip of `clear` (which takes many) its own deadline. */
  constructor(driver: RedisDriver, guard: DeadlineGuard) {
    this.#driver = driver;
    this.#guard = guard;
    this.#tracking = driver.invalidations !== undefined;
    this.capabilities = { bytesOnly: true, atomicBatches: driver.isCluster ? "per-slot" : "all" };
  }

  /**
   * The values of `keys` in their order, each with the time it has left, read so that the server tracks
   * them: per hash slot, one `MGET` and a `PTTL` per key, sent together (one round trip). A change between
   * the two replies comes as an invalidation between them, before either settles.
   */
  async readWatched(keys: readonly string[]): Promise<(WatchedValue<Buffer> | undefined)[]> {
    const found = new Map<string, WatchedValue<Buffer>>();
    await Promise.all(
      this.#driver.groupKeys(keys).map(async (group) => {
        const [values, ...lifetimes] = await Promise.all([
          this.#driver.send(["MGET", ...group], group[0]) as Promise<(Buffer | null)[]>,
          ...group.map((key) => this.#driver.send(["PTTL", key], key)),
        ]);
        group.forEach((key, index) => {
          const value = values[index];
          const left = Number(lifetimes[index]);
          // -2: gone since the MGET; 0: expiring now. -1: no expiry.
          if (value === null || value === undefined || left === -2 || left === 0) return;
          found.set(key, { value, timeToLive: left < 0 ? undefined : left });
        });
      }),
    );
    this.#driver.checkTopology();
    return keys.map((key) => found.get(key));
  }

  /**
   * An `MGET` of one key, so that a key holding another type (a hash, say) reads as absent, as it does
   * when its read shares a batch (`GET` would fail with `WRONGTYPE`); a `GET` when `MGET` is refused.
   */
  async get(key: string): Promise<Buffer | undefined> {
    const [reply] = await readEach(this.#driver, [key]);
    if (reply instanceof FailedRead) throw reply.error;
    return reply ?? undefined;
  }

  /**
   * The values of `keys` in their order (`null` for an absent one): one `MGET` on a single server, whose
   * reply is that list already; one per hash slot on a cluster, where a slot whose node fails fails only
   * its own keys (a {@link FailedRead} each): a dead master takes down its keys, not the whole tick's. A
   * refusal of the whole batch rejects (the coalescing layer then asks key by key).
   */
  async readBatch(keys: readonly string[]): Promise<readonly (Buffer | null | undefined | FailedRead)[]> {
    if (!this.#driver.isCluster) return (await this.#driver.send(["MGET", ...keys], keys[0])) as (Buffer | null)[];
    const outcomes = await this.#readBySlot(keys);
    return keys.map((key) => outcomes.get(key));
  }

  /** One `MGET` per hash slot (one in all on a single server); the entries in the order they were asked. */
  async getMany(keys: readonly string[]): Promise<Map<string, Buffer>> {
    if (!this.#driver.isCluster) return foundIn(keys, await readEach(this.#driver, keys));
    const outcomes = await this.#readBySlot(keys);
    return foundIn(
      keys,
      keys.map((key) => outcomes.get(key) ?? null),
    );
  }

  /**
   * The reply for each of `keys` on a cluster: one `MGET` per hash slot, sent in parallel. A slot whose
   * node fails fails only its own keys, a {@link FailedRead} each.
   */
  async #readBySlot(keys: readonly string[]): Promise<Map<string, Buffer | null | FailedRead>> {
    const outcomes = new Map<string, Buffer | null | FailedRead>();
    await Promise.all(
      this.#driver.groupKeys(keys).map(async (group) => {
        try {
          const replies = await readEach(this.#driver, group);
          group.forEach((key, index) => outcomes.set(key, replies[index] ?? null));
        } catch (error) {
          const failed = new FailedRead(error);
          for (const key of group) outcomes.set(key, failed);
        }
      }),
    );
    return outcomes;
  }

  async set(key: string, value: StoredValue, options: BackendSetOptions): Promise<boolean> {
    const command: RedisArgument[] = ["SET", key, value as RedisArgument];
    if (options.timeToLive !== undefined) command.push("PX", String(options.timeToLive));
    if (options.ifNotExists === true) command.push("NX");
    if (!this.#tracking) return (await this.#driver.send(command, key)) !== null;
    const [reply] = await this.#transaction([command, ["PTTL", key]], key);
    return reply !== null;
  }

  /**
   * Atomic on one server: one `MSET`, or one `MULTI`/`EXEC` of `SET … PX` with a time to live. On a
   * cluster, atomic per hash slot (fully atomic when the keys share a `{hash tag}`). The entries arrive
   * with distinct keys.
   */
  async setMany(entries: readonly (readonly [string, StoredValue])[], timeToLive: number | undefined): Promise<void> {
    const values = new Map(entries);
    const keys = [...values.keys()];
    await Promise.all(
      this.#driver.groupKeys(keys).map((group) =>
        // Atomic per slot, so not split while the slot migrates: sent again until it settles.
        untilNotTryAgain(async () => {
          if (this.#tracking) {
            const ttl = timeToLive === undefined ? [] : ["PX", String(timeToLive)];
            await this.#transaction(
              [
                ...group.map((key) => ["SET", key, values.get(key) as RedisArgument, ...ttl]),
                ...group.map((key) => ["PTTL", key]),
              ],
              group[0],
            );
          } else if (timeToLive === undefined) {
            await this.#driver.send(
              ["MSET", ...group.flatMap((key) => [key, values.get(key) as RedisArgument])],
              group[0],
            );
          } else {
            const ttl = String(timeToLive);
            await this.#transaction(
              group.map((key) => ["SET", key, values.get(key) as RedisArgument, "PX", ttl]),
              group[0],
            );
          }
        }),
      ),
    );
  }

  async expireIn(key: string, timeToLive: number | undefined): Promise<boolean> {
    if (timeToLive !== undefined) return (await this.#driver.send(["PEXPIRE", key, String(timeToLive)], key)) === 1;
    // PERSIST answers 0 both for an absent key and for one without expiry: ask EXISTS in the same MULTI.
    const [exists] = await this.#transaction(
      [
        ["EXISTS", key],
        ["PERSIST", key],
      ],
      key,
    );
    return exists === 1;
  }

  async delete(key: string): Promise<boolean> {
    return (await this.#driver.send(["UNLINK", key], key)) === 1;
  }

  /** The keys arrive distinct. */
  async deleteMany(keys: readonly string[]): Promise<number> {
    const counts = await Promise.all(this.#driver.groupKeys(keys).map((group) => this.#unlink(group)));
    return counts.reduce<number>((sum, count) => sum + count, 0);
  }

  /** `UNLINK` of keys of one slot; while the slot migrates (`TRYAGAIN`), one key at a time. */
  async #unlink(keys: readonly string[]): Promise<number> {
    try {
      return Number(await this.#driver.send(["UNLINK", ...keys], keys[0]));
    } catch (error) {
      if (keys.length === 1 || redisErrorCode(error) !== "TRYAGAIN") throw error;
      const counts = await Promise.all(keys.map((key) => this.#driver.send(["UNLINK", key], key)));
      return counts.reduce<number>((sum, count) => sum + Number(count), 0);
    }
  }

  async has(key: string): Promise<boolean> {
    return (await this.#driver.send(["EXISTS", key], key)) === 1;
  }

  async ttl(key: string): Promise<number | null | undefined> {
    const left = Number(await this.#driver.send(["PTTL", key], key));
    if (left === -2) return undefined;
    if (left === -1) return null;
    // 0: it expires within the millisecond, and is still there.
    return Math.max(1, left);
  }

  /**
   * One `SCAN` on one master. On a cluster the cursor says which master and where in it
   * (`"<master>:<cursor>"`), and the scan goes through the masters in turn.
   */
  async scan(cursor: string, options: BackendScanOptions): Promise<BackendScanPage> {
    const masters = await this.#driver.masters();
    if (masters.length === 0) throw new BackendError("the cluster reported no master to scan");
    const position = /^(?:(\d+):)?(\d+)$/.exec(cursor);
    const index = Number(position?.[1] ?? 0);
    const send = masters[index];
    if (position === null || send === undefined) {
      throw new BackendError(`scan: ${JSON.stringify(cursor)} is not a cursor that this backend gave`);
    }
    const { next: nextPosition, keys } = await scanOnce(
      send,
      position[2] as string,
      options.match ?? "*",
      options.count ?? SCAN_BATCH,
    );
    if (nextPosition !== "0")
      return { keys, cursor: masters.length === 1 ? nextPosition : `${String(index)}:${nextPosition}` };
    return { keys, cursor: index + 1 < masters.length ? `${String(index + 1)}:0` : "0" };
  }

  /**
   * One script that compares the SHA-1 of what the key holds with the one of `value` and unlinks only
   * on a match: the value itself (possibly megabytes) need not travel back to the server.
   */
  async deleteIfUnchanged(key: string, value: StoredValue): Promise<boolean> {
    const digest = createHash("sha1")
      .update(value as RedisArgument)
      .digest("hex");
    return (await this.#driver.send(["EVAL", DELETE_IF_UNCHANGED, "1", key, digest], key)) === 1;
  }

  /** Sets the lock `name` to `token` for `timeToLive` ms unless it is held: `true`, or the holder's token. */
  async acquireLock(name: string, token: string, timeToLive: number): Promise<true | string> {
    const reply = await this.#driver.send(["EVAL", ACQUIRE_LOCK, "1", name, token, String(timeToLive)], name);
    return Number(reply) === 1 && typeof reply === "number" ? true : String(reply);
  }

  /** Deletes the lock `name` while it holds `token`, in one script. */
  async releaseLock(name: string, token: string): Promise<boolean> {
    return Number(await this.#driver.send(["EVAL", RELEASE_LOCK, "1", name, token], name)) === 1;
  }

  /** A write that refuses to replace a value with a fence as high or higher, in one script. */
  async setFenced(
    key: string,
    value: StoredValue,
    timeToLive: number | undefined,
    fence: WriteFence,
  ): Promise<boolean> {
    const script = [
      "EVAL",
      SET_FENCED,
      "1",
      key,
      value as RedisArgument,
      timeToLive === undefined ? "" : String(timeToLive),
      Buffer.from(fence.marker),
      String(fence.offset + 1),
      String(fence.digits),
      String(fence.value),
    ] as RedisCommand;
    return Number(await this.#driver.send(script, key)) === 1;
  }

  /**
   * With a prefix, deletes the keys under it (`SCAN MATCH` with the prefix's glob characters escaped,
   * then `UNLINK` in batches); without one, `FLUSHDB` on every master. Each round trip has its own
   * deadline: the whole may take as long as the keyspace needs.
   */
  async clear(prefix: string): Promise<void> {
    // Listing the masters is a guarded step of its own: it waits for the connection (a cluster knows no
    // master before it), within the deadline, and finding none is a failure, never an empty success.
    const masters = await this.#guard.run("clear", undefined, async () => {
      const found = await this.#driver.masters();
      if (found.length === 0) throw new BackendError("the cluster reported no master to clear");
      return found;
    });
    if (prefix === "") {
      await this.#guard.run("clear", undefined, () => Promise.all(masters.map((send) => send(["FLUSHDB"]))));
      return;
    }
    const pattern = `${escapeGlob(prefix)}*`;
    await Promise.all(
      masters.map(async (send) => {
        let cursor = "0";
        do {
          const { next, keys } = await this.#guard.run("clear", undefined, () =>
            scanOnce(send, cursor, pattern, SCAN_BATCH),
          );
          cursor = next;
          const names = [...new Set(keys)];
          if (names.length > 0) await this.#guard.run("clear", undefined, () => this.deleteMany(names));
        } while (cursor !== "0");
      }),
    );
  }

  /** Disconnects a client we created; only detaches from an injected one (unless told to close it). */
  close(): Promise<void> {
    return this.#driver.close();
  }

  async #transaction(commands: readonly RedisCommand[], key: string | undefined): Promise<unknown[]> {
    const replies = await this.#driver.transaction(commands, key);
    if (!Array.isArray(replies)) throw new BackendError("the transaction was aborted (EXEC returned nil)");
    return replies;
  }
}

/** One `SCAN` round trip on one master: the cursor to go on from (`"0"` when done) and the keys, as text. */
async function scanOnce(
  send: MasterSender,
  cursor: string,
  match: string,
  count: number,
): Promise<{ next: string; keys: string[] }> {
  const [next, keys] = (await send(["SCAN", cursor, "MATCH", match, "COUNT", String(count)])) as [
    Buffer | string,
    (Buffer | string)[],
  ];
  return { next: next.toString(), keys: keys.map((key) => key.toString()) };
}

/**
 * One `MGET` of `keys` (which share a slot on a cluster). When the server refuses it as a whole (a key
 * the ACL forbids, `MGET` itself forbidden, `TRYAGAIN` while a slot migrates), each key is asked again
 * on its own, so that one key's trouble is not its batch's: that key's entry is then a
 * {@link FailedRead}. Connection failures are not retried here: the deadline guard resends reads.
 */
async function readEach(driver: RedisDriver, keys: readonly string[]): Promise<(Buffer | null | FailedRead)[]> {
  try {
    return (await driver.send(["MGET", ...keys], keys[0])) as (Buffer | null)[];
  } catch (error) {
    if (redisErrorCode(error) === undefined) throw error;
    return Promise.all(keys.map((key) => readAlone(driver, key)));
  }
}

/**
 * The entries of `replies` (those of `keys`, in order) that hold a value, in the order asked.
 *
 * @throws the error of the first key that failed.
 */
function foundIn(keys: readonly string[], replies: readonly (Buffer | null | FailedRead)[]): Map<string, Buffer> {
  const found = new Map<string, Buffer>();
  keys.forEach((key, index) => {
    const reply = replies[index];
    if (reply instanceof FailedRead) throw reply.error;
    if (reply !== null && reply !== undefined) found.set(key, reply);
  });
  return found;
}

/** `GET key`, where a key of another type reads as absent, as it does in an `MGET`. */
async function readAlone(driver: RedisDriver, key: string): Promise<Buffer | null | FailedRead> {
  try {
    return (await driver.send(["GET", key], key)) as Buffer | null;
  } catch (error) {
    if (redisErrorCode(error) === "WRONGTYPE") return null;
    return new FailedRead(error);
  }
}

/**
 * Runs `send` again while the server answers `TRYAGAIN` (a multi-key command in a slot that is being
 * migrated, which node-redis does not retry): up to 8 times, 5 ms to 100 ms apart, about 0.5 s in all.
 * A `TRYAGAIN` means nothing was done, so a write is safe to send again; the caller's deadline still
 * bounds the wait.
 */
async function untilNotTryAgain<T>(send: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      if (attempt >= 8 || !isTryAgain(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(5 * 2 ** attempt, 100)));
    }
  }
}

/** `TRYAGAIN` as a reply, or inside the error of a transaction that carries the replies. */
function isTryAgain(error: unknown): boolean {
  if (redisErrorCode(error) === "TRYAGAIN") return true;
  const replies = (error as { replies?: unknown } | null)?.replies;
  return Array.isArray(replies) && replies.some((reply) => redisErrorCode(reply) === "TRYAGAIN");
}
