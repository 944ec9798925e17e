import type { Clock } from "../../src/backends/memory/store.js";

/** A clock that moves only when told to, so expiry tests never sleep. */
export class ManualClock implements Clock {
  // lru-cache treats a start time of 0 as "no expiry", so the clock starts well above it.
  #now = 1_000_000;

  now(): number {
    return this.#now;
  }

  advance(milliseconds: number): void {
    this.#now += milliseconds;
  }
}
