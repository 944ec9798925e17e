/**
 * A local Redis Sentinel deployment: a master, a replica of it and three sentinels watching it, all private
 * `redis-server` processes on free loopback ports (the sentinels run `redis-server <config> --sentinel`),
 * stopped by the pids we started.
 */
import { createClient } from "redis";
import { rawCommand, RedisServer } from "./redis-server.js";

/** The name the sentinels know the master by. */
export const MASTER_NAME = "mymaster";

export interface SentinelTimings {
  /** How long a master may be silent before a sentinel deems it down (`down-after-milliseconds`). */
  readonly downAfterMs?: number;
  /** `failover-timeout`: also how long before a failed failover is tried again. */
  readonly failoverTimeoutMs?: number;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not answering yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export class RedisSentinelSet {
  readonly master: RedisServer;
  readonly replica: RedisServer;
  readonly sentinels: readonly RedisServer[];

  private constructor(master: RedisServer, replica: RedisServer, sentinels: readonly RedisServer[]) {
    this.master = master;
    this.replica = replica;
    this.sentinels = sentinels;
  }

  /** Starts the master, its replica (waiting for the link) and three sentinels (waiting until they know each other). */
  static async start(timings: SentinelTimings = {}): Promise<RedisSentinelSet> {
    const started: RedisServer[] = [];
    try {
      const master = await RedisServer.start();
      started.push(master);
      const replica = await RedisServer.start({ arguments: ["--replicaof", "127.0.0.1", String(master.port)] });
      started.push(replica);
      await waitFor("the replica's link to its master", async () =>
        (await rawCommand(replica.port, "INFO replication", 500, true)).includes("master_link_status:up"),
      );
      const config = [
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${String(master.port)} 2`,
        `sentinel down-after-milliseconds ${MASTER_NAME} ${String(timings.downAfterMs ?? 1000)}`,
        `sentinel failover-timeout ${MASTER_NAME} ${String(timings.failoverTimeoutMs ?? 3000)}`,
        `sentinel parallel-syncs ${MASTER_NAME} 1`,
        "",
      ].join("\n");
      const sentinels: RedisServer[] = [];
      for (let index = 0; index < 3; index++) {
        const sentinel = await RedisServer.start({ config, sentinel: true });
        started.push(sentinel);
        sentinels.push(sentinel);
      }
      const set = new RedisSentinelSet(master, replica, sentinels);
      for (const sentinel of sentinels) {
        await waitFor("the sentinels to find each other and the replica", async () => {
          const reply = await rawCommand(sentinel.port, `SENTINEL MASTER ${MASTER_NAME}`, 500, true);
          return /num-slaves\r\n\$1\r\n1\r\n/.test(reply) && /num-other-sentinels\r\n\$1\r\n2\r\n/.test(reply);
        });
      }
      return set;
    } catch (error) {
      await Promise.all(started.map((server) => server.stop()));
      throw error;
    }
  }

  /** `redis+sentinel://` with the three sentinels, for the master's database `database`. */
  url(database = 0, parameters = ""): string {
    const sentinels = this.sentinels.map((sentinel) => `127.0.0.1:${String(sentinel.port)}`).join(",");
    return `redis+sentinel://${sentinels}/${MASTER_NAME}?db=${String(database)}${parameters}`;
  }

  /** The port of the master as the first sentinel that answers says. */
  async masterPort(): Promise<number> {
    for (const sentinel of this.sentinels) {
      try {
        const reply = await rawCommand(sentinel.port, `SENTINEL GET-MASTER-ADDR-BY-NAME ${MASTER_NAME}`, 500, true);
        const port = /\$\d+\r\n(\d+)\r\n$/.exec(reply)?.[1];
        if (port !== undefined) return Number(port);
      } catch {
        // try the next sentinel
      }
    }
    throw new Error("no sentinel answered");
  }

  /** Waits until the sentinels name a master other than `port` (a failover happened); its port. */
  async waitForNewMaster(port: number, timeoutMs = 20_000): Promise<number> {
    let current = port;
    await waitFor("a failover", async () => (current = await this.masterPort()) !== port, timeoutMs);
    return current;
  }

  /**
   * Listens on every sentinel for `+switch-master`, the announcement that ends a failover (the sentinel has
   * switched its configuration to the promoted replica; clients are told to follow). `announced` settles
   * with the time (`performance.now()`) of the first one heard; `stop()` closes the connections.
   */
  async listenForSwitch(): Promise<{ announced: Promise<number>; stop: () => Promise<void> }> {
    let heard = (_at: number): void => undefined;
    const announced = new Promise<number>((resolve) => (heard = resolve));
    const clients = this.sentinels.map((sentinel) =>
      createClient({ socket: { host: "127.0.0.1", port: sentinel.port } }),
    );
    for (const client of clients) client.on("error", () => undefined);
    await Promise.all(
      clients.map(async (client) => {
        await client.connect();
        await client.subscribe("+switch-master", () => {
          heard(performance.now());
        });
      }),
    );
    const stop = async (): Promise<void> => {
      await Promise.all(clients.map((client) => client.close()));
    };
    return { announced, stop };
  }

  /** Waits until `server` is a replica whose link to its master is up. */
  static async waitUntilReplicating(server: RedisServer, timeoutMs = 20_000): Promise<void> {
    await waitFor(
      `port ${String(server.port)} to replicate`,
      async () => {
        const info = await rawCommand(server.port, "INFO replication", 500, true);
        return info.includes("role:slave") && info.includes("master_link_status:up");
      },
      timeoutMs,
    );
  }

  async stop(): Promise<void> {
    await Promise.all([this.master, this.replica, ...this.sentinels].map((server) => server.stop()));
  }
}
