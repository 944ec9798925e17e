/**
 * @keyv/test-suite, unmodified, against KeyvCachetory over memory, Redis and a Redis Cluster, with the Keyv
 * release named by KEYV_PACKAGE ("keyv" for Keyv 5, "keyv6" for Keyv 6). keyv.test.ts starts the servers
 * and runs this file with Vitest, the runner the suite is written for.
 */
import keyvTestSuite, { keyvIteratorTests } from "@keyv/test-suite";
import type KeyvModule from "keyv";
import * as Vitest from "vitest";
import type { AsyncBackend } from "../../src/backends/contract.js";
import { MemoryBackend } from "../../src/backends/memory/backend.js";
import { RedisBackend } from "../../src/backends/redis/backend.js";
import { KeyvCachetory } from "../../src/keyv/index.js";

const keyvPackage = process.env.KEYV_PACKAGE ?? "keyv";
// Keyv 6 is installed as "keyv6"; both export the class as default.
const Keyv = ((await import(keyvPackage)) as { default: typeof KeyvModule }).default;

const backends: [string, () => AsyncBackend][] = [["memory://", () => new MemoryBackend()]];
if (process.env.REDIS_URL !== undefined) {
  const url = process.env.REDIS_URL;
  backends.push(["redis://", () => new RedisBackend({ url })]);
}
if (process.env.REDIS_CLUSTER_URL !== undefined) {
  const url = `${process.env.REDIS_CLUSTER_URL}?timeout=5000`;
  backends.push(["redis+cluster://", () => new RedisBackend({ url })]);
}

// Keyv's own default store, as a control: a case that fails on it fails because of Keyv, not of ours.
Vitest.describe(`Keyv's own Map store with ${keyvPackage}`, () => {
  const map = new Map();
  keyvTestSuite(Vitest, Keyv, () => map);
  keyvIteratorTests(Vitest, Keyv, () => map);
});

for (const [name, makeBackend] of backends) {
  Vitest.describe(`KeyvCachetory over ${name} with ${keyvPackage}`, () => {
    // Every store() the suite asks for is a new KeyvCachetory, as with @keyv/redis, over one backend: the
    // stores share what is stored, as stores over one server do.
    const backend = makeBackend();
    Vitest.afterAll(() => backend.close());
    const store = (): KeyvCachetory => new KeyvCachetory(backend);
    keyvTestSuite(Vitest, Keyv, store);
    keyvIteratorTests(Vitest, Keyv, store);
  });
}
