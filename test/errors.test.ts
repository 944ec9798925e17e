import assert from "node:assert/strict";
import { inspect } from "node:util";
import { describe, it } from "node:test";
import { fromUrl as backendFromUrl, registerBackend } from "../src/backends/registry.js";
import {
  BackendError,
  CacheClosedError,
  CacheError,
  CacheMissError,
  ConfigurationError,
  SerializationError,
} from "../src/errors.js";
import { CacheUrl, redactUrl } from "../src/internal/cache-url.js";
import { loadOptional } from "../src/internal/load-optional.js";

describe("errors", () => {
  it("have a name, a stable code, the key and the cause", () => {
    const cause = new Error("boom");
    const kinds: [new (message: string, options?: { cause?: unknown; key?: string }) => CacheError, string][] = [
      [ConfigurationError, "CACHETORY_CONFIGURATION"],
      [SerializationError, "CACHETORY_SERIALIZATION"],
      [BackendError, "CACHETORY_BACKEND"],
      [CacheMissError, "CACHETORY_CACHE_MISS"],
      [CacheClosedError, "CACHETORY_CACHE_CLOSED"],
    ];
    for (const [Kind, code] of kinds) {
      const error = new Kind("message", { cause, key: "k" });
      assert.ok(error instanceof CacheError && error instanceof Error);
      assert.equal(error.name, Kind.name);
      assert.equal(error.code, code);
      assert.equal(error.key, "k");
      assert.equal(error.cause, cause);
      assert.ok(String(error).startsWith(`${Kind.name}: message`));
    }
  });

  it("never show a URL's password", () => {
    const secret = "S3cr3t%40x";
    assert.equal(redactUrl(`redis://user:${secret}@127.0.0.1:6379/0`), "redis://user:***@127.0.0.1:6379/0");
    assert.equal(redactUrl(`redis://:${secret}@host`), "redis://:***@host");
    assert.equal(redactUrl("redis://host?password=x&db=1"), "redis://host?password=***&db=1");
    registerBackend("secret-test", () => {
      throw new ConfigurationError("never built");
    });
    for (const url of [
      `nosuch://user:${secret}@host/0`,
      `memory://user:${secret}@host`,
      `memory://?max-entries=x&password=${secret}`,
    ]) {
      try {
        backendFromUrl(url);
        assert.fail("should have thrown");
      } catch (error) {
        const shown = `${String(error)} ${inspect(error, { depth: null, showHidden: true })} ${JSON.stringify(error)}`;
        assert.ok(error instanceof ConfigurationError);
        assert.ok(!shown.includes("S3cr3t") && !shown.includes(decodeURIComponent(secret)), shown);
      }
    }
    assert.ok(!new CacheUrl(`memory://u:${secret}@h`).redacted.includes("S3cr3t"));
  });

  it("says which optional package to install", () => {
    assert.throws(
      () => loadOptional("cachetory-no-such-package", "frobnicate://"),
      (error: unknown) =>
        error instanceof ConfigurationError &&
        error.message ===
          'frobnicate:// needs the optional package "cachetory-no-such-package", which is not installed: run `npm install cachetory-no-such-package`' &&
        error.cause instanceof Error,
    );
  });
});
