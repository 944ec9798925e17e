import { BackendError, ConfigurationError, SerializationError } from "../../errors.js";
import { CacheUrl, type UrlParameters } from "../../internal/cache-url.js";
import type { CircuitState } from "../../layers/circuit-breaker.js";
import { CoalescedBackend } from "../../layers/coalesced.js";
import { ReadBatcher } from "../../layers/read-batcher.js";
import { DeadlineGuard } from "../../layers/deadline-guard.js";
import { GuardedBackend } from "../../layers/guarded.js";
import { refuseKey, refuseKeys } from "../../internal/key-refusal.js";
import { asError } from "../../internal/error-kinds.js";
import { checkConfiguration } from "../../internal/options.js";
import { quoteKey } from "../../internal/quote-key.js";
import {
  checkPositiveIntegers,
  DEFAULT_REDIS_TIMINGS,
  DEFAULT_REDIS_URL,
  definedRedisTimings,
  REDIS_TIMING_NAMES,
  type RedisEndpoint,
  type RedisTimings,
  redisEndpointFromUrl,
  redisTimingsFromUrl,
} from "./url.js";
import { type RedisArgument, type RedisDriver, redisErrorCode } from "./drivers/driver.js";
import { RedisStore } from "./store.js";
import { SentinelFollowerDriver } from "./drivers/sentinel-follower.js";
import { IoRedisDriver, type IoRedisLike, isIoRedis } from "./drivers/ioredis.js";
import {
  isNodeRedis,
  isNodeRedisCluster,
  isNodeRedisSentinel,
  type NodeRedisClientLike,
  NodeRedisClusterDriver,
  NodeRedisDriver,
  type NodeRedisClusterLike,
  NodeRedisSentinelDriver,
  type NodeRedisSentinelLike,
} from "./drivers/node-redis.js";
import type {
  AsyncBackend,
  BackendCapabilities,
  BackendLocks,
  BackendScanOptions,
  BackendScanPage,
  BackendSetOptions,
  ChangeNotifications,
  WatchedValue,
} from "../contract.js";

export type { IoRedisLike } from "./drivers/ioredis.js";
export type { NodeRedisClientLike, NodeRedisClusterLike, NodeRedisSentinelLike } from "./drivers/node-redis.js";

/** A Redis client that {@link RedisBackend} can use: node-redis (client, cluster or Sentinel), ioredis or iovalkey. */
export type RedisClientLike = NodeRedisClientLike | NodeRedisClusterLike | NodeRedisSentinelLike | IoRedisLike;

/** What Redis stores and returns: bytes (strings are stored as UTF-8 and come back as bytes). */
export type RedisWireValue = string | Uint8Array;

/** Options of {@link RedisBackend}; every time is in milliseconds. */
export interface RedisBackendOptions extends Partial<RedisTimings> {
  /**
   * Where Redis is: `redis://[user:password@]host:port/db`, `rediss://…` (TLS),
   * `redis+unix:///path.sock?db=N` or `redis+cluster://host:port,host:port`. Its query may set
   * `timeout`, `connect-timeout`, `max-in-flight`, `reconnect-max-delay`, `breaker-threshold` and
   * `breaker-duration`; options given here win.
   * Default `redis://127.0.0.1:6379/0`.
   */
  readonly url?: string;
  /** A client you already have, used instead of creating one from `url`. */
  readonly client?: RedisClientLike;
  /** Whether `close()` disconnects an injected `client` (default `false`: it is yours). */
  readonly closeClient?: boolean;
  /**
   * Whether to report changes to keys by any client (`capabilities.changes`), as a near tier needs: the
   * client we create then speaks RESP3 with `CLIENT TRACKING ON` (node-redis 5.9 or newer). An injected
   * client reports them when it was created so (node-redis with `{ RESP: 3, emitInvalidate: true }`);
   * `true` with one that was not is a `ConfigurationError`. Default `false`: the server then keeps no
   * record of what we read.
   */
  readonly notifyChanges?: boolean;
}

function isRedisClient(value: object): value is RedisClientLike {
  return isNodeRedis(value) || isIoRedis(value);
}

/** Parses a Redis URL into its endpoint and timings, reading every parameter it understands. */
export function redisSettingsFromUrl(
  url: CacheUrl,
  parameters: UrlParameters,
): { endpoint: RedisEndpoint; timings: RedisTimings } {
  return { endpoint: redisEndpointFromUrl(url, parameters), timings: redisTimingsFromUrl(parameters) };
}

function createDriver(endpoint: RedisEndpoint, timings: RedisTimings, tracking: boolean): RedisDriver {
  if (endpoint.transport === "cluster") return NodeRedisClusterDriver.create(endpoint, timings, tracking);
  if (endpoint.transport === "sentinel") return SentinelFollowerDriver.create(endpoint, timings, tracking);
  return NodeRedisDriver.create(endpoint, timings, tracking);
}

function wrapClient(client: RedisClientLike, owned: boolean, timings: RedisTimings): RedisDriver {
  if (isIoRedis(client)) return new IoRedisDriver(client, owned);
  if (isNodeRedisCluster(client)) return new NodeRedisClusterDriver(client, owned, timings.reconnectMaxDelay);
  if (isNodeRedisSentinel(client)) return new NodeRedisSentinelDriver(client, owned);
  if (isNodeRedis(client)) return new NodeRedisDriver(client, owned);
  throw new ConfigurationError("RedisBackend needs a node-redis, ioredis or iovalkey client");
}

/**
 * The Redis backend (`redis://`, `rediss://`, `redis+unix://`, `redis+cluster://`) for the async
 * `Cache`, on the official `redis` client (an optional peer: `npm install redis`). The client is
 * created and connected on first use, so building the backend never waits.
 *
 * Every operation settles within `timeout` (default 500 ms) even when the server hangs; at most
 * `maxInFlight` operations wait at once; while disconnected, operations wait for the reconnection
 * (capped, jittered backoff, forever) instead of piling up in a queue. `getMany` is one `MGET`,
 * `setMany` one `MSET` or one `MULTI`/`EXEC` (per hash slot on a cluster). Values come back as bytes.
 *
 * @example
 * ```ts
 * const cache = new Cache<User>({ backend: "redis://127.0.0.1:6379/1?timeout=250", serializer: "msgpack://" });
 * // or with a client you already have (it stays open when the cache closes):
 * const shared = new Cache<User>({ backend: new RedisBackend(createClient({ url })), serializer: "json://" });
 * ```
 */
export class RedisBackend implements AsyncBackend<RedisWireValue> {
  readonly #driver: RedisDriver;
  readonly #guard: DeadlineGuard;
  /** The store's commands under the layers: deadline and admission, over reads coalesced per tick. */
  readonly #layers: AsyncBackend<RedisWireValue>;
  /** Bytes only; `setMany` atomic as a whole, or per hash slot on a cluster. */
  readonly capabilities: BackendCapabilities<RedisWireValue>;
  /** The longest value the server takes (its `proto-max-bulk-len`; 512 MiB until it has said). */
  #bulkLimit = 512 * 1024 * 1024;
  #askedBulkLimit = false;

  /** @throws ConfigurationError for a bad URL or option (never quoting a password). */
  constructor(clientOrOptions: RedisClientLike | RedisBackendOptions = {}) {
    const options: RedisBackendOptions = isRedisClient(clientOrOptions) ? { client: clientOrOptions } : clientOrOptions;
    checkConfiguration(options, {
      what: "RedisBackend",
      known: ["url", "client", "closeClient", "notifyChanges", ...REDIS_TIMING_NAMES],
      example: '{ url: "redis://127.0.0.1:6379/0", timeout: 500 }',
    });
    let timings: RedisTimings = DEFAULT_REDIS_TIMINGS;
    let target = "Redis";
    if (options.client === undefined) {
      const url = new CacheUrl(options.url ?? DEFAULT_REDIS_URL);
      const settings = redisSettingsFromUrl(url, url.parametersFor(url.scheme));
      url.rejectUnreadParameters();
      timings = { ...settings.timings, ...definedRedisTimings(options) };
      checkPositiveIntegers({ ...timings });
      this.#driver = createDriver(settings.endpoint, timings, options.notifyChanges === true);
      target = `Redis at ${settings.endpoint.redacted}`;
    } else {
      if (options.url !== undefined) throw new ConfigurationError("give RedisBackend a url or a client, not both");
      timings = { ...timings, ...definedRedisTimings(options) };
      checkPositiveIntegers({ ...timings });
      this.#driver = wrapClient(options.client, options.closeClient ?? false, timings);
      if (options.notifyChanges === true && this.#driver.invalidations === undefined) {
        throw new ConfigurationError(
          "notifyChanges needs a client that tracks its reads: a node-redis client created with { RESP: 3, emitInvalidate: true } (for a cluster, emitInvalidate in its defaults). ioredis speaks RESP2, where invalidations come on a second connection apart from the replies; pass a URL instead and the backend creates such a client",
        );
      }
    }
    this.#guard = new DeadlineGuard(this.#driver, {
      timeout: timings.timeout,
      maxInFlight: timings.maxInFlight,
      target,
      breaker: { threshold: timings.breakerThreshold, duration: timings.breakerDuration },
    });
    const store = new RedisStore(this.#driver, this.#guard);
    const changes = this.#changeNotifications(store);
    const locks = this.#locks(store);
    this.capabilities =
      changes === undefined ? { ...store.capabilities, locks } : { ...store.capabilities, changes, locks };
    // A batch the server refused as a whole (an error reply: NOPERM, TRYAGAIN…) is asked again key by key.
    const coalesced = new CoalescedBackend(store, {
      isBatchRefusal: (error) => redisErrorCode(error) !== undefined,
      readBatch: (keys) => store.readBatch(keys),
    });
    this.#layers = new GuardedBackend(coalesced, this.#guard, { clearGuardsItsSteps: true });
  }

  /**
   * The change notifications of a driver whose connections track their reads: watched reads go through
   * the deadline guard and are batched per tick, as `get`s are.
   */
  #changeNotifications(store: RedisStore): ChangeNotifications<RedisWireValue> | undefined {
    const invalidations = this.#driver.invalidations;
    if (invalidations === undefined) return undefined;
    const reads = new ReadBatcher<WatchedValue<Buffer>>({
      readOne: (key) => store.readWatched([key]).then(([found]) => found),
      readBatch: (keys) => store.readWatched(keys),
      isBatchRefusal: (error) => redisErrorCode(error) !== undefined,
    });
    const guard = this.#guard;
    return {
      subscribe: (listener) => invalidations.listen(listener),
      readWatched: (key) => refuseKey("get", key) ?? guard.run("get", key, () => reads.read(key), true),
      readManyWatched: (keys) => {
        if (keys.length === 0) return Promise.resolve(new Map<string, WatchedValue<Buffer>>());
        return (
          refuseKeys("getMany", keys) ??
          guard.run(
            "getMany",
            keys.length === 1 ? keys[0] : undefined,
            async () => {
              const values = await store.readWatched(keys);
              const found = new Map<string, WatchedValue<Buffer>>();
              keys.forEach((key, index) => {
                const value = values[index];
                if (value !== undefined) found.set(key, value);
              });
              return found;
            },
            true,
          )
        );
      },
    };
  }

  /**
   * Locks as keys set with `NX PX` and a random token, released by a script only while they hold it, and
   * fenced writes as one script: each through the deadline guard, and announced to near tiers as writes.
   */
  #locks(store: RedisStore): BackendLocks<RedisWireValue> {
    const guard = this.#guard;
    return {
      acquire: (name, token, timeToLive) =>
        refuseKey("lock", name) ?? guard.run("lock", name, () => store.acquireLock(name, token, timeToLive)),
      release: (name, token) =>
        refuseKey("unlock", name) ?? guard.run("unlock", name, () => store.releaseLock(name, token)),
      setFenced: (key, value, timeToLive, fence) =>
        this.#write(key, value, (argument) =>
          guard.run("set", key, () => store.setFenced(key, argument, timeToLive, fence)),
        ),
    };
  }

  /** Operations sent and not yet answered (or waiting for the connection), for monitoring. */
  get inFlight(): number {
    return this.#guard.inFlight;
  }

  /**
   * Where the circuit breaker stands: `"closed"` (calls go through), `"open"` (after `breakerThreshold`
   * timeouts in a row, calls are refused at once for `breakerDuration`) or `"half-open"` (one probe may go).
   */
  get circuit(): CircuitState {
    return this.#guard.circuit;
  }

  /** Whether the client is connected and ready now. */
  get connected(): boolean {
    return this.#driver.ready;
  }

  get(key: string): Promise<RedisWireValue | undefined> {
    return refuseKey("get", key) ?? this.#layers.get(key);
  }

  getMany(keys: readonly string[]): Promise<Map<string, RedisWireValue>> {
    if (keys.length === 0) return Promise.resolve(new Map<string, RedisWireValue>());
    return refuseKeys("getMany", keys) ?? this.#layers.getMany(keys);
  }

  set(key: string, value: unknown, options: BackendSetOptions): Promise<boolean> {
    return this.#write(key, value, (argument) => this.#layers.set(key, argument, options));
  }

  /** A write of one key: the key and value checked and converted, the write announced, then `send`. */
  #write(key: string, value: unknown, send: (argument: RedisArgument) => Promise<boolean>): Promise<boolean> {
    const refusal = refuseKey("set", key);
    if (refusal !== undefined) return refusal;
    let argument: RedisArgument;
    try {
      argument = this.#sendable(key, toArgument(key, value));
    } catch (error) {
      return Promise.reject(asError(error));
    }
    this.#announce(key);
    return send(argument);
  }

  /**
   * Atomic on one server: one `MSET`, or one `MULTI`/`EXEC` of `SET … PX` with a time to live. On a
   * cluster, atomic per hash slot (fully atomic when the keys share a `{hash tag}`).
   */
  setMany(entries: readonly (readonly [string, unknown])[], timeToLive: number | undefined): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    let values: Map<string, RedisArgument>;
    try {
      // Later duplicates win, as in a Map.
      values = new Map(entries.map(([key, value]) => [key, this.#sendable(key, toArgument(key, value))]));
    } catch (error) {
      return Promise.reject(asError(error));
    }
    const keys = [...values.keys()];
    const refusal = refuseKeys("setMany", keys);
    if (refusal !== undefined) return refusal;
    this.#driver.invalidations?.changed(keys);
    return this.#layers.setMany([...values], timeToLive);
  }

  expireIn(key: string, timeToLive: number | undefined): Promise<boolean> {
    const refusal = refuseKey("expireIn", key);
    if (refusal !== undefined) return refusal;
    this.#announce(key);
    return this.#layers.expireIn(key, timeToLive);
  }

  delete(key: string): Promise<boolean> {
    const refusal = refuseKey("delete", key);
    if (refusal !== undefined) return refusal;
    this.#announce(key);
    return this.#layers.delete(key);
  }

  deleteMany(keys: readonly string[]): Promise<number> {
    const distinct = [...new Set(keys)];
    if (distinct.length === 0) return Promise.resolve(0);
    const refusal = refuseKeys("deleteMany", distinct);
    if (refusal !== undefined) return refusal;
    this.#driver.invalidations?.changed(distinct);
    return this.#layers.deleteMany(distinct);
  }

  has(key: string): Promise<boolean> {
    return refuseKey("has", key) ?? this.#layers.has(key);
  }

  /** `PTTL`: the milliseconds left, `null` without expiry, `undefined` when absent. */
  ttl(key: string): Promise<number | null | undefined> {
    return refuseKey("ttl", key) ?? this.#layers.ttl(key);
  }

  /**
   * One `SCAN` page (`MATCH`, `COUNT` 1000 by default), within the deadline; on a cluster, the masters in
   * turn.
   */
  scan(cursor: string, options: BackendScanOptions): Promise<BackendScanPage> {
    if (typeof cursor !== "string" || (options.match !== undefined && typeof options.match !== "string")) {
      return Promise.reject(new BackendError("scan takes a cursor and an optional match pattern, as strings"));
    }
    return this.#layers.scan(cursor, options);
  }

  /** Removes `key` only while it holds `value` (compared by SHA-1 on the server: the value is not sent back). */
  deleteIfUnchanged(key: string, value: unknown): Promise<boolean> {
    let argument: RedisArgument;
    try {
      argument = toArgument(key, value);
    } catch (error) {
      return Promise.reject(asError(error));
    }
    const refusal = refuseKey("delete", key);
    if (refusal !== undefined) return refusal;
    this.#announce(key);
    return this.#layers.deleteIfUnchanged?.(key, argument) ?? Promise.resolve(false);
  }

  /**
   * With a prefix, deletes the keys under it (`SCAN MATCH` with the prefix's glob characters escaped,
   * then `UNLINK` in batches; each round trip has the deadline). Without one, `FLUSHDB` on every master.
   */
  clear(prefix: string): Promise<void> {
    const invalidations = this.#driver.invalidations;
    if (invalidations === undefined) return this.#layers.clear(prefix);
    // Its keys are found and deleted by the thousand: rather than announce each, every near tier over this
    // backend forgets everything, when the clear starts and again when it ends.
    invalidations.lost();
    return this.#layers.clear(prefix).finally(invalidations.lost);
  }

  /**
   * Rejects with `CacheClosedError` what was not sent yet and the reads in flight, waits for the writes
   * already sent (each within its deadline: their outcome is then known), then disconnects the client
   * we created.
   */
  close(): Promise<void> {
    return this.#layers.close();
  }

  /**
   * Tells every near tier over this backend that `key` changes, before the write is sent: the reads in
   * flight are then not kept, and a read issued after this goes out on the key's connection after the
   * write. Nothing is allocated when nothing listens (no tracking).
   */
  #announce(key: string): void {
    this.#driver.invalidations?.changed([key]);
  }

  /**
   * The argument, when the server will take it: a bulk string longer than its `proto-max-bulk-len`
   * (512 MiB unless the server says otherwise) is refused before it is sent. Sent, it would make the
   * server drop the connection, and fail the other calls on it too.
   *
   * @throws BackendError naming the key, the size and the limit.
   */
  #sendable(key: string, argument: RedisArgument): RedisArgument {
    if (!this.#askedBulkLimit) this.#askBulkLimit();
    const limit = this.#bulkLimit;
    // UTF-8 takes at most 3 bytes per UTF-16 unit: most strings need no count of their bytes.
    if (typeof argument === "string" ? argument.length * 3 <= limit : argument.byteLength <= limit) return argument;
    const size = typeof argument === "string" ? Buffer.byteLength(argument) : argument.byteLength;
    if (size <= limit) return argument;
    throw new BackendError(
      `the value of key ${quoteKey(key)} is ${String(size)} bytes, over the ${String(limit)} bytes Redis takes in one value (proto-max-bulk-len); nothing was sent`,
      { key },
    );
  }

  /** Asks the server for its `proto-max-bulk-len` once, in the background (a server that refuses CONFIG keeps the default). */
  #askBulkLimit(): void {
    this.#askedBulkLimit = true;
    this.#guard
      .run("config", undefined, () => this.#driver.send(["CONFIG", "GET", "proto-max-bulk-len"], undefined))
      .then(
        (reply) => {
          // RESP2 answers [name, value]; RESP3 (node-redis 6) a map, which node-redis gives as an object.
          const value: unknown = Array.isArray(reply)
            ? reply[1]
            : reply instanceof Map
              ? reply.get("proto-max-bulk-len")
              : (reply as Record<string, unknown> | null)?.["proto-max-bulk-len"];
          const limit = Number(String(value));
          if (Number.isSafeInteger(limit) && limit > 0) this.#bulkLimit = limit;
        },
        () => undefined,
      );
  }
}

/** A wire value as a command argument: strings and Buffers as they are, other bytes without copying. */
function toArgument(key: string, value: unknown): RedisArgument {
  if (typeof value === "string" || Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new SerializationError(
    `Redis stores strings and bytes, but the value of key ${quoteKey(key)} is a ${typeof value}: use a serializer such as json:// or msgpack://`,
    { key },
  );
}
