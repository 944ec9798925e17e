// Packs the library, installs the tarball into an empty project WITHOUT the optional peers, and checks
// that memory:// works there and that msgpack://, zstd:// and redis:// say which package to install.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { installPackedInto } from "./install-packed.mjs";

let project;

function node(file, source) {
  writeFileSync(join(project, file), source);
  return execFileSync(process.execPath, [file], { cwd: project, encoding: "utf8" });
}

describe("the packed tarball without optional peers", () => {
  before(() => {
    project = installPackedInto("cachetory-tarball-", "consumer");
  });

  after(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it("installs no optional peer", () => {
    const installed = readdirSync(join(project, "node_modules"));
    assert.ok(installed.includes("cachetory"));
    for (const peer of ["msgpackr", "zstd-napi", "redis", "@opentelemetry/api"])
      assert.ok(!existsSync(join(project, "node_modules", peer)), `${peer} was installed`);
  });

  it("ships its LICENSE, and every source map points at a source that ships too", () => {
    const installed = join(project, "node_modules", "cachetory");
    assert.match(readFileSync(join(installed, "LICENSE"), "utf8"), /Apache License\s+Version 2\.0/);
    const maps = readdirSync(join(installed, "dist"), { recursive: true }).filter((file) =>
      String(file).endsWith(".map"),
    );
    assert.ok(maps.length > 100, `${String(maps.length)} maps`);
    for (const map of maps) {
      const path = join(installed, "dist", String(map));
      for (const source of JSON.parse(readFileSync(path, "utf8")).sources) {
        assert.ok(
          existsSync(join(dirname(path), source)),
          `${String(map)} points at ${source}, which is not in the package`,
        );
      }
    }
  });

  it("serves memory:// from ESM and CommonJS", () => {
    const esm = `import { Cache } from "cachetory";
const cache = new Cache({ backend: "memory://", serializer: "json+gzip://" });
await cache.set("k", [1, 2]);
console.log(JSON.stringify(await cache.get("k")));`;
    assert.equal(node("esm.mjs", esm).trim(), "[1,2]");
    const cjs = `const { SyncCache } = require("cachetory");
const cache = new SyncCache({ backend: "memory://", serializer: "v8://" });
cache.set("k", new Map([["a", 1]]));
console.log(cache.get("k").get("a"));`;
    assert.equal(node("cjs.cjs", cjs).trim(), "1");
  });

  it("names the package to install for redis://, from both backend entry points", () => {
    const probe = `const backends = require("cachetory/backends");
const syncBackends = require("cachetory/backends/sync");
for (const build of [backends.fromUrl, syncBackends.fromUrl]) {
  try { build("redis://127.0.0.1:6379/0").close(); console.log("built"); }
  catch (error) { console.log(error.code + " " + error.message); }
}`;
    const lines = node("redis-probe.cjs", probe).trim().split("\n");
    assert.equal(lines.length, 2);
    for (const line of lines) {
      assert.match(
        line,
        /^CACHETORY_CONFIGURATION redis:\/\/ needs the optional package "redis", which is not installed: run `npm install redis`$/,
      );
    }
  });

  it("names the package to install for postgres:// and sqlite://, from both backend entry points", () => {
    const probe = `const backends = require("cachetory/backends");
const syncBackends = require("cachetory/backends/sync");
for (const url of ["postgres://127.0.0.1:5432/app", "postgresql://127.0.0.1/app", "sqlite://:memory:"]) {
  for (const build of [backends.fromUrl, syncBackends.fromUrl]) {
    try { const backend = build(url); console.log("built " + url); backend.close(); }
    catch (error) { console.log(error.code + " " + error.message); }
  }
}`;
    const lines = node("database-probe.cjs", probe).trim().split("\n");
    assert.equal(lines.length, 6);
    for (const [index, scheme] of [
      [0, "postgres"],
      [1, "postgres"],
      [2, "postgresql"],
      [3, "postgresql"],
    ]) {
      assert.equal(
        lines[index],
        `CACHETORY_CONFIGURATION ${scheme}:// needs the optional package "pg", which is not installed: run \`npm install pg\``,
      );
    }
    // Where Node has node:sqlite, sqlite:// needs no package at all.
    const nodeHasSqlite =
      typeof process.getBuiltinModule === "function" &&
      (() => {
        try {
          return process.getBuiltinModule("node:sqlite") !== undefined;
        } catch {
          return false;
        }
      })();
    for (const line of lines.slice(4)) {
      if (nodeHasSqlite) assert.equal(line, "built sqlite://:memory:");
      else
        assert.equal(
          line,
          'CACHETORY_CONFIGURATION sqlite:// (on a Node without node:sqlite) needs the optional package "better-sqlite3", which is not installed: run `npm install better-sqlite3@12`',
        );
    }
  });

  it("names the package to install for cachetory/otel, from ESM and CommonJS", () => {
    const probe = `for (const { instrumentCachetory } of [await import("cachetory/otel"), (await import("node:module")).createRequire(import.meta.url)("cachetory/otel")]) {
  try { instrumentCachetory().stop(); console.log("instrumented"); }
  catch (error) { console.log(error.code + " " + error.message); }
}`;
    const lines = node("otel-probe.mjs", probe).trim().split("\n");
    assert.equal(lines.length, 2);
    for (const line of lines) {
      assert.match(
        line,
        /^CACHETORY_CONFIGURATION cachetory\/otel needs the optional package "@opentelemetry\/api", which is not installed: run `npm install @opentelemetry\/api`$/,
      );
    }
  });

  it("names the package to install for msgpack:// and zstd://", () => {
    const probe = `const serializers = require("cachetory/serializers");
for (const url of ["msgpack://", "json+zstd://"]) {
  try { serializers.fromUrl(url); console.log("built " + url); }
  catch (error) { console.log(error.code + " " + error.message); }
}`;
    const lines = node("probe.cjs", probe).trim().split("\n");
    assert.match(
      lines[0],
      /^CACHETORY_CONFIGURATION msgpack:\/\/ needs the optional package "msgpackr", which is not installed: run `npm install msgpackr`$/,
    );
    const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
    const builtInZstd = major > 22 || (major === 22 && minor >= 15);
    assert.match(
      lines[1],
      builtInZstd ? /^built json\+zstd:\/\/$/ : /needs the optional package "zstd-napi".*npm install zstd-napi/,
    );
  });
});

describe("cachetory/testing from the packed tarball", () => {
  before(() => {
    project = installPackedInto("cachetory-kit-", "third-party");
    // A third party's own backend: a Map with expiry times, nothing of cachetory's inside.
    writeFileSync(
      join(project, "map-backend.mjs"),
      `import { globMatcher } from "cachetory/backends";
export class MapBackend {
  #entries = new Map();
  #live(key) {
    const entry = this.#entries.get(key);
    if (entry && entry.expires !== undefined && entry.expires <= Date.now()) this.#entries.delete(key);
    return this.#entries.get(key);
  }
  async get(key) { return this.#live(key)?.value; }
  async getMany(keys) {
    const found = new Map();
    for (const key of keys) { const entry = this.#live(key); if (entry) found.set(key, entry.value); }
    return found;
  }
  async set(key, value, { timeToLive, ifNotExists } = {}) {
    if (ifNotExists && this.#live(key)) return false;
    this.#entries.set(key, { value, expires: timeToLive === undefined ? undefined : Date.now() + timeToLive });
    return true;
  }
  async setMany(entries, timeToLive) { for (const [key, value] of entries) await this.set(key, value, { timeToLive }); }
  async expireIn(key, timeToLive) {
    const entry = this.#live(key);
    if (!entry) return false;
    entry.expires = timeToLive === undefined ? undefined : Date.now() + timeToLive;
    return true;
  }
  async delete(key) { const had = this.#live(key) !== undefined; this.#entries.delete(key); return had; }
  async deleteMany(keys) { let count = 0; for (const key of new Set(keys)) if (await this.delete(key)) count++; return count; }
  async has(key) { return this.#live(key) !== undefined; }
  async clear(prefix) { for (const key of [...this.#entries.keys()]) if (key.startsWith(prefix)) this.#entries.delete(key); }
  async ttl(key) {
    const entry = this.#live(key);
    if (!entry) return undefined;
    return entry.expires === undefined ? null : Math.max(1, entry.expires - Date.now());
  }
  async scan(_cursor, { match = "*" }) {
    const matches = globMatcher(match);
    return { keys: [...this.#entries.keys()].filter((key) => this.#live(key) && matches(key)), cursor: "0" };
  }
  async close() {}
}
// The same, with one defect: ifNotExists is ignored.
export class BrokenBackend extends MapBackend {
  async set(key, value, options = {}) { return super.set(key, value, { ...options, ifNotExists: false }); }
}
`,
    );
    for (const name of ["MapBackend", "BrokenBackend"]) {
      writeFileSync(
        join(project, `${name}.test.mjs`),
        `import { it } from "node:test";
import { backendConformance, serializerConformance } from "cachetory/testing";
import { JsonSerializer } from "cachetory/serializers";
import { ${name} } from "./map-backend.mjs";
for (const { name, skip, run } of backendConformance(() => new ${name}())) it(name, { skip }, run);
for (const { name, skip, run } of serializerConformance(() => new JsonSerializer())) it("json: " + name, { skip }, run);
`,
      );
    }
  });

  after(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  const runSuite = (file) => {
    // A test run inside a test run reports to its parent unless told it is on its own.
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    try {
      const output = execFileSync(process.execPath, ["--test", "--test-reporter=tap", file], {
        cwd: project,
        encoding: "utf8",
        env,
      });
      return { passed: true, output };
    } catch (error) {
      return { passed: false, output: String(error.stdout) };
    }
  };

  it("passes a correct third-party backend", () => {
    const { passed, output } = runSuite("MapBackend.test.mjs");
    assert.ok(passed, output);
    assert.match(output, /# pass (1[5-9]|[2-9]\d)/);
    assert.match(output, /# fail 0/);
  });

  it("fails a broken one, naming the case", () => {
    const { passed, output } = runSuite("BrokenBackend.test.mjs");
    assert.equal(passed, false);
    assert.match(output, /not ok \d+ - overwrites, and ifNotExists stores only when absent/);
    assert.match(output, /# fail 1\b/);
  });
});
