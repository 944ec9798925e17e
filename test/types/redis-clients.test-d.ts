import { Redis as IoRedis } from "ioredis";
import { createClient, createCluster } from "redis";
import type { IoRedisLike, NodeRedisClientLike, NodeRedisClusterLike } from "../../src/backends/index.js";

export const client: NodeRedisClientLike = createClient();
export const cluster: NodeRedisClusterLike = createCluster({ rootNodes: [] });
export const ioredis: IoRedisLike = new IoRedis({ lazyConnect: true });
