/** Every implementation file under src/backends and src/serializers is reachable through its registry. */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { describe, it } from "node:test";
import { backendSchemes, fromUrl as backendFromUrl } from "../src/backends/registry.js";
import { backendSchemes as syncBackendSchemes, fromUrl as syncBackendFromUrl } from "../src/backends/sync/registry.js";
import { fromUrl as serializerFromUrl, serializerSchemes } from "../src/serializers/registry.js";

const NOT_IMPLEMENTATIONS = new Set([
  "index.ts",
  "registry.ts",
  "backend.ts",
  "serializer.ts",
  "chained.ts",
  "compressor.ts",
  "memory-store.ts",
  "redis-worker.ts",
  "failure.ts",
]);

function implementationFiles(folder: string): string[] {
  return readdirSync(new URL(`../src/${folder}/`, import.meta.url), { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts") && !NOT_IMPLEMENTATIONS.has(entry.name))
    .map((entry) => entry.name);
}

/** Loads the file's module and checks that the scheme builds an instance of one of its classes. */
async function assertBuiltBy(folder: string, file: string, build: () => unknown): Promise<void> {
  const exported = Object.values((await import(`../src/${folder}/${file}`)) as Record<string, unknown>);
  const built = build();
  assert.ok(
    exported.some((value) => typeof value === "function" && built instanceof value),
    `${folder}/${file} is not what its scheme builds`,
  );
}

const FILE_SCHEMES: Record<string, Record<string, string>> = {
  // Redis backends connect on first use, so building them here opens nothing.
  backends: { "memory.ts": "memory://", "dummy.ts": "dummy://", "redis.ts": "redis://127.0.0.1:1/0" },
  "backends/sync": { "memory.ts": "memory://", "dummy.ts": "dummy://", "redis.ts": "redis://127.0.0.1:1/0" },
  serializers: {
    "noop.ts": "noop://",
    "json.ts": "json://",
    "msgpack.ts": "msgpack://",
    "v8.ts": "v8://",
    "pickle.ts": "pickle://",
  },
  "serializers/compressors": {
    "zlib.ts": "zlib://",
    "gzip.ts": "gzip://",
    "brotli.ts": "brotli://",
    "zstd.ts": "zstd://",
  },
};

const BUILDERS: Record<string, (url: string) => unknown> = {
  backends: backendFromUrl,
  "backends/sync": syncBackendFromUrl,
  serializers: serializerFromUrl,
  "serializers/compressors": serializerFromUrl,
};

describe("registries", () => {
  for (const [folder, schemes] of Object.entries(FILE_SCHEMES)) {
    it(`register every implementation in src/${folder}`, async () => {
      assert.deepEqual(implementationFiles(folder).sort(), Object.keys(schemes).sort(), `files of src/${folder}`);
      for (const [file, url] of Object.entries(schemes))
        await assertBuiltBy(folder, file, () => BUILDERS[folder]?.(url));
    });
  }

  it("offer the schemes of api.md", () => {
    assert.deepEqual(backendSchemes(), ["dummy", "memory", "redis", "redis+cluster", "redis+unix", "rediss"]);
    assert.deepEqual(syncBackendSchemes(), ["dummy", "memory", "redis", "redis+unix", "rediss"]);
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
    ]) {
      assert.ok(serializerSchemes().includes(scheme), scheme);
    }
  });
});
