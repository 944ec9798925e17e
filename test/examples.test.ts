/** The examples run (against the build, as a user's code would). */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { after, describe, it } from "node:test";
import { freePort, needsRedis, RedisServer } from "./support/redis-server.js";

function runQuickstart(redisUrl: string | undefined): string {
  const env = { ...process.env };
  delete env.REDIS_URL;
  if (redisUrl !== undefined) env.REDIS_URL = redisUrl;
  return execFileSync(process.execPath, ["--import", "tsx", "examples/quickstart.ts"], {
    cwd: new URL("..", import.meta.url).pathname,
    encoding: "utf8",
    env,
  });
}

function assertQuickstartRan(output: string): void {
  assert.match(output, /attempt 2: user 1 in/);
  assert.match(output, /getOrSet: user 4, user 4, user 4 \(1 database call for three callers\)/);
  assert.match(output, /getOrSet while fresh, with a failing database: user 4/);
  assert.match(output, /getMany: \[ 'user:1', 'user:2' \]/);
  assert.match(output, /ifNotExists on a present key stored: false/);
  assert.match(output, /after clear, has user:1: false/);
}

describe("examples", () => {
  it("quickstart runs on the memory backend", () => {
    const output = runQuickstart(undefined);
    assert.match(output, /^backend: memory:\/\//m);
    assertQuickstartRan(output);
  });

  const requirement = needsRedis();
  let server: RedisServer | undefined;
  after(async () => {
    await server?.stop();
  });

  it("quickstart runs on Redis when REDIS_URL is set", requirement, async () => {
    server = await RedisServer.start();
    const output = runQuickstart(server.url(0));
    assert.match(output, /^backend: redis:\/\//m);
    assertQuickstartRan(output);
  });

  it("the Prometheus example serves /metrics with Prometheus names: base units, _total on counters, no keys", async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ["--import", "tsx", "examples/prometheus.ts"], {
      cwd: new URL("..", import.meta.url).pathname,
      env: { ...process.env, METRICS_PORT: String(port) },
      stdio: "ignore",
    });
    try {
      let body = "";
      const started = performance.now();
      while (!(body.includes("cachetory_requests_total{") && body.includes('cache_result="hit"'))) {
        assert.ok(performance.now() - started < 20_000, "the example served no metrics within 20 s");
        await new Promise((resolve) => setTimeout(resolve, 200));
        body = await fetch(`http://127.0.0.1:${String(port)}/metrics`).then(
          (response) => response.text(),
          () => "",
        );
      }
      assert.match(body, /^# TYPE cachetory_requests_total counter$/m);
      assert.match(body, /^# TYPE cachetory_operation_duration_seconds histogram$/m);
      assert.match(body, /^cachetory_operation_duration_seconds_bucket\{cache_name="users",cache_operation="get",/m);
      assert.match(
        body,
        /cachetory_requests_total\{cache_name="users",cache_operation="getOrSet",cache_tier="backend",cache_result="(hit|miss|stale)"/,
      );
      assert.doesNotMatch(body, /cache_key/);
    } finally {
      child.kill();
    }
  });
});
