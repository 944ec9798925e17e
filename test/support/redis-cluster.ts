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

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
  }
}
