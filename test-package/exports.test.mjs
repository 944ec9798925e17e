// Runs against the build (dist/): every entry point loads through `import` and `require`, with the
// same names, and offers the names api.md fixes.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, it } from "node:test";

const require = createRequire(import.meta.url);

/** The runtime names of shared/spec/api.md, per entry point; `pending` names arrive with later issues. */
const API = {
  cachetory: {
    names: [
      "Cache",
      "SyncCache",
      "memoryCache",
      "dummyCache",
      "CacheError",
      "ConfigurationError",
      "SerializationError",
      "BackendError",
      "CacheMissError",
      "cached",
      "cachedSync",
      "makeDefaultKey",
      "makeDefaultHashedKey",
    ],
    pending: {},
  },
  "cachetory/backends": {
    names: ["fromUrl", "registerBackend", "MemoryBackend", "DummyBackend", "RedisBackend"],
    pending: {},
  },
  "cachetory/backends/sync": {
    names: ["fromUrl", "registerBackend", "MemoryBackend", "DummyBackend", "RedisBackend"],
    pending: {},
  },
  "cachetory/serializers": {
    names: [
      "fromUrl",
      "registerSerializer",
      "ChainedSerializer",
      "NoopSerializer",
      "JsonSerializer",
      "MsgpackSerializer",
      "V8Serializer",
      "ZlibCompressor",
      "GzipCompressor",
      "BrotliCompressor",
      "ZstdCompressor",
      "PickleSerializer",
    ],
    pending: {},
  },
  "cachetory/testing": {
    names: ["backendConformance", "serializerConformance"],
    pending: {},
  },
  "cachetory/otel": {
    names: ["instrumentCachetory"],
    pending: {},
  },
};

describe("package entry points", () => {
  for (const [specifier, { names, pending }] of Object.entries(API)) {
    it(`${specifier} loads through import and require with the same names`, async () => {
      const esm = await import(specifier);
      const cjs = require(specifier);
      const esmNames = Object.keys(esm)
        .filter((name) => name !== "default")
        .sort();
      assert.deepEqual(Object.keys(cjs).sort(), esmNames);
      for (const name of names) assert.ok(esmNames.includes(name), `${specifier} exports ${name}`);
      for (const [name, issue] of Object.entries(pending)) {
        assert.ok(!esmNames.includes(name), `${name} is expected with the ${issue}; update this list when it lands`);
      }
    });
  }

  it("the ESM and CommonJS copies agree on error codes", async () => {
    const esm = await import("cachetory");
    const cjs = require("cachetory");
    const fromEsm = new esm.ConfigurationError("x");
    assert.equal(fromEsm.code, new cjs.ConfigurationError("x").code);
    assert.ok(!(fromEsm instanceof cjs.ConfigurationError), "instanceof differs across copies: hence the codes");
  });

  it("works from both module systems", async () => {
    for (const { Cache } of [await import("cachetory"), require("cachetory")]) {
      const cache = new Cache({ backend: "memory://", serializer: "json+zlib://" });
      await cache.set("k", { a: 1 });
      assert.deepEqual(await cache.get("k"), { a: 1 });
      await cache.close();
    }
  });
});

describe("published type declarations", () => {
  it("contain no `any`", async () => {
    const { readdirSync, readFileSync } = await import("node:fs");
    const dist = new URL("../dist/", import.meta.url);
    const declarations = readdirSync(dist, { recursive: true }).filter((file) => String(file).endsWith(".d.ts"));
    assert.ok(declarations.length > 20, "the build has declarations");
    for (const file of declarations) {
      const text = readFileSync(new URL(String(file), dist), "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
      assert.doesNotMatch(text, /\bany\b/, `dist/${String(file)}`);
    }
  });
});

describe("one registry of schemes per process", () => {
  it("a scheme registered through the ESM copy is seen by the CommonJS copy, and the other way round", async () => {
    const esm = await import("cachetory/serializers");
    const cjs = require("cachetory/serializers");
    const reverse = {
      serialize: (value) => String(value).split("").reverse().join(""),
      deserialize: (text) => String(text).split("").reverse().join(""),
    };
    esm.registerSerializer("reversed-from-esm", () => reverse);
    assert.equal(cjs.fromUrl("reversed-from-esm://").serialize("abc"), "cba");
    cjs.registerSerializer("reversed-from-cjs", () => reverse);
    assert.equal(esm.fromUrl("reversed-from-cjs://").serialize("abc"), "cba");
    assert.throws(() => cjs.registerSerializer("reversed-from-esm", () => reverse), /already registered/);
    const esmBackends = await import("cachetory/backends");
    const cjsBackends = require("cachetory/backends");
    esmBackends.registerBackend("memory-from-esm", () => new esmBackends.MemoryBackend());
    const backend = cjsBackends.fromUrl("memory-from-esm://");
    await backend.set("k", "v", {});
    assert.equal(await backend.get("k"), "v");
  });
});
