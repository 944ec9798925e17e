import { ConfigurationError } from "../../../errors.js";
import type { RedisEndpoint, RedisTimings } from "../url.js";
import { type MasterSender, type RedisCommand, type RedisDriver, redisErrorCode } from "./driver.js";
import { connectTimings, loadNodeRedis, NodeRedisDriver } from "./node-redis.js";

/**
 * A connection to one sentinel. Each sentinel gets two: one asked where the master is, one subscribed to
 * its announcements (a subscribed connection takes no other command).
 */
interface SentinelConnection {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  destroy(): void;
  on(event: string, listener: (...parameters: unknown[]) => void): unknown;
  once(event: string, listener: (...parameters: unknown[]) => void): unknown;
  off(event: string, listener: (...parameters: unknown[]) => void): unknown;
  sendCommand(args: RedisCommand): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
}

/** What one sentinel says of the master: where it is, and how new that configuration is. */
interface MasterReport {
  readonly address: string;
  readonly epoch: number;
}

/** How long callers wait on an unanswering master before the sentinels are asked again. */
const REDISCOVER_AFTER_MS = 250;

/**
 * The master of a Sentinel deployment (`redis+sentinel://`), followed through failovers. It asks every
 * sentinel where the master is and trusts the newest configuration (the highest `config-epoch`), keeps a
 * plain connection to that master, and switches as soon as any sentinel announces `+switch-master` (the end
 * of a failover). While callers wait on a master that does not answer, or one answers `READONLY` (an old
 * master that came back as a replica), it asks the sentinels again every 250 ms.
 *
 * Ours rather than node-redis's `createSentinel`, which asks a single sentinel once a second and does not
 * react to `+switch-master` (it subscribes to the pattern `switch-master`, without the `+`): writes came back
 * 1.9 to 2 s after the failover ended (the sentinel it asks learning of it, then its next poll), against 50 to
 * 70 ms here.
 */
export class SentinelFollowerDriver implements RedisDriver {
  readonly #endpoint: RedisEndpoint;
  readonly #timings: RedisTimings;
  readonly #askers: readonly SentinelConnection[];
  readonly #listeners: readonly SentinelConnection[];
  #master: NodeRedisDriver | undefined;
  #masterAddress: string | undefined;
  #discovery: Promise<void> | undefined;
  #waiter: Promise<void> | undefined;
  #discoveryError: string | undefined;
  #started = false;
  #closed = false;
  readonly invalidations: undefined = undefined;
  readonly isCluster = false;

  /**
   * The driver of a `redis+sentinel://` endpoint. Invalidations (`tracking`) are not offered: a near tier
   * over Sentinel needs a `timeToLive`.
   */
  static create(endpoint: RedisEndpoint, timings: RedisTimings, tracking = false): SentinelFollowerDriver {
    if (tracking) {
      throw new ConfigurationError(
        "redis+sentinel:// does not report changes to keys yet: give the near tier a timeToLive instead",
      );
    }
    return new SentinelFollowerDriver(endpoint, timings);
  }

  private constructor(endpoint: RedisEndpoint, timings: RedisTimings) {
    this.#endpoint = endpoint;
    this.#timings = timings;
    const redis = loadNodeRedis("redis+sentinel");
    // No socket timeout: a subscribed connection is silent between announcements.
    const connect = (): SentinelConnection[] =>
      endpoint.nodes.map(
        ({ host, port }) =>
          redis.createClient({ socket: { host, port, ...connectTimings(timings) } }) as unknown as SentinelConnection,
      );
    this.#askers = connect();
    this.#listeners = connect();
  }

  get ready(): boolean {
    return this.#master?.ready ?? false;
  }

  get lastErrorMessage(): string | undefined {
    return this.#master?.lastErrorMessage ?? this.#discoveryError;
  }

  get refusal(): string | undefined {
    return this.#master?.refusal;
  }

  /** Settles once the master the sentinels name is connected (or we are closed); never rejects. */
  whenReady(): Promise<void> {
    if (this.#closed || this.ready) return Promise.resolve();
    this.#waiter ??= this.#waitForMaster().finally(() => (this.#waiter = undefined));
    return this.#waiter;
  }

  async #waitForMaster(): Promise<void> {
    this.#start();
    while (!this.#closed) {
      const master = this.#master;
      if (master === undefined) {
        await this.#discover();
        if (this.#master === undefined) await pause(REDISCOVER_AFTER_MS);
        continue;
      }
      await Promise.race([master.whenReady(), pause(REDISCOVER_AFTER_MS)]);
      if (master === this.#master && master.ready) return;
      if (master === this.#master) await this.#discover();
    }
  }

  /** Connects to the sentinels, listening for failovers (once, on first use). */
  #start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const sentinel of [...this.#askers, ...this.#listeners]) {
      // An error event without a listener would crash the process; the master's state is what matters.
      sentinel.on("error", () => undefined);
      sentinel.connect().catch(() => undefined);
    }
    for (const sentinel of this.#listeners) {
      sentinel
        .subscribe("+switch-master", (message) => {
          // "<name> <old host> <old port> <new host> <new port>"
          const [name, , , host, port] = message.split(" ");
          if (name === this.#endpoint.masterName && host !== undefined && port !== undefined) {
            this.#follow(`${host}:${port}`);
          }
        })
        .catch(() => undefined);
    }
  }

  /** Asks every sentinel where the master is (one discovery at a time) and follows the newest answer. */
  #discover(): Promise<void> {
    this.#discovery ??= this.#askSentinels().finally(() => (this.#discovery = undefined));
    return this.#discovery;
  }

  async #askSentinels(): Promise<void> {
    const reports = await Promise.all(this.#askers.map((sentinel) => this.#ask(sentinel)));
    let newest: MasterReport | undefined;
    for (const report of reports) if (report !== undefined && (newest?.epoch ?? -1) < report.epoch) newest = report;
    if (newest === undefined) {
      this.#discoveryError ??= `no sentinel knows the master "${this.#endpoint.masterName ?? ""}"`;
      return;
    }
    this.#discoveryError = undefined;
    this.#follow(newest.address);
  }

  async #ask(sentinel: SentinelConnection): Promise<MasterReport | undefined> {
    try {
      // Its first connection may still be under way; one that is down is not waited for past the deadline.
      if (!sentinel.isReady) await readyWithin(sentinel, this.#timings.timeout);
      if (!sentinel.isReady) return undefined;
      const reply = await withTimeout(
        sentinel.sendCommand(["SENTINEL", "MASTER", this.#endpoint.masterName ?? ""]),
        this.#timings.timeout,
      );
      const fields = fieldsOf(reply);
      const host = fields.get("ip");
      const port = fields.get("port");
      if (host === undefined || port === undefined) return undefined;
      return { address: `${host}:${port}`, epoch: Number(fields.get("config-epoch") ?? 0) };
    } catch (error) {
      this.#discoveryError = `the sentinels could not say where the master is: ${error instanceof Error ? error.message : String(error)}`;
      return undefined;
    }
  }

  /** Connects to the master at `address` in place of the one before (whose pending calls then fail). */
  #follow(address: string): void {
    if (this.#closed || address === this.#masterAddress) return;
    const separator = address.lastIndexOf(":");
    const previous = this.#master;
    this.#masterAddress = address;
    this.#master = NodeRedisDriver.create(
      {
        ...this.#endpoint,
        transport: "tcp",
        nodes: [{ host: address.slice(0, separator), port: Number(address.slice(separator + 1)) }],
      },
      this.#timings,
    );
    void this.#master.whenReady();
    void previous?.close();
  }

  /** Sends to the master; a `READONLY` reply means the sentinels have moved it: ask them again. */
  #sendToMaster<T>(send: (master: NodeRedisDriver) => Promise<T>): Promise<T> {
    const master = this.#master;
    if (master === undefined) return Promise.reject(new Error("the sentinels have not named a master yet"));
    return send(master).catch((error: unknown) => {
      if (redisErrorCode(error) === "READONLY") void this.#discover();
      throw error;
    });
  }

  send(command: RedisCommand): Promise<unknown> {
    return this.#sendToMaster((master) => master.send(command));
  }

  transaction(commands: readonly RedisCommand[]): Promise<unknown[]> {
    return this.#sendToMaster((master) => master.transaction(commands));
  }

  checkTopology(): void {
    // Invalidations are not offered over Sentinel: nothing to report.
  }

  groupKeys(keys: readonly string[]): string[][] {
    return [[...keys]];
  }

  masters(): Promise<MasterSender[]> {
    return Promise.resolve([(command) => this.send(command)]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const sentinel of [...this.#askers, ...this.#listeners]) if (sentinel.isOpen) sentinel.destroy();
    await this.#master?.close();
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** The fields of `SENTINEL MASTER`'s reply: a flat list of names and values, or a map (RESP3). */
function fieldsOf(reply: unknown): Map<string, string> {
  const fields = new Map<string, string>();
  if (Array.isArray(reply)) {
    for (let index = 0; index + 1 < reply.length; index += 2)
      fields.set(String(reply[index]), String(reply[index + 1]));
  } else if (reply instanceof Map) {
    for (const [name, value] of reply) fields.set(String(name), String(value));
  } else if (typeof reply === "object" && reply !== null) {
    for (const [name, value] of Object.entries(reply)) fields.set(name, String(value));
  }
  return fields;
}

function readyWithin(sentinel: SentinelConnection, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      sentinel.off("ready", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    sentinel.once("ready", done);
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no answer within ${String(ms)} ms`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
  });
}
