/**
 * The byte-flip fuzzers (reliability.md B2 and I1) run in a child process, so that a crash or an abort of a
 * decoder is seen as the child's death rather than taking the test runner with it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

/** What a fuzzer child prints last: per format, how its flipped values came back; and the slowest decode. */
export interface FuzzReport {
  readonly report: Record<string, { rejected: number; silentlyDifferent: number; unchanged: number }>;
  readonly slowest: number;
}

/**
 * Runs `script` (an ES module, run from the repository's root with tsx) and returns the JSON of its last
 * line, once it has exited by itself with status 0.
 */
export function runFuzzChild(script: string, timeoutMs: number): FuzzReport {
  const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: new URL("../..", import.meta.url),
    encoding: "utf8",
    timeout: timeoutMs,
  });
  assert.equal(child.signal, null, `the child died of ${String(child.signal)}`);
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout.trim().split("\n").at(-1) ?? "{}") as FuzzReport;
}
