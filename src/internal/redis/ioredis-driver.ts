import { groupBySlot, loadSlotFunction, type RedisCommand, type RedisDriver, Readiness } from "./driver.js";

type Listener = (...parameters: unknown[]) => void;

/**
 * An `ioredis` (or `iovalkey`) client or cluster, as many applications already hold for BullMQ.
 *
 * @example
 * ```ts
 * import Redis from "ioredis";
 * const backend = new RedisBackend(new Redis(6379, "127.0.0.1", { enableOfflineQueue: false }));
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
  on(event: string, listener: Listener): unknown;
  off(event: string, listener: Listener): unknown;
}

/** Whether `client` looks like an ioredis/iovalkey client or cluster. */
export function isIoRedis(client: object): client is IoRedisLike {
  return "callBuffer" in client && "status" in client;
}

/** An injected ioredis/iovalkey client or cluster. */
export class IoRedisDriver implements RedisDriver {
  readonly #client: IoRedisLike;
  readonly #owned: boolean;
  readonly #readiness = new Readiness();
  readonly #slotOf: ((key: string) => number) | undefined;
  readonly #onError = (error: unknown): void => {
    this.#readiness.recordError(error);
  };
  readonly #onReady = (): void => {
    this.#readiness.markReady();
  };
  #closed = false;

  constructor(client: IoRedisLike, owned: boolean) {
    this.#client = client;
    this.#owned = owned;
    client.on("error", this.#onError);
    client.on("ready", this.#onReady);
    this.#slotOf = client.isCluster ? loadSlotFunction() : undefined;
  }

  get ready(): boolean {
    return this.#client.status === "ready";
  }

  get lastErrorMessage(): string | undefined {
    return this.#readiness.lastErrorMessage;
  }

  whenReady(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const waiting = this.#readiness.wait();
    // A client made with lazyConnect waits for connect(); any other connects (and reconnects) by itself.
    if (this.#client.status === "wait") this.#client.connect().catch(this.#onError);
    return waiting;
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

  groupKeys(keys: readonly string[]): string[][] {
    return this.#slotOf === undefined ? [[...keys]] : groupBySlot(keys, this.#slotOf);
  }

  async forEachMaster(run: (send: (command: RedisCommand) => Promise<unknown>) => Promise<void>): Promise<void> {
    const masters = this.#client.isCluster && this.#client.nodes ? this.#client.nodes("master") : [this.#client];
    await Promise.all(
      masters.map((node) =>
        run((command) => {
          const [name, ...args] = command;
          return node.callBuffer(String(name), args);
        }),
      ),
    );
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#readiness.release();
    this.#client.off("ready", this.#onReady);
    if (this.#owned) this.#client.disconnect();
    else this.#client.off("error", this.#onError);
    return Promise.resolve();
  }
}
