/**
 * One case of a conformance suite, for any test runner: `run()` resolves when the case passes and rejects
 * (with an assertion error saying what differed) when it fails; `skip` says why a case does not apply.
 *
 * @example
 * ```ts
 * for (const { name, skip, run } of backendConformance(() => new MyBackend())) it(name, { skip }, run);
 * ```
 */
export interface ConformanceCase {
  /** What the case checks, as a sentence. */
  readonly name: string;
  /** Why the case is skipped, when it does not apply to what is tested. */
  readonly skip?: string;
  /** Runs the case. */
  readonly run: () => Promise<void>;
}

/** Builds the cases of a suite: each is skipped with `reason` when `applies` is false. */
export function conformanceCase(name: string, run: () => Promise<void>, applies = true, reason = ""): ConformanceCase {
  return applies ? { name, run } : { name, skip: reason, run };
}
