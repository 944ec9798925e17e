import { BackendError, CacheClosedError } from "../errors.js";
import { CircuitBreaker, type CircuitBreakerOptions, type CircuitState } from "./circuit-breaker.js";
import { asError, causeMessage, isCachetoryError } from "../internal/error-kinds.js";
import { describeKey } from "../internal/quote-key.js";

/** What the guard needs to know about the connection it protects. */
export interface GuardedConnection {
  /** Whether commands can be sent now. */
  readonly ready: boolean;
  /** Settles when the connection is ready (starting it on first use). Never rejects. */
  whenReady(): Promise<void>;
  /** Why the connection is not ready, for messages ("connect ECONNREFUSED 127.0.0.1:6390"). */
  readonly lastErrorMessage: string | undefined;
  /** Why the server refused the connection, while that stands (calls then fail at once); else `undefined`. */
  readonly refusal: string | undefined;
}

interface PendingOperation {
  readonly deadline: number;
  readonly reject: (error: Error) => void;
  readonly operation: string;
  readonly key: string | undefined;
  /** Whether this is the one call let through a half-open circuit. */
  readonly probe: boolean;
  /** A read, which `close()` may cut short: it changes nothing. */
  readonly idempotent: boolean;
  /** Whether it has been handed to the client (and so may reach the server). */
  sent: boolean;
  /** Whether this read was sent a second time, after its connection dropped under it. */
  resent: boolean;
  settled: boolean;
}

/**
 * Gives every operation of a remote backend a deadline that we enforce ourselves (clients such as Redis's do
 * not time out a command once it is written) and bounds the work outstanding, so that a hung or absent
 * server costs the caller at most the deadline and the process a bounded amount of memory.
 *
 * Operations wait for the connection instead of being queued inside the client, so nothing is sent
 * after its caller has been told it failed. One timer serves all operations: they share one timeout,
 * so they expire in the order they started. A circuit breaker stops calls to a server that keeps
 * failing to answer, so that they cost nothing until a probe finds it back.
 */
export class DeadlineGuard {
  readonly #timeout: number;
  readonly #maxInFlight: number;
  readonly #connection: GuardedConnection;
  readonly #target: string;
  /**
   * Operations in the order they started, which is also the order of their deadlines (one timeout for
   * all). Settled ones stay until the head passes them: cheaper per call than removing them at once.
   */
  #pending: (PendingOperation | undefined)[] = [];
  #head = 0;
  #inFlight = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #whenDrained: { promise: Promise<void>; resolve: () => void } | undefined;
  readonly #breaker: CircuitBreaker;

  constructor(
    connection: GuardedConnection,
    options: { timeout: number; maxInFlight: number; target: string; breaker: CircuitBreakerOptions },
  ) {
    this.#connection = connection;
    this.#timeout = options.timeout;
    this.#maxInFlight = options.maxInFlight;
    this.#target = options.target;
    this.#breaker = new CircuitBreaker(options.breaker);
  }

  /** Where the circuit breaker stands. */
  get circuit(): CircuitState {
    return this.#breaker.state;
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
   * @param idempotent - A read: when its connection drops under it, it is sent once more on the next
   *   connection (within the same deadline). Writes never are: they may have been applied.
   */
  run<T>(operation: string, key: string | undefined, send: () => Promise<T>, idempotent = false): Promise<T> {
    const admission = this.#admit(operation, key);
    if (admission instanceof Error) return Promise.reject(admission);
    const probe = admission === "probe";
    this.#inFlight++;
    return new Promise<T>((resolve, reject) => {
      const pending: PendingOperation = {
        deadline: performance.now() + this.#timeout,
        reject,
        operation,
        key,
        probe,
        idempotent,
        sent: false,
        resent: false,
        settled: false,
      };
      this.#pending.push(pending);
      if (this.#timer === undefined) this.#armTimer();
      const start = (): void => {
        this.#send(pending, send, resolve, start);
      };
      if (this.#connection.ready) start();
      else void this.#connection.whenReady().then(start);
    });
  }

  /**
   * Admits a call (`"pass"`, or `"probe"`: the one call through a half-open circuit), or says why it is
   * refused at once, before it costs a timer or a socket: the guard is closed, too much work is outstanding,
   * the server refused the connection itself, or the circuit is open. The breaker is asked last, so that a
   * refusal for another reason does not use up its probe.
   */
  #admit(operation: string, key: string | undefined): Error | "pass" | "probe" {
    if (this.#closed)
      return new CacheClosedError(`${operation}${describeKey(key)}: ${this.#target} is closed`, { key });
    if (this.#inFlight >= this.#maxInFlight) {
      return new BackendError(
        `${operation}${describeKey(key)} refused: ${String(this.#inFlight)} operations are already waiting for ${this.#target} (max-in-flight ${String(this.#maxInFlight)})`,
        { key },
      );
    }
    const refusal = this.#connection.ready ? undefined : this.#connection.refusal;
    if (refusal !== undefined) {
      return new BackendError(
        `${operation}${describeKey(key)} refused at once: ${this.#target} refused the connection: ${refusal}`,
        { key },
      );
    }
    const admission = this.#breaker.admit();
    if (admission !== "refuse") return admission;
    return new BackendError(
      `${operation}${describeKey(key)} refused at once: the circuit to ${this.#target} is open after ${String(this.#breaker.failuresInARow)} failures in a row (next try in ${String(this.#breaker.retryIn)} ms${this.#connectionProblem()})`,
      { key },
    );
  }

  /** Hands an admitted operation to the client (unless it already timed out), and settles it by the answer. */
  #send<T>(pending: PendingOperation, send: () => Promise<T>, resolve: (value: T) => void, again: () => void): void {
    if (pending.settled) {
      this.#inFlight--;
      return;
    }
    let sent: Promise<T>;
    pending.sent = true;
    try {
      sent = send();
    } catch (cause) {
      sent = Promise.reject(asError(cause));
    }
    sent.then(
      (value) => {
        this.#inFlight--;
        this.#breaker.succeeded(pending.probe);
        if (this.#settle(pending)) resolve(value);
        if (this.#closed) this.#finishClosing();
      },
      (cause: unknown) => {
        this.#inFlight--;
        // An error reply in time means the server answered. One after the deadline (a client giving up on
        // its own, later than us) says nothing of the server's health: it was counted when the call timed
        // out. A command cut off by a lost connection says nothing yet: the calls that wait for the
        // reconnection time out if it does not come.
        if (!pending.settled && this.#connection.ready) this.#breaker.succeeded(pending.probe);
        else if (!pending.settled) {
          this.#breaker.released(pending.probe);
          if (pending.idempotent && !pending.resent) {
            pending.resent = true;
            this.#inFlight++;
            void this.#connection.whenReady().then(again);
            return;
          }
        }
        if (this.#settle(pending)) pending.reject(this.#failure(pending.operation, pending.key, cause));
        if (this.#closed) this.#finishClosing();
      },
    );
  }

  /**
   * Refuses new operations and ends the pending ones: those not yet sent, and reads, are rejected with
   * `CacheClosedError` at once (nothing was sent, or nothing changes); writes already sent are waited
   * for, each within its own deadline, so that none is reported failed although it was applied.
   *
   * @returns A promise that settles once every sent write has settled.
   */
  close(): Promise<void> {
    this.#closed = true;
    for (const pending of this.#pending.slice(this.#head)) {
      if (pending === undefined || pending.settled || (pending.sent && !pending.idempotent)) continue;
      pending.settled = true;
      pending.reject(
        new CacheClosedError(`${describe(pending)} was cut short: the connection to ${this.#target} was closed`, {
          key: pending.key,
        }),
      );
    }
    if (this.#oldest() !== undefined && this.#whenDrained === undefined) {
      let resolve = (): void => undefined;
      const promise = new Promise<void>((settle) => (resolve = settle));
      this.#whenDrained = { promise, resolve };
    }
    const drained = this.#whenDrained?.promise ?? Promise.resolve();
    this.#finishClosing();
    return drained;
  }

  /** Once closed: when no sent write is left, stops the timer and settles the promise of `close()`. */
  #finishClosing(): void {
    if (this.#oldest() !== undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#whenDrained?.resolve();
  }

  /** `"; not connected: <why>"` while the connection is down, else `""`. */
  #connectionProblem(): string {
    if (this.#connection.ready) return "";
    const why = this.#connection.lastErrorMessage;
    return `; not connected${why === undefined ? "" : `: ${why}`}`;
  }

  #settle(pending: PendingOperation): boolean {
    if (pending.settled) return false;
    pending.settled = true;
    // Replies come in the order of the commands, so the settled one is usually the oldest.
    if (this.#pending[this.#head] === pending) this.#oldest();
    return true;
  }

  /** The first operation still waiting (dropping settled ones from the head), or `undefined`. */
  #oldest(): PendingOperation | undefined {
    const pending = this.#pending;
    let head = this.#head;
    while (head < pending.length && (pending[head] as PendingOperation).settled) pending[head++] = undefined;
    if (head === pending.length) {
      pending.length = 0;
      this.#head = 0;
      return undefined;
    }
    // Drop the cleared prefix now and then, so the array does not grow with the traffic.
    if (head > 1024 && head * 2 > pending.length) {
      this.#pending = pending.slice(head);
      head = 0;
    }
    this.#head = head;
    return this.#pending[head];
  }

  #failure(operation: string, key: string | undefined, cause: unknown): Error {
    if (isCachetoryError(cause)) return cause;
    return new BackendError(`${operation}${describeKey(key)} on ${this.#target} failed: ${causeMessage(cause)}`, {
      key,
      cause,
    });
  }

  #armTimer(): void {
    if (this.#timer !== undefined) return;
    const first = this.#oldest();
    if (first === undefined) return;
    const wait = Math.max(0, Math.ceil(first.deadline - performance.now()));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#expire();
    }, wait);
  }

  #expire(): void {
    const now = performance.now();
    for (let pending = this.#oldest(); pending !== undefined && pending.deadline <= now; pending = this.#oldest()) {
      pending.settled = true;
      this.#breaker.failed(pending.probe);
      const problem = this.#connectionProblem();
      pending.reject(
        new BackendError(
          `${describe(pending)} timed out after ${String(this.#timeout)} ms waiting for ${this.#target}${problem === "" ? "" : ` (${problem.slice(2)})`}`,
          { key: pending.key },
        ),
      );
    }
    this.#armTimer();
    if (this.#closed) this.#finishClosing();
  }
}

/** `get of key "a"`, for messages. */
function describe(pending: PendingOperation): string {
  return `${pending.operation}${describeKey(pending.key)}`;
}
