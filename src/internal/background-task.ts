/**
 * A piece of work run every so often in the background (a sweep of expired rows), or at once on request:
 * one run at a time (a request during a run joins it), on a timer that keeps no process alive, stopped
 * after the run under way.
 *
 * @example
 * ```ts
 * const sweeps = new BackgroundTask((task) => sweepOnce(() => task.stopped));
 * sweeps.start(60_000);
 * await sweeps.stop();
 * ```
 */
export class BackgroundTask<T> {
  readonly #work: (task: BackgroundTask<T>) => Promise<T>;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<T> | undefined;
  #stopped = false;

  /** @param work - One run; it may look at `task.stopped` between its steps. */
  constructor(work: (task: BackgroundTask<T>) => Promise<T>) {
    this.#work = work;
  }

  /** Whether {@link stop} was called: a run in steps ends after its current one. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Runs every `interval` milliseconds; a failed run is dropped (the next one tries again). */
  start(interval: number): void {
    this.#timer = setInterval(() => {
      this.run().catch(() => undefined);
    }, interval);
    this.#timer.unref();
  }

  /** Whether a run is under way. */
  get busy(): boolean {
    return this.#running !== undefined;
  }

  /** One run now, joining one under way. */
  run(): Promise<T> {
    this.#running ??= this.#work(this).finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** A run that starts after this call: the one under way (begun before) is waited for first. */
  async runAfresh(): Promise<T> {
    await this.#running?.catch(() => undefined);
    return this.run();
  }

  /** Ends the background runs and waits for the run under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }
}
