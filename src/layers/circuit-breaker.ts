import { EVENT_CHANNELS } from "../observability/channels.js";

/** The settings of a {@link CircuitBreaker}, in milliseconds where they are times. */
export interface CircuitBreakerOptions {
  /** Failures in a row that open the circuit; 0 turns the breaker off. */
  readonly threshold: number;
  /** How long the circuit stays open before one probe is let through. */
  readonly duration: number;
}

/** Where a circuit stands. */
export type CircuitState = "closed" | "open" | "half-open";

/**
 * Stops calling a backend that keeps failing to answer: after `threshold` timeouts in a row the circuit opens
 * and calls are refused at once (no socket, no timer) for `duration`; then one call goes through as a
 * probe (half-open). Its success closes the circuit; its failure opens it for another `duration`.
 */
export class CircuitBreaker {
  readonly #threshold: number;
  readonly #duration: number;
  #failuresInARow = 0;
  #openUntil = 0;
  #probing = false;

  constructor(options: CircuitBreakerOptions) {
    this.#threshold = options.threshold;
    this.#duration = options.duration;
  }

  /** Where the circuit stands now. */
  get state(): CircuitState {
    if (this.#threshold === 0 || this.#failuresInARow < this.#threshold) return "closed";
    return performance.now() < this.#openUntil ? "open" : "half-open";
  }

  /** Failures in a row so far. */
  get failuresInARow(): number {
    return this.#failuresInARow;
  }

  /** Milliseconds until the next probe may go (0 when it may go now). */
  get retryIn(): number {
    return Math.max(0, Math.ceil(this.#openUntil - performance.now()));
  }

  /** Whether a call may go now: `"pass"`, `"probe"` (the one call after a break) or `"refuse"`. */
  admit(): "pass" | "probe" | "refuse" {
    const state = this.state;
    if (state === "closed") return "pass";
    if (state === "open" || this.#probing) return "refuse";
    this.#probing = true;
    return "probe";
  }

  /** The backend answered (even with an error reply of its own): it is available. */
  succeeded(probe: boolean): void {
    if (probe) this.#probing = false;
    const wasOpen = this.#threshold > 0 && this.#failuresInARow >= this.#threshold;
    this.#failuresInARow = 0;
    if (wasOpen && EVENT_CHANNELS.circuit.hasSubscribers) EVENT_CHANNELS.circuit.publish({ state: "closed" });
  }

  /** A call ended without telling whether the backend is available (its connection dropped). */
  released(probe: boolean): void {
    if (probe) this.#probing = false;
  }

  /** The backend did not answer in time. */
  failed(probe: boolean): void {
    if (probe) this.#probing = false;
    this.#failuresInARow++;
    if (this.#threshold > 0 && this.#failuresInARow >= this.#threshold) {
      this.#openUntil = performance.now() + this.#duration;
      if (EVENT_CHANNELS.circuit.hasSubscribers) {
        EVENT_CHANNELS.circuit.publish({
          state: "open",
          failuresInARow: this.#failuresInARow,
          retryInMs: this.#duration,
        });
      }
    }
  }
}
