import type { MessagePort } from "node:worker_threads";
import { BACKEND_OPERATION_NAMES, type AsyncBackend, type BackendOperationName } from "../contract.js";
import type { ErrorParts } from "./errors-across-threads.js";

/** The async backends a worker thread can run (each is loaded in the thread only when asked for). */
export type WorkerBackendKind = "redis" | "postgres" | "memcached";

/** What a {@link WorkerThreadBackend} hands its worker. */
export interface WorkerSetup {
  readonly kind: WorkerBackendKind;
  /** The async backend's constructor options (its URL and overrides), copied to the thread. */
  readonly options: Readonly<Record<string, unknown>>;
  readonly port: MessagePort;
  /**
   * Slot {@link REPLIES}: bumped by the worker after each reply; the caller waits on it with
   * `Atomics.wait`. Slot {@link HANDING_OVER}: the id of the reply the worker is posting right now (0
   * when none), so that a caller whose deadline passes meanwhile knows the worker is alive and busy.
   */
  readonly signal: Int32Array;
}

type Operation = Exclude<BackendOperationName, "close"> | "deleteIfUnchanged";

/** The operations the worker performs: the async backend's, by name. */
export const WORKER_OPERATIONS: readonly (Operation | "close")[] = [...BACKEND_OPERATION_NAMES, "deleteIfUnchanged"];

/** The slot of {@link WorkerSetup.signal} that counts the replies posted. */
export const REPLIES = 0;
/** The slot of {@link WorkerSetup.signal} that holds the id of the reply being posted (0: none). */
export const HANDING_OVER = 1;

/**
 * What a reply's postMessage may move instead of copying: the memory of a large byte array that owns
 * its whole ArrayBuffer (a 100 MB value is then handed over at once, not copied twice). Small ones
 * may sit in Node's shared pool, which must never be detached, so they are copied.
 */
export function transferables(value: unknown): ArrayBuffer[] {
  const found: ArrayBuffer[] = [];
  const consider = (item: unknown): void => {
    if (
      item instanceof Uint8Array &&
      item.byteLength > 64 * 1024 &&
      item.byteOffset === 0 &&
      item.buffer instanceof ArrayBuffer &&
      item.byteLength === item.buffer.byteLength &&
      !found.includes(item.buffer)
    ) {
      found.push(item.buffer);
    }
  };
  if (value instanceof Map) for (const item of value.values()) consider(item);
  else consider(value);
  return found;
}

/** One request: an operation of the async backend and its arguments. */
export type WorkerRequest =
  | {
      [Name in Operation]: { id: number; operation: Name; arguments: Parameters<Required<AsyncBackend>[Name]> };
    }[Operation]
  | { id: number; operation: "close"; arguments: [] };

/** What the worker sends back; errors travel as their parts (cause included) and are rebuilt on the caller's side. */
export type WorkerReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: ErrorParts };
