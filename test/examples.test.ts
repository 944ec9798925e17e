/** The examples run (against the build, as a user's code would). */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";

describe("examples", () => {
  it("quickstart runs on the memory backend", () => {
    const env = { ...process.env };
    delete env.REDIS_URL;
    const output = execFileSync(process.execPath, ["--import", "tsx", "examples/quickstart.ts"], {
      cwd: new URL("..", import.meta.url).pathname,
      encoding: "utf8",
      env,
    });
    assert.match(output, /^backend: memory:\/\//m);
    assert.match(output, /attempt 2: user 1 in/);
    assert.match(output, /getMany: \[ 'user:1', 'user:2' \]/);
    assert.match(output, /after clear, has user:1: false/);
  });
});
