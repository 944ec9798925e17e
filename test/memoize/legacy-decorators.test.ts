/**
 * `@cached` and `@cachedSync` under TypeScript's `experimentalDecorators` (as NestJS, Angular and TypeORM
 * projects compile) and as TC39 decorators: one class, compiled by `tsc` both ways against the built
 * package, run, and compared. Both must memoize the same way, with the same keys (`Class.method`), `this`,
 * `purge`, `purgeCached`, options and errors.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../..");

const FIXTURE = `
import { Cache, cached, cachedSync, purgeCached, SyncCache } from "cachetory";
import { MemoryBackend } from "cachetory/backends/sync";

const cache = new Cache<number>({ backend: "memory://", serializer: "json://", prefix: "c:" });
const syncCache = new SyncCache<number>({ backend: new MemoryBackend(), serializer: "json://", prefix: "s:" });
let calls = 0;

class Prices {
  constructor(private readonly base: number) {}

  @cached(cache, { timeToLive: "1m" })
  async price(id: number): Promise<number> {
    calls++;
    return this.base + id;
  }

  @cachedSync(syncCache)
  priceNow(id: number): number {
    calls++;
    return this.base * id;
  }

  @cached(cache, { name: "top-price" })
  static async top(): Promise<number> {
    calls++;
    return 99;
  }
}

class Discounted extends Prices {}

const prices = new Prices(100);
const results = [
  await prices.price(1),
  await prices.price(1),
  await new Discounted(100).price(1),
  prices.priceNow(3),
  prices.priceNow(3),
  await Prices.top(),
  await Prices.top(),
];
const callsBefore = calls;
const purged = [await purgeCached(prices, "price", 1), await purgeCached(prices, "price", 1), purgeCached(prices, "priceNow", 3)];
await prices.price(1);
const keys: string[] = [];
for await (const key of cache.keys()) keys.push(key);
let refused = "";
try {
  class Wrong {
    @(cached(cache) as any)
    get value(): Promise<number> {
      return Promise.resolve(1);
    }
  }
  void Wrong;
} catch (error) {
  refused = (error as Error).name;
}
console.log(
  JSON.stringify({
    results,
    callsBefore,
    calls,
    purged,
    keys: keys.sort(),
    syncKeys: [...syncCache.keys()].sort(),
    ttl: ((await cache.ttl(keys.find((key) => key.includes(".price")) ?? "")) ?? 0) > 50_000,
    refused,
  }),
);
`;

let directory = "";
before(async () => {
  directory = await mkdtemp(join(tmpdir(), "cachetory-decorators-"));
  await mkdir(join(directory, "node_modules"), { recursive: true });
  await symlink(root, join(directory, "node_modules", "cachetory"), "dir");
  await writeFile(join(directory, "package.json"), JSON.stringify({ type: "module" }));
  await writeFile(join(directory, "prices.ts"), FIXTURE);
});
after(async () => {
  if (directory !== "") await rm(directory, { recursive: true, force: true });
});

/** Compiles the fixture with `tsc` (TC39 decorators, or `experimentalDecorators`), runs it, parses what it printed. */
async function compileAndRun(experimental: boolean): Promise<Record<string, unknown>> {
  const out = join(directory, experimental ? "legacy" : "tc39");
  await run(
    process.execPath,
    [
      join(root, "node_modules/typescript/bin/tsc"),
      "--strict",
      "--target",
      "es2022",
      "--module",
      "nodenext",
      "--moduleResolution",
      "nodenext",
      "--skipLibCheck",
      ...(experimental ? ["--experimentalDecorators", "--emitDecoratorMetadata"] : []),
      "--outDir",
      out,
      join(directory, "prices.ts"),
    ],
    { cwd: directory },
  );
  await writeFile(join(out, "package.json"), JSON.stringify({ type: "module" }));
  const { stdout } = await run(process.execPath, [join(out, "prices.js")], { cwd: directory });
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe("decorators compiled by tsc", () => {
  it("memoize alike as TC39 decorators and under experimentalDecorators, with the same keys", async () => {
    const [tc39, legacy] = await Promise.all([compileAndRun(false), compileAndRun(true)]);
    const expected = {
      results: [101, 101, 101, 300, 300, 99, 99],
      callsBefore: 3,
      calls: 4,
      purged: [true, false, true],
      keys: ["Prices.price:1", "top-price"],
      syncKeys: [],
      ttl: true,
      refused: "ConfigurationError",
    };
    assert.deepEqual(tc39, expected);
    assert.deepEqual(legacy, expected);
  });
});
