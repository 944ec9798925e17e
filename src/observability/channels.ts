/**
 * What cachetory publishes on Node's `diagnostics_channel`: one tracing channel around every public
 * operation of `Cache` and `SyncCache`, and point events for what happens inside. Nothing is built when no
 * one listens: callers check {@link tracing} (or a point channel's `hasSubscribers`) first.
 *
 * @example
 * ```ts
 * import { tracingChannel } from "node:diagnostics_channel";
 * tracingChannel("cachetory:operation").subscribe({
 *   start() {}, end() {}, asyncStart() {}, error() {},
 *   asyncEnd(context) { console.log(context.operation, context.hit, context.tier) },
 * });
 * ```
 *
 * @module
 */

import { type Channel, channel, type TracingChannel, tracingChannel } from "node:diagnostics_channel";

/** The operations the tracing channel sees. */
export type OperationName =
  | "get"
  | "getMany"
  | "set"
  | "setMany"
  | "delete"
  | "deleteMany"
  | "has"
  | "clear"
  | "expireIn"
  | "getOrSet"
  | "deleteByTag"
  | "expireByTag";

/**
 * The context object of `cachetory:operation`: what the operation is when it starts, and how it ended
 * when it ends (`hit`, `tier` and `stale` for single-key reads; `hits` and `misses` for `getMany`).
 */
export interface OperationContext {
  /** The operation. */
  readonly operation: OperationName;
  /** The cache's `name` option (default: the backend's scheme, as `backend`). */
  readonly cache: string;
  /** The backend's scheme without `://` (`"memory"`, `"redis"`, …), or its class name for an object. */
  readonly backend: string;
  /** The key, with the cache option `traceKeys: true` only. */
  key?: string;
  /** The keys of `getMany`, `deleteMany` and `setMany`, with `traceKeys: true` only. */
  keys?: readonly string[];
  /** The tags of `deleteByTag` and `expireByTag`, with `traceKeys: true` only. */
  tags?: readonly string[];
  /** A single-key read: whether a value was found (for `getOrSet`: a stored one, fresh or stale). */
  hit?: boolean;
  /** A single-key read: `"near"` when the near tier answered, else `"backend"` (misses included). */
  tier?: "near" | "backend";
  /** A single-key read: whether the value served was stale (`getOrSet` within its windows). */
  stale?: boolean;
  /** `getMany`: how many keys were found. */
  hits?: number;
  /** `getMany`: how many were not. */
  misses?: number;
  /** Set by the channel when the operation failed. */
  error?: unknown;
  /** Set by the channel when it succeeded. */
  result?: unknown;
}

/** The tracing channel around every public operation. */
export const OPERATION_CHANNEL: TracingChannel<unknown, OperationContext> = tracingChannel<unknown, OperationContext>(
  "cachetory:operation",
);

const { start, end, asyncStart, asyncEnd, error } = OPERATION_CHANNEL;

/**
 * Whether anyone listens to the operation channel. Checks the five channels itself: the tracing channel's
 * own `hasSubscribers` exists only from Node 20.13.
 */
export function tracing(): boolean {
  return (
    start.hasSubscribers ||
    asyncEnd.hasSubscribers ||
    end.hasSubscribers ||
    error.hasSubscribers ||
    asyncStart.hasSubscribers
  );
}

/** The point events, by name; each message is an object whose fields the docs list. */
export const EVENT_CHANNELS: {
  readonly nearInvalidated: Channel;
  readonly nearFlushed: Channel;
  readonly refresh: Channel;
  readonly lockWait: Channel;
  readonly circuit: Channel;
  readonly undecodable: Channel;
} = {
  /** `{ backend, keys }`: another writer changed keys held near; the near tier dropped them. */
  nearInvalidated: channel("cachetory:near.invalidated"),
  /** `{ backend }`: changes may have gone unseen (a dropped connection, a flush): the near tier was emptied. */
  nearFlushed: channel("cachetory:near.flushed"),
  /** `{ cache, key? }`: `getOrSet` started refreshing a stored value (stale, in grace, or early). */
  refresh: channel("cachetory:getOrSet.refresh"),
  /** `{ cache, key?, waitedMs, outcome }`: a `getOrSet` waited for another instance's distributed lock. */
  lockWait: channel("cachetory:getOrSet.lockWait"),
  /** `{ target, state }`: a circuit breaker opened (`"open"`) or closed again (`"closed"`). */
  circuit: channel("cachetory:circuit"),
  /** `{ cache, key?, error }`: a stored value did not decode. */
  undecodable: channel("cachetory:value.undecodable"),
};
