import { moduleRequire } from "../../../internal/module-require.js";
import type { GuardedConnection } from "../../../layers/deadline-guard.js";
import type { Invalidations } from "./invalidations.js";

/** One argument of a Redis command. */
export type RedisArgument = string | Buffer;

/** A Redis command as its words: `["SET", key, value, "PX", "1000"]`. */
export type RedisCommand = readonly RedisArgument[];

/** Sends a command to one server. */
export type MasterSender = (command: RedisCommand) => Promise<unknown>;

/**
 * What the Redis backend needs from a client library: raw commands with binary replies, transactions,
 * key grouping for Cluster and a way to reach every master. One implementation per client library and
 * topology keeps the backend free of client quirks.
 */
export interface RedisDriver extends GuardedConnection {
  /** Sends one command; `key` routes it on a cluster. Bulk replies are `Buffer`s, nil is `null`. */
  send(command: RedisCommand, key: string | undefined): Promise<unknown>;
  /** Runs commands in one MULTI/EXEC (their keys share a slot) and returns their replies in order. */
  transaction(commands: readonly RedisCommand[], key: string | undefined): Promise<unknown[]>;
  /** Whether this is a Redis Cluster (batches then split by hash slot, and are atomic per slot). */
  readonly isCluster: boolean;
  /** Splits keys into groups that one multi-key command may carry: one group unless this is a cluster. */
  groupKeys(keys: readonly string[]): string[][];
  /**
   * A sender for each master (the one server unless this is a cluster). Ask once connected: before the
   * first connection a cluster knows no master yet.
   */
  masters(): Promise<MasterSender[]>;
  /**
   * The server's invalidation messages when every connection tracks the keys it reads (`CLIENT
   * TRACKING ON`, RESP3), else `undefined`.
   */
  readonly invalidations: Invalidations | undefined;
  /**
   * After a watched read: tells the listeners `lost` when the topology changed since the last call (a
   * cluster's slots moved). A no-op on a single server.
   */
  checkTopology(): void;
  /** Disconnects a client we created; only detaches from an injected one (unless told to close it). */
  close(): Promise<void>;
}

/**
 * Replies to the connection's handshake that pass by themselves (a server loading its data, a busy
 * script, a cluster or replica catching up): calls wait for the connection as usual. Any other reply
 * (`ERR DB index is out of range`, `WRONGPASS`, `NOAUTH`, `NOPERM`, cluster support disabled) stays
 * until something changes on the server, so calls fail at once instead of each waiting its deadline.
 */
const PASSING_REPLIES = new Set(["LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN"]);

/** The classes of the errors that carry a reply of the server, in node-redis and ioredis. */
const SERVER_REPLY_ERRORS = new Set(["ErrorReply", "SimpleError", "BlobError", "ReplyError"]);

/**
 * The code of an error the server replied with (`"NOPERM"`, `"TRYAGAIN"`, `"WRONGTYPE"`, `"ERR"`…), or
 * `undefined` for any other failure (a dropped connection, a timeout).
 */
export function redisErrorCode(error: unknown): string | undefined {
  if (!(error instanceof Error) || !SERVER_REPLY_ERRORS.has(error.constructor.name)) return undefined;
  return /^[A-Z][A-Z_-]*/.exec(error.message)?.[0];
}

/**
 * The reconnection delay after `retries` failed attempts: exponential from 50 ms, capped, with "equal
 * jitter" (between half and all of the step) so that many clients do not reconnect in lockstep.
 */
export function reconnectDelay(retries: number, maxDelay: number): number {
  const step = Math.min(maxDelay, 50 * 2 ** Math.min(retries, 20));
  return Math.round(step / 2 + Math.random() * (step / 2));
}

/**
 * The connection lifecycle every driver shares, whatever the client library: callers wait for the client
 * to be ready (which starts it connecting when idle), the last connection error is kept for messages (and
 * a refusal by the server, which makes calls fail at once), and once closed nothing waits any more.
 * `onError` and `onReady` are the listeners to attach to the client.
 */
export class ConnectionLifecycle {
  #waiter: Promise<void> | undefined;
  #closed = false;
  /** The client's `error` listener (without one, an error event would crash the process). */
  readonly onError = (error: unknown): void => {
    this.recordError(error);
  };
  /** The client's `ready` listener. */
  readonly onReady = (): void => {
    this.markReady();
  };
  #resolve: (() => void) | undefined;
  /** The message of the last connection error (never a URL: clients are given parts, not the URL). */
  lastErrorMessage: string | undefined;
  /**
   * Why the server refused the connection itself (a database index out of range, wrong credentials, a
   * server not in cluster mode), until the next time it is ready: calls then fail at once.
   */
  refusal: string | undefined;

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * A promise that settles once the client is ready (or closed); `connectIfIdle` starts it connecting when
   * it is not already (a client connects and reconnects by itself once started).
   */
  whenReady(connectIfIdle: () => void): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#waiter ??= new Promise<void>((resolve) => (this.#resolve = resolve));
    const waiting = this.#waiter;
    connectIfIdle();
    return waiting;
  }

  /** Marks the connection closed and wakes the waiters; whether it was open. */
  close(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    this.release();
    return true;
  }

  /** Wakes the waiters: the client is ready. */
  markReady(): void {
    this.lastErrorMessage = undefined;
    this.refusal = undefined;
    this.release();
  }

  /** Wakes the waiters without the client being ready. */
  release(): void {
    this.#resolve?.();
    this.#waiter = undefined;
    this.#resolve = undefined;
  }

  /** Replaces the message of the last error with a fuller one (and the refusal, if there is one). */
  explain(message: string): void {
    this.lastErrorMessage = message;
    if (this.refusal !== undefined) this.refusal = message;
  }

  /** Records a connection error. */
  recordError(error: unknown): void {
    this.lastErrorMessage = error instanceof Error ? error.message || error.name : String(error);
    const code = redisErrorCode(error);
    if (code !== undefined && !PASSING_REPLIES.has(code)) this.refusal = this.lastErrorMessage;
  }
}

/**
 * Groups keys by Redis Cluster hash slot (order kept within a group), so that each group can travel
 * in one multi-key command or transaction. The slot function comes from `cluster-key-slot`, loaded
 * only when a cluster is used.
 */
export function groupBySlot(keys: readonly string[], slotOf: (key: string) => number): string[][] {
  const groups = new Map<number, string[]>();
  for (const key of keys) {
    const slot = slotOf(key);
    const group = groups.get(slot);
    if (group === undefined) groups.set(slot, [key]);
    else group.push(key);
  }
  return [...groups.values()];
}

/** The hash slot function of Redis Cluster (CRC16 of the key or its `{hash tag}`, modulo 16384). */
export function loadSlotFunction(): (key: string) => number {
  return moduleRequire("cluster-key-slot") as (key: string) => number;
}
