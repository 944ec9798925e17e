import { receiveMessageOnPort, MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import { BackendError, CacheClosedError } from "../../errors.js";
import { moduleLocation } from "../../internal/module-location.js";
import { errorFromParts } from "./errors-across-threads.js";
import {
  HANDING_OVER,
  REPLIES,
  type WorkerBackendKind,
  type WorkerReply,
  type WorkerRequest,
  type WorkerSetup,
} from "./protocol.js";
import { describeKey } from "../../internal/quote-key.js";
import type {
  BackendCapabilities,
  BackendScanOptions,
  BackendScanPage,
  BackendSetOptions,
  SyncBackend,
} from "../contract.js";

/** The caller waits this much longer than the worker's own deadline, so the worker's answer wins. */
const REPLY_SLACK_MS = 50;

/** The worker file next to this module, with this module's extension (`.js` when built, `.ts` in tests). */
function workerUrl(): URL {
  const extension = /\.[cm]?[jt]s$/.exec(moduleLocation)?.[0] ?? ".js";
  return new URL(`../backends/worker/worker${extension}`, moduleLocation);
}

/** What a {@link WorkerThreadBackend} runs in its thread, and how long a caller may block. */
export interface WorkerThreadSettings {
  /** Which async backend the worker builds. */
  readonly kind: WorkerBackendKind;
  /** What it builds it from: its URL and constructor options (plain data: they are copied to the thread). */
  readonly options: Readonly<Record<string, unknown>>;
  /** For messages: `"Redis"`, `"PostgreSQL"`. */
  readonly target: string;
  /** The async backend's own deadline per operation, in milliseconds. */
  readonly timeout: number;
  /** How long the first call may wait for the thread to start. */
  readonly workerStartTimeout: number;
  /** How long `clear()` may block, over all its round trips. */
  readonly clearTimeout: number;
  /** What the async backend declares, as far as it holds across the thread. */
  readonly capabilities: BackendCapabilities<Buffer>;
}

/**
 * A synchronous backend over an async one that runs in a worker thread: Node has no synchronous sockets,
 * so each call **blocks the calling thread** (`Atomics.wait`) until the worker answers, at most the
 * backend's `timeout` plus a few milliseconds. The sync Redis and PostgreSQL backends are this.
 *
 * If the worker stops answering (it crashed or was terminated), the call fails with a `BackendError`
 * and the next call starts a fresh worker. Values come back as `Buffer`s.
 *
 * @example
 * ```ts
 * const backend = new WorkerThreadBackend({ kind: "postgres", options: { url }, target: "PostgreSQL", timeout: 500,
 *   workerStartTimeout: 10_000, clearTimeout: 30_000, capabilities: { bytesOnly: true, atomicBatches: "all" } });
 * ```
 */
export class WorkerThreadBackend implements SyncBackend<Buffer | string> {
  /** What the async backend in the thread declares (bytes only, its batch atomicity). */
  readonly capabilities: BackendCapabilities<Buffer | string>;
  readonly #settings: WorkerThreadSettings;
  readonly #replyBudget: number;
  readonly #signal = new Int32Array(new SharedArrayBuffer(8));
  #worker: Worker | undefined;
  #port: MessagePort | undefined;
  #started = false;
  #nextId = 1;
  #closed = false;

  constructor(settings: WorkerThreadSettings) {
    this.#settings = settings;
    this.capabilities = settings.capabilities;
    this.#replyBudget = settings.timeout + REPLY_SLACK_MS;
  }

  /** The worker thread that runs the client (for monitoring); `undefined` before the first call. */
  get worker(): Worker | undefined {
    return this.#worker;
  }

  get(key: string): Buffer | undefined {
    return asBuffer(this.#call({ id: 0, operation: "get", arguments: [key] }, key)) as Buffer | undefined;
  }

  getMany(keys: readonly string[]): Map<string, Buffer> {
    if (keys.length === 0) return new Map();
    const found = this.#call({ id: 0, operation: "getMany", arguments: [keys] }) as Map<string, Uint8Array>;
    for (const [key, value] of found) found.set(key, asBuffer(value) as Buffer);
    return found as Map<string, Buffer>;
  }

  set(key: string, value: unknown, options: BackendSetOptions): boolean {
    return this.#call({ id: 0, operation: "set", arguments: [key, value, options] }, key) as boolean;
  }

  setMany(entries: readonly (readonly [string, unknown])[], timeToLive: number | undefined): void {
    if (entries.length === 0) return;
    this.#call({ id: 0, operation: "setMany", arguments: [entries, timeToLive] });
  }

  expireIn(key: string, timeToLive: number | undefined): boolean {
    return this.#call({ id: 0, operation: "expireIn", arguments: [key, timeToLive] }, key) as boolean;
  }

  delete(key: string): boolean {
    return this.#call({ id: 0, operation: "delete", arguments: [key] }, key) as boolean;
  }

  deleteMany(keys: readonly string[]): number {
    if (keys.length === 0) return 0;
    return this.#call({ id: 0, operation: "deleteMany", arguments: [keys] }) as number;
  }

  deleteIfUnchanged(key: string, value: Buffer | string): boolean {
    return this.#call({ id: 0, operation: "deleteIfUnchanged", arguments: [key, value] }, key) as boolean;
  }

  has(key: string): boolean {
    return this.#call({ id: 0, operation: "has", arguments: [key] }, key) as boolean;
  }

  ttl(key: string): number | null | undefined {
    return this.#call({ id: 0, operation: "ttl", arguments: [key] }, key) as number | null | undefined;
  }

  scan(cursor: string, options: BackendScanOptions): BackendScanPage {
    return this.#call({ id: 0, operation: "scan", arguments: [cursor, options] }) as BackendScanPage;
  }

  /** As the async backend's `clear`; blocks at most `clearTimeout` in all. */
  clear(prefix: string): void {
    this.#call(
      { id: 0, operation: "clear", arguments: [prefix] },
      undefined,
      this.#settings.clearTimeout + REPLY_SLACK_MS,
    );
  }

  /** Closes the client in the worker (waiting at most `timeout`) and stops the worker. */
  close(): void {
    if (this.#closed) return;
    if (this.#worker !== undefined) {
      try {
        this.#call({ id: 0, operation: "close", arguments: [] });
      } catch {
        // The worker is stopped below either way.
      }
    }
    this.#closed = true;
    this.#stopWorker();
  }

  #call(request: WorkerRequest, key?: string, budget = this.#replyBudget): unknown {
    if (this.#closed) throw new CacheClosedError(`the synchronous ${this.#settings.target} backend is closed`, { key });
    const port = this.#ensureWorker();
    const id = this.#nextId++;
    // The budget starts before the request is copied to the worker: the caller waits for all of it.
    const started = performance.now();
    const until = started + budget + (this.#started ? 0 : this.#settings.workerStartTimeout);
    port.postMessage({ ...request, id });
    const reply = this.#waitForReply(id, until);
    if (reply === undefined) {
      const what = `${request.operation}${describeKey(key)}`;
      const waited = (performance.now() - started).toFixed(0);
      if (Atomics.load(this.#signal, HANDING_OVER) === id) {
        // The worker has the answer and is handing it over (a large value): alive, so it is kept.
        throw new BackendError(
          `${what} gave up after ${waited} ms (timeout ${String(budget - REPLY_SLACK_MS)} ms): the ${this.#settings.target} worker thread had the answer but was still handing it over; the answer is dropped`,
          { key },
        );
      }
      // The worker's own deadline is shorter than ours: no answer means it is gone or stuck.
      this.#stopWorker();
      throw new BackendError(
        `${what} got no answer from the ${this.#settings.target} worker thread in ${waited} ms (timeout ${String(budget - REPLY_SLACK_MS)} ms); a fresh worker will be started`,
        { key },
      );
    }
    if (reply.ok) return reply.value;
    throw errorFromParts(reply.error);
  }

  #waitForReply(id: number, until: number): WorkerReply | undefined {
    const port = this.#port as MessagePort;
    for (;;) {
      // Read the counter first: a reply posted after this read changes it, so the wait cannot miss it.
      const seen = Atomics.load(this.#signal, REPLIES);
      for (let message = receiveMessageOnPort(port); message !== undefined; message = receiveMessageOnPort(port)) {
        const reply = message.message as WorkerReply;
        if (reply.id === 0) this.#started = true;
        // Replies to calls that already gave up are dropped.
        if (reply.id === id) return reply;
      }
      const remaining = until - performance.now();
      if (remaining <= 0) return undefined;
      Atomics.wait(this.#signal, REPLIES, seen, remaining);
    }
  }

  #ensureWorker(): MessagePort {
    if (this.#worker !== undefined && this.#port !== undefined) return this.#port;
    const { port1, port2 } = new MessageChannel();
    const setup: WorkerSetup = {
      kind: this.#settings.kind,
      options: this.#settings.options,
      port: port2,
      signal: this.#signal,
    };
    const worker = new Worker(workerUrl(), { workerData: setup, transferList: [port2] });
    // Neither the worker nor the port may keep the process alive, and a worker error must not crash it.
    worker.unref();
    port1.unref();
    worker.on("error", () => {
      if (this.#worker === worker) this.#stopWorker();
    });
    worker.on("exit", () => {
      if (this.#worker === worker) this.#stopWorker();
    });
    this.#worker = worker;
    this.#port = port1;
    this.#started = false;
    return port1;
  }

  #stopWorker(): void {
    const worker = this.#worker;
    this.#port?.close();
    this.#worker = undefined;
    this.#port = undefined;
    if (worker !== undefined) void worker.terminate();
  }
}

/** Bytes from the worker arrive as plain `Uint8Array`s; hand out `Buffer`s, as the async backend does. */
function asBuffer(value: unknown): unknown {
  return value instanceof Uint8Array && !Buffer.isBuffer(value)
    ? Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    : value;
}
