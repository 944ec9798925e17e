import { type RedisDriver, redisErrorCode } from "../backends/redis/drivers/driver.js";

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
    // Each distinct key is asked once, however many callers wait for it: 32 callers of one 4 MB key
    // would otherwise make Redis send 128 MB.
    const waiting = new Map<string, number[]>();
    keys.forEach((key, index) => {
      const positions = waiting.get(key);
      if (positions === undefined) waiting.set(key, [index]);
      else positions.push(index);
    });
    const distinct = waiting.size === keys.length ? keys : [...waiting.keys()];
    const groups = distinct.length === 1 ? [distinct] : this.#driver.groupKeys(distinct);
    for (const group of groups) {
      readEach(this.#driver, group).then(
        (outcomes) => {
          group.forEach((key, keyIndex) => {
            const outcome = outcomes[keyIndex];
            for (const position of waiting.get(key) ?? []) {
              if (outcome instanceof KeyFailure) (rejects[position] as Reject)(outcome.error);
              else (resolves[position] as Resolve)(outcome ?? undefined);
            }
          });
        },
        (error: unknown) => {
          for (const key of group) for (const position of waiting.get(key) ?? []) (rejects[position] as Reject)(error);
        },
      );
    }
  };
}

/**
 * One `MGET` of `keys` (which share a slot on a cluster). When the server refuses it as a whole (a key
 * the ACL forbids, `MGET` itself forbidden, `TRYAGAIN` while a slot migrates), each key is asked again
 * on its own, so that one key's trouble is not its batch's: that key's entry is then a
 * {@link KeyFailure}. Connection failures are not retried here: the guard resends reads.
 */
export async function readEach(driver: RedisDriver, keys: readonly string[]): Promise<(Buffer | null | KeyFailure)[]> {
  try {
    return (await driver.send(["MGET", ...keys], keys[0])) as (Buffer | null)[];
  } catch (error) {
    if (redisErrorCode(error) === undefined) throw error;
    return Promise.all(keys.map((key) => readAlone(driver, key)));
  }
}

/** `GET key`, where a key of another type reads as absent, as it does in an `MGET`. */
async function readAlone(driver: RedisDriver, key: string): Promise<Buffer | null | KeyFailure> {
  try {
    return (await driver.send(["GET", key], key)) as Buffer | null;
  } catch (error) {
    if (redisErrorCode(error) === "WRONGTYPE") return null;
    return new KeyFailure(error);
  }
}

/** The failure of one key of a batch, handed to that key's callers only. */
export class KeyFailure {
  readonly error: unknown;
  constructor(error: unknown) {
    this.error = error;
  }
}
