/** Every backend and serializer class under src/ is what some scheme of its registry builds. */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { backendSchemes, fromUrl as backendFromUrl } from "../src/backends/registry.js";
import { backendSchemes as syncBackendSchemes, fromUrl as syncBackendFromUrl } from "../src/backends/sync/registry.js";
import { fromUrl as serializerFromUrl, serializerSchemes } from "../src/serializers/registry.js";

/** Every `.ts` module below `src/<folder>`, as paths relative to `src/` (worker threads' entry files left out). */
function sourceFiles(folder: string): string[] {
  const root = new URL("../src/", import.meta.url);
  return (readdirSync(new URL(folder, root), { recursive: true }) as string[])
    .filter((file) => file.endsWith(".ts") && !file.endsWith("worker.ts"))
    .map((file) => `${folder}/${file}`);
}

type Constructor = abstract new (...args: never[]) => object;

/** The exported classes of a module that implement a contract (by their prototype's operations). */
async function implementations(file: string, operations: readonly string[]): Promise<Constructor[]> {
  const exported = Object.values((await import(`../src/${file}`)) as Record<string, unknown>);
  return exported.filter(
    (value): value is Constructor =>
      typeof value === "function" &&
      operations.every(
        (operation) => typeof (value.prototype as Record<string, unknown> | undefined)?.[operation] === "function",
      ),
  );
}

/**
 * Classes that implement a contract but are bases, wrappers or parts (the Redis store is what the layers of
 * `RedisBackend` wrap; the near tier is the layer a cache builds from its `near` option), not something a
 * scheme should build.
 */
const NOT_BUILT_BY_A_SCHEME = new Set([
  "RedisStore",
  "PostgresStore",
  "SqliteStore",
  "MemcachedStore",
  "AsyncFileStore",
  "WorkerThreadBackend",
  "NearBackend",
  "SyncBackendAdapter",
  "MemoryStore",
  "ChainedSerializer",
  "Compressor",
  "EngineCompressor",
  "NodeZlibCompressor",
]);

const fileDirectory = mkdtempSync(join(tmpdir(), "cachetory-registries-"));
after(() => {
  rmSync(fileDirectory, { recursive: true, force: true });
});

process.env["CACHETORY_REGISTRY_HMAC_KEY"] = "a key of thirty-two bytes or more";

/** What each scheme builds, async and sync (Redis backends connect on first use: building opens nothing). */
function builtBySchemes(): object[] {
  const backendUrls = [
    "memory://",
    "dummy://",
    "redis://127.0.0.1:1/0",
    "redis+cluster://127.0.0.1:1",
    "postgres://127.0.0.1:1/db",
    "sqlite://:memory:",
    "memcached://127.0.0.1:1",
    `file://${fileDirectory}`,
  ];
  const syncUrls = [
    "memory://",
    "dummy://",
    "redis://127.0.0.1:1/0",
    "postgres://127.0.0.1:1/db",
    "sqlite://:memory:",
    "memcached://127.0.0.1:1",
    `file://${fileDirectory}`,
  ];
  return [
    ...backendUrls.map((url) => backendFromUrl(url)),
    ...syncUrls.map((url) => syncBackendFromUrl(url)),
    ...serializerSchemes().map((scheme) =>
      serializerFromUrl(scheme === "hmac" ? "hmac://?key-env=CACHETORY_REGISTRY_HMAC_KEY" : `${scheme}://`),
    ),
  ];
}

describe("registries", () => {
  it("build every backend and serializer class that src/ holds", async () => {
    const built = builtBySchemes();
    const classes: { file: string; name: string; type: Constructor }[] = [];
    for (const file of sourceFiles("backends")) {
      for (const type of await implementations(file, ["get", "set", "delete", "close"]))
        classes.push({ file, name: type.name, type });
    }
    for (const file of sourceFiles("serializers")) {
      for (const type of await implementations(file, ["serialize", "deserialize"]))
        classes.push({ file, name: type.name, type });
    }
    const expected = classes.filter(({ name }) => !NOT_BUILT_BY_A_SCHEME.has(name));
    // The search itself works: every built-in is found where it lives.
    assert.ok(expected.length >= 15, expected.map(({ name }) => name).join(", "));
    for (const { file, name, type } of expected) {
      assert.ok(
        built.some((instance) => instance.constructor === type),
        `${name} (src/${file}) is built by no scheme of its registry`,
      );
    }
    for (const instance of built) await (instance as { close?: () => unknown }).close?.();
  });

  it("offer the schemes of api.md", () => {
    assert.deepEqual(backendSchemes(), [
      "dummy",
      "file",
      "memcached",
      "memory",
      "postgres",
      "postgresql",
      "redis",
      "redis+cluster",
      "redis+sentinel",
      "redis+unix",
      "rediss",
      "sqlite",
    ]);
    assert.deepEqual(syncBackendSchemes(), [
      "dummy",
      "file",
      "memcached",
      "memory",
      "postgres",
      "postgresql",
      "redis",
      "redis+sentinel",
      "redis+unix",
      "rediss",
      "sqlite",
    ]);
    for (const scheme of [
      "noop",
      "null",
      "json",
      "msgpack",
      "v8",
      "zlib",
      "gzip",
      "brotli",
      "zstd",
      "zstandard",
      "pickle",
      "checksum",
      "hmac",
    ]) {
      assert.ok(serializerSchemes().includes(scheme), scheme);
    }
  });
});
