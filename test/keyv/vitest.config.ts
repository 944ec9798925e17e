// Runs @keyv/test-suite, which is written for Vitest, from keyv.test.ts: only the spec next to it.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/keyv/keyv-suite.vitest.ts"],
    // One store per backend, one server each: the cases share them, so they run one after another.
    fileParallelism: false,
    sequence: { concurrent: false },
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
