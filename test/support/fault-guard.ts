/**
 * The global checks of every fault test: unhandled rejections and uncaught exceptions are counted
 * (and must stay at zero) while a fault scenario runs.
 */
export class ProcessFaultGuard {
  readonly unhandled: unknown[] = [];
  readonly #onRejection = (reason: unknown): void => {
    this.unhandled.push(reason);
  };
  readonly #onException = (error: unknown): void => {
    this.unhandled.push(error);
  };

  constructor() {
    process.on("unhandledRejection", this.#onRejection);
    process.on("uncaughtException", this.#onException);
  }

  /** Stops counting; the list of what went unhandled stays readable. */
  dispose(): void {
    process.off("unhandledRejection", this.#onRejection);
    process.off("uncaughtException", this.#onException);
  }
}

/** Waits `milliseconds` of real time (fault tests run against real servers and real sockets). */
export function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/** Outcome statistics of calls made during a fault scenario. */
export class CallLog {
  issued = 0;
  settled = 0;
  succeeded = 0;
  maxSettleMs = 0;
  readonly errorsByName = new Map<string, number>();
  readonly wrongValues: string[] = [];
  lastSuccessAt = 0;

  /** Runs one call, recording how long it took to settle and how it ended. */
  async record<T>(call: () => Promise<T>): Promise<T | undefined> {
    this.issued++;
    const started = performance.now();
    try {
      const result = await call();
      this.succeeded++;
      this.lastSuccessAt = performance.now();
      return result;
    } catch (error) {
      const name = error instanceof Error ? error.name : typeof error;
      this.errorsByName.set(name, (this.errorsByName.get(name) ?? 0) + 1);
      return undefined;
    } finally {
      this.settled++;
      this.maxSettleMs = Math.max(this.maxSettleMs, performance.now() - started);
    }
  }

  /** A one-line summary for the test output (numbers, not assertions). */
  summary(): string {
    const errors = [...this.errorsByName].map(([name, count]) => `${name}×${String(count)}`).join(", ");
    return `issued ${String(this.issued)}, settled ${String(this.settled)}, ok ${String(this.succeeded)}, max settle ${this.maxSettleMs.toFixed(0)} ms, errors: ${errors || "none"}`;
  }
}
