/**
 * A one-line progress report on stderr (`12 000 keys, 8 300/s`), redrawn at most every 200 ms, and only when
 * stderr is a terminal: piped output stays clean.
 */
export class Progress {
  readonly #stream: NodeJS.WriteStream;
  readonly #what: string;
  readonly #now: () => number;
  readonly #started: number;
  #count = 0;
  #drawnAt = Number.NEGATIVE_INFINITY;

  /** @param now - The clock, in milliseconds (a test gives its own). */
  constructor(what: string, stream: NodeJS.WriteStream = process.stderr, now: () => number = () => performance.now()) {
    this.#stream = stream;
    this.#what = what;
    this.#now = now;
    this.#started = now();
  }

  get count(): number {
    return this.#count;
  }

  /** Adds `count` and redraws when it is time. */
  add(count: number): void {
    this.#count += count;
    const now = this.#now();
    if (!this.#stream.isTTY || now - this.#drawnAt < 200) return;
    this.#drawnAt = now;
    this.#draw(now);
  }

  /** Draws the last figure and ends the line. */
  end(): void {
    if (!this.#stream.isTTY) return;
    this.#draw(this.#now());
    this.#stream.write("\n");
  }

  #draw(now: number): void {
    const seconds = Math.max(0.001, (now - this.#started) / 1000);
    const rate = Math.round(this.#count / seconds);
    this.#stream.write(`\r${this.#count.toLocaleString("en")} ${this.#what}, ${rate.toLocaleString("en")}/s `);
  }
}
