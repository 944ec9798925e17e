import type { RedisDriver } from "./driver.js";

/** Keys per `MGET` at most: bounds one reply's size (64 values of 1 MB are one 64 MB reply). */
const MAX_BATCH = 64;

type Resolve = (value: Buffer | undefined) => void;
type Reject = (error: unknown) => void;

/**
 * Sends the `GET`s issued in one tick as one `MGET` (one per hash slot on a cluster). Under load many
 * callers ask in the same tick (every reply that arrives wakes a caller who asks again), and one
 * `MGET` of n keys costs the server and the client far less than n commands: one command to encode,
 * parse and dispatch instead of n. A lone read is an `MGET` of one key too, so that a key holding
 * another type (a hash, say) reads as absent whether or not its read shared a batch (`GET` would fail
 * with `WRONGTYPE` only when alone).
 *
 * Keys are gathered until `process.nextTick`, which runs after every promise callback of the current
 * tick and before the client writes to its socket (node-redis writes on `setImmediate`), or until a
 * batch holds 64 keys.
 *
 * @example
 * ```ts
 * const reads = new GetCoalescer(driver);
 * const [a, b] = await Promise.all([reads.get("a"), reads.get("b")]); // one MGET a b
 * ```
 */
export class GetCoalescer {
  readonly #driver: RedisDriver;
  #keys: string[] = [];
  #resolves: Resolve[] = [];
  #rejects: Reject[] = [];

  constructor(driver: RedisDriver) {
    this.#driver = driver;
  }

  /** The value of `key` as bytes, or `undefined` when it is absent (or not a string). */
  get(key: string): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) => {
      if (this.#keys.length === 0) process.nextTick(this.#flush);
      else if (this.#keys.length >= MAX_BATCH) this.#flush();
      this.#keys.push(key);
      this.#resolves.push(resolve);
      this.#rejects.push(reject);
    });
  }

  readonly #flush = (): void => {
    if (this.#keys.length === 0) return;
    const keys = this.#keys;
    const resolves = this.#resolves;
    const rejects = this.#rejects;
    this.#keys = [];
    this.#resolves = [];
    this.#rejects = [];
    const fail = (error: unknown): void => {
      for (const reject of rejects) reject(error);
    };
    const groups = keys.length === 1 ? [keys] : this.#driver.groupKeys(keys);
    if (groups.length === 1) {
      this.#driver.send(["MGET", ...keys], keys[0]).then((replies) => {
        const values = replies as (Buffer | null)[];
        for (let index = 0; index < resolves.length; index++) {
          (resolves[index] as Resolve)(values[index] ?? undefined);
        }
      }, fail);
      return;
    }
    // A cluster, several slots: one MGET per slot of its distinct keys; every waiter of a key gets its reply.
    const waiting = new Map<string, number[]>();
    keys.forEach((key, index) => {
      const positions = waiting.get(key);
      if (positions === undefined) waiting.set(key, [index]);
      else positions.push(index);
    });
    for (const group of groups) {
      const distinct = [...new Set(group)];
      this.#driver.send(["MGET", ...distinct], distinct[0]).then(
        (replies) => {
          distinct.forEach((key, keyIndex) => {
            const value = (replies as (Buffer | null)[])[keyIndex] ?? undefined;
            for (const position of waiting.get(key) ?? []) (resolves[position] as Resolve)(value);
          });
        },
        (error: unknown) => {
          for (const key of distinct)
            for (const position of waiting.get(key) ?? []) (rejects[position] as Reject)(error);
        },
      );
    }
  };
}
