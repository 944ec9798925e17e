/** Timing helpers shared by the benchmark's scenarios: one process, warm-up first, only the operation timed. */

/** One contestant's figures in one throughput scenario. */
export interface Result {
  readonly scenario: string;
  readonly contestant: string;
  readonly opsPerSecond: number;
  readonly p50Microseconds: number;
  readonly p99Microseconds: number;
  ratio?: number;
}

export const WARM_UP_MS = 300;
export const MEASURE_MS = Number(process.env["BENCH_MS"] ?? 1500);

function percentile(sorted: Float64Array, fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

/**
 * Runs `operation` from `concurrency` loops for the measuring window and returns ops/s and p50/p99
 * latency. Latency is timed per call, except for in-process contestants (`batch` > 1), whose calls
 * are shorter than the clock's own cost: those are timed per batch of sequential calls, each awaited
 * when it returns a promise.
 */
export async function measure(
  scenario: string,
  contestant: string,
  operation: () => unknown,
  {
    concurrency = 1,
    batch = 1,
    milliseconds = MEASURE_MS,
    warmUp = WARM_UP_MS,
  }: { concurrency?: number; batch?: number; milliseconds?: number; warmUp?: number } = {},
): Promise<Result> {
  const run = async (milliseconds: number, latencies: number[] | undefined): Promise<number> => {
    let count = 0;
    const until = performance.now() + milliseconds;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < until) {
          const started = performance.now();
          for (let index = 0; index < batch; index++) {
            const result = operation();
            if (result instanceof Promise) await result;
          }
          count += batch;
          latencies?.push((performance.now() - started) / batch);
          // Let other loops, timers and I/O run between batches of synchronous calls.
          if (batch > 1 && count % (batch * 1000) === 0) await new Promise((resolve) => setImmediate(resolve));
        }
      }),
    );
    return count;
  };
  await run(warmUp, undefined);
  const latencies: number[] = [];
  const started = performance.now();
  const count = await run(milliseconds, latencies);
  const seconds = (performance.now() - started) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return {
    scenario,
    contestant,
    opsPerSecond: count / seconds,
    p50Microseconds: percentile(sorted, 0.5) * 1000,
    p99Microseconds: percentile(sorted, 0.99) * 1000,
  };
}

/** What {@link measure} takes: scenario, contestant, operation and options. */
export type Measurement = Parameters<typeof measure>;

/**
 * Measures the contestants of one scenario in three interleaved rounds (A B C, A B C, A B C) and keeps
 * each one's median round, so that a burst of noise from a shared machine does not land on one
 * contestant only.
 */
export async function compareInRounds(measurements: readonly Measurement[]): Promise<Result[]> {
  const rounds = 3;
  const byContestant = measurements.map((): Result[] => []);
  for (let round = 0; round < rounds; round++) {
    for (const [index, [scenario, contestant, operation, options]] of measurements.entries()) {
      const result = await measure(scenario, contestant, operation, {
        ...options,
        milliseconds: MEASURE_MS / rounds,
        warmUp: round === 0 ? WARM_UP_MS : WARM_UP_MS / 3,
      });
      byContestant[index]?.push(result);
    }
  }
  return byContestant.map(
    (runs) => runs.sort((a, b) => a.opsPerSecond - b.opsPerSecond)[Math.floor(rounds / 2)] as Result,
  );
}

/** The median of a few timed runs of `run`, in milliseconds (for one-shot scenarios such as a stampede). */
export async function medianMilliseconds(rounds: number, run: () => Promise<void>): Promise<number> {
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(rounds / 2)] ?? Number.NaN;
}
