/**
 * A local Redis Cluster of three masters (no replicas) built from private `redis-server` processes and
 * `redis-cli --cluster create`, all on free loopback ports.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { freePort, rawCommand, RedisServer } from "./redis-server.js";

const run = promisify(execFile);

export class RedisCluster {
  readonly nodes: readonly RedisServer[];

  private constructor(nodes: readonly RedisServer[]) {
    this.nodes = nodes;
  }

  /** Starts three cluster-enabled servers, assigns the slots and waits for `cluster_state:ok`. */
  static async start(): Promise<RedisCluster> {
    const nodes: RedisServer[] = [];
    try {
      for (let index = 0; index < 3; index++) {
        nodes.push(
          await RedisServer.start({
            arguments: [
              "--cluster-enabled",
              "yes",
              "--cluster-config-file",
              "nodes.conf",
              // The bus port, on its own free port rather than port + 10000, which may be taken or too high.
              "--cluster-port",
              String(await freePort()),
              "--cluster-node-timeout",
              "2000",
            ],
          }),
        );
      }
      await run(
        "redis-cli",
        ["--cluster", "create", ...nodes.map((node) => `127.0.0.1:${String(node.port)}`), "--cluster-yes"],
        {
          timeout: 30_000,
        },
      );
      const cluster = new RedisCluster(nodes);
      await cluster.#waitUntilHealthy();
      return cluster;
    } catch (error) {
      await Promise.all(nodes.map((node) => node.stop()));
      throw error;
    }
  }

  /** `redis+cluster://` with every node as a seed. */
  url(): string {
    return `redis+cluster://${this.nodes.map((node) => `127.0.0.1:${String(node.port)}`).join(",")}`;
  }

  async #waitUntilHealthy(): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const states = await Promise.all(
        this.nodes.map(async (node) => {
          const info = await rawCommand(node.port, "CLUSTER INFO", 1000, true);
          return info.includes("cluster_state:ok");
        }),
      );
      if (states.every(Boolean)) return;
      if (Date.now() > deadline) throw new Error("the cluster did not reach cluster_state:ok");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Each node's id and the slots it owns, from CLUSTER NODES as the first node sees them. */
  async topology(): Promise<{ id: string; port: number; slots: [number, number][] }[]> {
    const reply = await rawCommand(this.nodes[0]?.port ?? 0, "CLUSTER NODES", 1000, true);
    const text = reply.slice(reply.indexOf("\r\n") + 2);
    return text
      .split("\n")
      .filter((line) => line.includes("master"))
      .map((line) => {
        const [id = "", address = "", , , , , , , ...ranges] = line.trim().split(" ");
        const slots = ranges
          .filter((range) => !range.startsWith("["))
          .map((range): [number, number] => {
            const [start, end = start] = range.split("-");
            return [Number(start), Number(end)];
          });
        return { id, port: Number(address.split("@")[0]?.split(":")[1]), slots };
      });
  }

  /**
   * Moves `slot` to the node at `port` the slow way, as `redis-cli --cluster reshard` does it one batch
   * at a time: IMPORTING on the target, MIGRATING on the owner, its keys in batches of `batch` with a
   * pause between, then the new owner told to every node. Meanwhile readers of the slot meet ASK (a key
   * already moved) and TRYAGAIN (a multi-key command over keys on both sides).
   */
  async migrateSlot(slot: number, port: number, batch = 20, pauseMs = 10): Promise<void> {
    const topology = await this.topology();
    const owner = topology.find(({ slots }) => slots.some(([start, end]) => start <= slot && slot <= end));
    const target = topology.find((node) => node.port === port);
    if (owner === undefined || target === undefined)
      throw new Error(`no owner of slot ${String(slot)}, or no node on ${String(port)}`);
    if (owner.port === port) return;
    await rawCommand(port, `CLUSTER SETSLOT ${String(slot)} IMPORTING ${owner.id}`);
    await rawCommand(owner.port, `CLUSTER SETSLOT ${String(slot)} MIGRATING ${target.id}`);
    for (;;) {
      const reply = await rawCommand(owner.port, `CLUSTER GETKEYSINSLOT ${String(slot)} ${String(batch)}`, 1000, true);
      const keys = [...reply.matchAll(/\$\d+\r\n([^\r]*)\r\n/g)].map((match) => match[1] as string);
      if (keys.length === 0) break;
      await run(
        "redis-cli",
        ["-p", String(owner.port), "MIGRATE", "127.0.0.1", String(port), "", "0", "5000", "KEYS", ...keys],
        { timeout: 10_000 },
      );
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    for (const node of [target, owner, ...topology.filter((each) => each !== owner && each !== target)]) {
      await rawCommand(node.port, `CLUSTER SETSLOT ${String(slot)} NODE ${target.id}`);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
  }
}
