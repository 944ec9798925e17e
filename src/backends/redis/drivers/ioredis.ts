import { ConfigurationError } from "../../../errors.js";
import {
  groupBySlot,
  loadSlotFunction,
  type MasterSender,
  type RedisCommand,
  type RedisDriver,
  ConnectionLifecycle,
} from "./driver.js";

/**
 * An `ioredis` (or `iovalkey`) client or cluster, as many applications already hold for BullMQ.
 *
 * @example
 * ```ts
 * import Redis from "ioredis";
 * // Its own options apply; unless the offline queue and the resend after a reconnect are both off, the
 * // backend talks through a duplicate of it with both off.
 * const backend = new RedisBackend(new Redis(6379, "127.0.0.1"));
 * ```
 */
export interface IoRedisLike {
  /** `"ready"` when commands can be sent. */
  readonly status: string;
  /** `true` for an ioredis `Cluster`. */
  readonly isCluster: boolean;
  /** Sends a raw command with binary replies. */
  callBuffer(command: string, args: (string | Buffer)[]): Promise<unknown>;
  /** A MULTI/EXEC transaction of raw commands. */
  multi(commands: unknown[][]): { exec(): Promise<[Error | null, unknown][] | null> };
  /** Connects a client made with `lazyConnect`. */
  connect(): Promise<void>;
  /** Closes the connection at once. */
  disconnect(): void;
  /** The master nodes of a cluster. */
  nodes?(role: "master"): IoRedisLike[];
  on(event: string, listener: (...parameters: unknown[]) => void): unknown;
  off(event: string, listener: (...parameters: unknown[]) => void): unknown;
  /** The options it was made with (ioredis and iovalkey keep them here). */
  readonly options?: IoRedisOptions;
  /** A new client with the same options plus `override` (a cluster takes its start nodes first). */
  duplicate?(...parameters: unknown[]): IoRedisLike;
}

/** The options of an ioredis client or cluster that decide whether it may send a command late. */
export interface IoRedisOptions {
  readonly keyPrefix?: string | undefined;
  readonly enableOfflineQueue?: boolean | undefined;
  readonly autoResendUnfulfilledCommands?: boolean | undefined;
  /** A cluster's options for the client of each node. */
  readonly redisOptions?:
    | { readonly keyPrefix?: string | undefined; readonly autoResendUnfulfilledCommands?: boolean | undefined }
    | undefined;
}

/** The options under which ioredis never sends a command after its caller was told it failed. */
const NEVER_LATE = { enableOfflineQueue: false, autoResendUnfulfilledCommands: false } as const;

/**
 * The client the backend talks through: the injected one when its options cannot send a command late,
 * else a duplicate of it (same server, credentials and TLS) with its offline queue and its resend of
 * unanswered commands after a reconnect turned off. ioredis has both on by default: a write that our
 * deadline reported failed would otherwise be sent again after the reconnect, over a newer value.
 *
 * @throws ConfigurationError for a client with its own `keyPrefix` (`SCAN MATCH` and the keys `SCAN`
 *   returns ignore it, so `clear()` would miss every key), or one that cannot be duplicated.
 */
export function neverLateClient(client: IoRedisLike): { client: IoRedisLike; duplicated: boolean } {
  const options = client.options ?? {};
  const keyPrefix = options.keyPrefix ?? options.redisOptions?.keyPrefix;
  if (keyPrefix !== undefined && keyPrefix !== "") {
    throw new ConfigurationError(
      `the injected ioredis client has keyPrefix ${JSON.stringify(keyPrefix)}, which ioredis leaves out of SCAN, so clear() would miss every key: ` +
        `give the cache prefix: ${JSON.stringify(keyPrefix)} and a client without keyPrefix`,
    );
  }
  const resends = client.isCluster
    ? options.redisOptions?.autoResendUnfulfilledCommands !== false
    : options.autoResendUnfulfilledCommands !== false;
  if (options.enableOfflineQueue === false && !resends) return { client, duplicated: false };
  if (client.duplicate === undefined) {
    throw new ConfigurationError(
      "the injected ioredis client may resend a command after it was reported failed: create it with { enableOfflineQueue: false, autoResendUnfulfilledCommands: false }",
    );
  }
  const duplicate = client.isCluster
    ? client.duplicate(undefined, {
        enableOfflineQueue: false,
        lazyConnect: true,
        redisOptions: { ...options.redisOptions, autoResendUnfulfilledCommands: false },
      })
    : client.duplicate({ ...NEVER_LATE, lazyConnect: true });
  return { client: duplicate, duplicated: true };
}

/** Whether `client` looks like an ioredis/iovalkey client or cluster. */
export function isIoRedis(client: object): client is IoRedisLike {
  return "callBuffer" in client && "status" in client;
}

/** An injected ioredis/iovalkey client or cluster. */
export class IoRedisDriver implements RedisDriver {
  readonly #client: IoRedisLike;
  readonly #owned: boolean;
  readonly #lifecycle = new ConnectionLifecycle();
  readonly #slotOf: ((key: string) => number) | undefined;

  /** The injected client we duplicated, closed with ours when the caller asked for it. */
  readonly #original: IoRedisLike | undefined;

  /**
   * @param owned - Whether `close()` disconnects the injected client.
   * @throws ConfigurationError for a client that {@link neverLateClient} refuses.
   */
  constructor(injected: IoRedisLike, owned: boolean) {
    const { client, duplicated } = neverLateClient(injected);
    this.#client = client;
    // A duplicate is ours to close; the injected client only when the caller said so.
    this.#owned = owned || duplicated;
    this.#original = duplicated && owned ? injected : undefined;
    client.on("error", this.#lifecycle.onError);
    client.on("ready", this.#lifecycle.onReady);
    this.#slotOf = client.isCluster ? loadSlotFunction() : undefined;
  }

  get ready(): boolean {
    return this.#client.status === "ready";
  }

  get lastErrorMessage(): string | undefined {
    return this.#lifecycle.lastErrorMessage;
  }

  get refusal(): string | undefined {
    return this.#lifecycle.refusal;
  }

  whenReady(): Promise<void> {
    return this.#lifecycle.whenReady(() => {
      // A client made with lazyConnect waits for connect(); any other connects (and reconnects) by itself.
      if (this.#client.status === "wait") this.#client.connect().catch(this.#lifecycle.onError);
    });
  }

  send(command: RedisCommand): Promise<unknown> {
    const [name, ...args] = command;
    return this.#client.callBuffer(String(name), args);
  }

  async transaction(commands: readonly RedisCommand[]): Promise<unknown[]> {
    const replies = await this.#client
      .multi(commands.map(([name, ...args]) => [String(name).toLowerCase(), ...args]))
      .exec();
    if (replies === null) throw new Error("the transaction was aborted (EXEC returned nil)");
    return replies.map(([error, reply]) => {
      if (error !== null) throw error;
      return reply;
    });
  }

  get isCluster(): boolean {
    return this.#slotOf !== undefined;
  }

  /**
   * None: ioredis speaks RESP2, where invalidations arrive on a second connection (`REDIRECT`), apart from
   * the replies they must be ordered with. See docs/near-cache.md.
   */
  readonly invalidations = undefined;

  checkTopology(): void {
    // Nothing is tracked.
  }

  groupKeys(keys: readonly string[]): string[][] {
    return this.#slotOf === undefined ? [[...keys]] : groupBySlot(keys, this.#slotOf);
  }

  masters(): Promise<MasterSender[]> {
    const masters = this.#client.isCluster && this.#client.nodes ? this.#client.nodes("master") : [this.#client];
    return Promise.resolve(
      masters.map((node): MasterSender => (command) => {
        const [name, ...args] = command;
        return node.callBuffer(String(name), args);
      }),
    );
  }

  close(): Promise<void> {
    if (!this.#lifecycle.close()) return Promise.resolve();
    this.#client.off("ready", this.#lifecycle.onReady);
    if (this.#owned) this.#client.disconnect();
    else this.#client.off("error", this.#lifecycle.onError);
    this.#original?.disconnect();
    return Promise.resolve();
  }
}
