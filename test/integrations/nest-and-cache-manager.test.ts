/**
 * cache-manager 7 and NestJS over `cachetory/keyv`, end to end against a real redis-server: a minimal Nest
 * application (test/integrations/nest-app, compiled here by tsc under experimentalDecorators and
 * emitDecoratorMetadata, as Nest projects are) with CacheModule over Keyv over KeyvCachetory, the
 * CacheInterceptor on a controller and a provider method memoized by @cached; and cache-manager's
 * createCache with get, set with a TTL in milliseconds, wrap, mget, ttl and del.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import { needsRedis, RedisServer } from "../support/redis-server.js";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../..");
const requirement = needsRedis();
const server = requirement.skip === undefined ? await RedisServer.start() : undefined;
after(async () => {
  await server?.stop();
});

/**
 * A project directory with the application and a node_modules that holds the package's own dependencies
 * and the built package itself as `cachetory`, as an application that installed it has.
 */
async function project(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), "cachetory-nest-"));
  await cp(join(root, "test/integrations/nest-app"), directory, { recursive: true });
  await writeFile(join(directory, "package.json"), JSON.stringify({ type: "module" }));
  const modules = join(directory, "node_modules");
  await mkdir(modules);
  for (const entry of await readdir(join(root, "node_modules"))) {
    if (entry.startsWith(".")) continue;
    await symlink(join(root, "node_modules", entry), join(modules, entry), "dir");
  }
  await symlink(root, join(modules, "cachetory"), "dir");
  return directory;
}

describe("NestJS CacheModule and cache-manager over KeyvCachetory", () => {
  it("serve and memoize through Redis", { skip: requirement.skip }, async () => {
    const directory = await project();
    try {
      await run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", directory]);
      await writeFile(join(directory, "out/package.json"), JSON.stringify({ type: "module" }));
      const url = server?.url(11) ?? "";
      const { stdout } = await run(process.execPath, [join(directory, "out/app.js")], {
        env: { ...process.env, REDIS_URL: url },
        timeout: 60_000,
      });
      const report = JSON.parse(stdout) as Record<string, unknown>;
      // The interceptor answered the second request from Redis: the controller ran once for /prices/7.
      assert.deepEqual(report.responses, [
        { id: "7", price: 70, served: 1 },
        { id: "7", price: 70, served: 1 },
        { id: "8", price: 80, served: 2 },
      ]);
      assert.equal(report.computed, 2, "the @cached provider method ran once per id");
      const { expires } = report.interceptorTtl as { expires: number };
      assert.ok(expires > (report.now as number), "the interceptor's entry expires in the future");
      assert.deepEqual(report.get, { name: "Ada" });
      // undefined for the absent key, which JSON prints as null in an array.
      assert.deepEqual(report.mget, [{ name: "Ada" }, null]);
      const ttl = report.ttl as number;
      assert.ok(ttl > (report.now as number) && ttl <= (report.now as number) + 60_000, `ttl ${String(ttl)}`);
      assert.deepEqual(report.wrapped, [1, 1]);
      assert.equal(report.wraps, 1, "wrap computed once");
      assert.equal(report.expired, undefined, "a 50 ms entry is gone after 120 ms");
      assert.equal(report.del, true);
      assert.equal(report.afterDel, undefined);
      // What Redis holds: the interceptor's entries under Keyv's namespace, the memoized calls, the manager's.
      assert.deepEqual(report.stored, {
        // The interceptor is on the whole controller: the ttl route's answer is cached too.
        nest: ["keyv:/prices/7", "keyv:/prices/8", "keyv:/prices/manager/ttl/7"],
        memo: ["PriceService.price:7", "PriceService.price:8"],
        cm: ["keyv:slow"],
      });
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
