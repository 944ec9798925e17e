import type { MessagePort } from "node:worker_threads";
import type { RedisTimings } from "./connection-options.js";
import type { RedisBackend } from "../../backends/redis.js";

/** What the sync Redis backend hands its worker. */
export interface WorkerSetup {
  readonly url: string;
  readonly timings: Partial<RedisTimings>;
  readonly port: MessagePort;
  /** Bumped by the worker after each reply; the caller waits on it with `Atomics.wait`. */
  readonly signal: Int32Array;
}

type Operation =
  "get" | "getMany" | "set" | "setMany" | "expireIn" | "delete" | "deleteMany" | "deleteIfUnchanged" | "has" | "clear";

/** One request: an operation of the async backend and its arguments. */
export type WorkerRequest =
  | { [Name in Operation]: { id: number; operation: Name; arguments: Parameters<RedisBackend[Name]> } }[Operation]
  | { id: number; operation: "close"; arguments: [] };

/** What the worker sends back; errors travel as their parts and are rebuilt on the caller's side. */
export type WorkerReply =
  | { id: number; ok: true; value: unknown }
  | {
      id: number;
      ok: false;
      error: { name: string; message: string; code: string | undefined; key: string | undefined };
    };
