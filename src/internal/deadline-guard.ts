import { BackendError, CacheClosedError } from "../errors.js";
import { quoteKey } from "./quote-key.js";

/** What the guard needs to know about the connection it protects. */
export interface GuardedConnection {
  /** Whether commands can be sent now. */
  readonly ready: boolean;
  /** Settles when the connection is ready (starting it on first use). Never rejects. */
  whenReady(): Promise<void>;
  /** Why the connection is not ready, for messages ("connect ECONNREFUSED 127.0.0.1:6390"). */
  readonly lastErrorMessage: string | undefined;
}

interface PendingOperation {
  readonly deadline: number;
  readonly reject: (error: Error) => void;
  readonly describe: () => string;
  readonly key: string | undefined;
  settled: boolean;
}

/**
 * Gives every operation of a remote backend a deadline that we enforce ourselves (Redis clients do not
 * time out a command once it is written) and bounds the work outstanding, so that a hung or absent
 * server costs the caller at most the deadline and the process a bounded amount of memory.
 *
 * Operations wait for the connection instead of being queued inside the client, so nothing is sent
 * after its caller has been told it failed. One timer serves all operations: they share one timeout,
 * so they expire in the order they started.
 */
export class DeadlineGuard {
  readonly #timeout: number;
  readonly #maxInFlight: number;
  readonly #connection: GuardedConnection;
  readonly #target: string;
  readonly #pending = new Set<PendingOperation>();
  #inFlight = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(connection: GuardedConnection, options: { timeout: number; maxInFlight: number; target: string }) {
    this.#connection = connection;
    this.#timeout = options.timeout;
    this.#maxInFlight = options.maxInFlight;
    this.#target = options.target;
  }

  /** Operations started and not yet answered by the server (including those waiting to connect). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Runs `send` once the connection is ready, settling within the deadline.
   *
   * @param operation - For messages: `"get"`.
   * @param key - For messages and `error.key`.
   */
  run<T>(operation: string, key: string | undefined, send: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new CacheClosedError(`the Redis backend is closed`, { key }));
    if (this.#inFlight >= this.#maxInFlight) {
      return Promise.reject(
        new BackendError(
          `${operation}${describeKey(key)} refused: ${String(this.#inFlight)} operations are already waiting for ${this.#target} (max-in-flight ${String(this.#maxInFlight)})`,
          { key },
        ),
      );
    }
    this.#inFlight++;
    return new Promise<T>((resolve, reject) => {
      const pending: PendingOperation = {
        deadline: performance.now() + this.#timeout,
        reject,
        describe: () => `${operation}${describeKey(key)}`,
        key,
        settled: false,
      };
      this.#pending.add(pending);
      this.#armTimer();
      const start = (): void => {
        if (pending.settled) {
          this.#inFlight--;
          return;
        }
        let sent: Promise<T>;
        try {
          sent = send();
        } catch (cause) {
          sent = Promise.reject(cause instanceof Error ? cause : new Error(String(cause)));
        }
        sent.then(
          (value) => {
            this.#inFlight--;
            if (this.#settle(pending)) resolve(value);
          },
          (cause: unknown) => {
            this.#inFlight--;
            if (this.#settle(pending)) reject(this.#failure(operation, key, cause));
          },
        );
      };
      if (this.#connection.ready) start();
      else void this.#connection.whenReady().then(start);
    });
  }

  /** Rejects every pending operation with `CacheClosedError` and refuses new ones. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const pending of this.#pending) {
      pending.settled = true;
      pending.reject(
        new CacheClosedError(`${pending.describe()} was cut short: the Redis backend was closed`, { key: pending.key }),
      );
    }
    this.#pending.clear();
  }

  #settle(pending: PendingOperation): boolean {
    if (pending.settled) return false;
    pending.settled = true;
    this.#pending.delete(pending);
    return true;
  }

  #failure(operation: string, key: string | undefined, cause: unknown): Error {
    const code = (cause as { code?: unknown } | null)?.code;
    if (cause instanceof Error && typeof code === "string" && code.startsWith("CACHETORY_")) return cause;
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new BackendError(`${operation}${describeKey(key)} on ${this.#target} failed: ${reason}`, { key, cause });
  }

  #armTimer(): void {
    if (this.#timer !== undefined) return;
    const first = this.#pending.values().next();
    if (first.done === true) return;
    const wait = Math.max(0, Math.ceil(first.value.deadline - performance.now()));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#expire();
    }, wait);
  }

  #expire(): void {
    const now = performance.now();
    for (const pending of this.#pending) {
      if (pending.deadline > now) break;
      pending.settled = true;
      this.#pending.delete(pending);
      const connection = this.#connection.ready
        ? ""
        : ` (not connected${this.#connection.lastErrorMessage === undefined ? "" : `: ${this.#connection.lastErrorMessage}`})`;
      pending.reject(
        new BackendError(
          `${pending.describe()} timed out after ${String(this.#timeout)} ms waiting for ${this.#target}${connection}`,
          { key: pending.key },
        ),
      );
    }
    this.#armTimer();
  }
}

function describeKey(key: string | undefined): string {
  return key === undefined ? "" : ` of key ${quoteKey(key)}`;
}
