/**
 * Credentials with URL delimiters in them (issue: one parser decides what the credentials are, and
 * redaction uses its answer). Every special character, in the user name and in the password, raw and
 * percent-encoded, on every Redis scheme: the credentials decode exactly, a real server accepts them,
 * and no failure (timeout, refused connection, process warning, sync worker error) shows the password.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { inspect } from "node:util";
import { Cache, ConfigurationError, redactUrl } from "../../src/index.js";
import { RedisBackend } from "../../src/backends/redis/backend.js";
import { RedisBackend as BuiltSyncRedisBackend } from "../../dist/esm/backends/sync/index.js";
import { CacheUrl } from "../../src/internal/cache-url.js";
import { redisEndpointFromUrl } from "../../src/backends/redis/url.js";
import { freePort, needsRedis, RedisServer } from "../support/redis-server.js";

/** Text that must never appear anywhere once it is part of a password. */
const SECRET = "Zq7Xw9Kp";
const PASSWORD_CHARACTERS = ["/", "@", "?", "#", "+", ":", "&", "="] as const;
// A raw ":" in a user name ends it (the rest is the password), so it is tested percent-encoded only.
const USER_CHARACTERS = ["/", "@", "?", "#", "+", "&", "="] as const;
const SCHEMES = ["redis", "rediss", "redis+unix", "redis+cluster"] as const;

interface CredentialCase {
  readonly name: string;
  readonly username: string;
  readonly password: string;
  /** The user info as written in the URL. */
  readonly userInfo: string;
}

function credentialCases(): CredentialCase[] {
  const cases: CredentialCase[] = [];
  for (const character of PASSWORD_CHARACTERS) {
    const password = `${SECRET}${character}${SECRET}`;
    cases.push({ name: `password with raw ${character}`, username: "app", password, userInfo: `app:${password}` });
    cases.push({
      name: `password with encoded ${character}`,
      username: "app",
      password,
      userInfo: `app:${encodeURIComponent(password)}`,
    });
  }
  for (const character of [...USER_CHARACTERS, ":"]) {
    const username = `us${character}er`;
    const password = `${SECRET}/${SECRET}`;
    if (character !== ":") {
      cases.push({
        name: `user with raw ${character}`,
        username,
        password,
        userInfo: `${username}:${password}`,
      });
    }
    cases.push({
      name: `user with encoded ${character}`,
      username,
      password,
      userInfo: `${encodeURIComponent(username)}:${password}`,
    });
  }
  return cases;
}

function urlFor(scheme: (typeof SCHEMES)[number], userInfo: string, port: number, query: string): string {
  switch (scheme) {
    case "redis":
    case "rediss":
      return `${scheme}://${userInfo}@127.0.0.1:${String(port)}/0${query}`;
    case "redis+unix":
      return `redis+unix://${userInfo}@/tmp/cachetory-absent-${String(port)}.sock${query === "" ? "?db=0" : `${query}&db=0`}`;
    case "redis+cluster":
      return `redis+cluster://${userInfo}@127.0.0.1:${String(port)}${query}`;
  }
}

/** Every view of a value that a log line or a crash report could show. */
function views(subject: unknown): string[] {
  const shown = [inspect(subject, { depth: null, showHidden: true })];
  if (subject instanceof Error) {
    shown.push(subject.message, String(subject.stack), String(subject), JSON.stringify(subject));
    for (let cause: unknown = subject.cause; cause !== undefined; cause = (cause as { cause?: unknown }).cause) {
      shown.push(inspect(cause, { depth: null, showHidden: true }), String((cause as Error).stack));
    }
  }
  return shown;
}

function assertNoSecret(subject: unknown, what: string): void {
  for (const view of views(subject)) {
    assert.ok(!view.includes(SECRET), `${what} shows the password: ${view.slice(0, 400)}`);
  }
}

describe("credentials with URL delimiters", () => {
  const cases = credentialCases();

  it("decode exactly and are redacted by the same rule, on every scheme", () => {
    for (const scheme of SCHEMES) {
      for (const credential of cases) {
        const text = urlFor(scheme, credential.userInfo, 6379, "?timeout=100");
        const url = new CacheUrl(text);
        const endpoint = redisEndpointFromUrl(url, url.parametersFor(url.scheme));
        const label = `${scheme}, ${credential.name}`;
        assert.equal(endpoint.username, credential.username, label);
        assert.equal(endpoint.password, credential.password, label);
        assert.equal(url.scheme, scheme, label);
        assert.equal(url.parametersFor(scheme).text("timeout"), "100", label);
        for (const shown of [url.redacted, redactUrl(text), endpoint.redacted]) {
          assert.ok(!shown.includes(SECRET), `${label}: ${shown}`);
          assert.ok(shown.includes(":***@"), `${label}: ${shown}`);
        }
      }
    }
  });

  it("never quotes a malformed credential or socket path, and calls each a ConfigurationError", () => {
    for (const text of [
      `redis://app:${SECRET}%zz/${SECRET}@127.0.0.1:6379/0`,
      `redis+unix://app:${SECRET}%zz@/tmp/x.sock`,
      `redis+cluster://app%zz:${SECRET}@127.0.0.1:7000`,
      "redis+unix:///tmp/bad%zz.sock",
      `redis://app:${SECRET}@127.0.0.1:99999/0`,
    ]) {
      assert.throws(
        () => new RedisBackend({ url: text }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigurationError, `${text}: ${String(error)}`);
          assertNoSecret(error, text);
          return true;
        },
      );
    }
  });

  it("keeps the password out of timeouts, refusals and warnings on every scheme", needsRedis(), async () => {
    const closedPort = await freePort();
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on("warning", onWarning);
    const failures: [string, unknown][] = [];
    const caches: Cache[] = [];
    try {
      await Promise.all(
        SCHEMES.flatMap((scheme) =>
          cases.map(async (credential) => {
            const label = `${scheme}, ${credential.name}`;
            const backend = new RedisBackend({
              url: urlFor(scheme, credential.userInfo, closedPort, "?timeout=150&connect-timeout=100"),
            });
            assertNoSecret(backend, `inspect(backend) ${label}`);
            // No onError: the absorbed failure becomes a CachetoryWarning.
            const cache = new Cache({ backend, serializer: "json://", failedReads: "miss" });
            caches.push(cache);
            assertNoSecret(cache, `inspect(cache) ${label}`);
            assert.equal(await cache.get("k"), undefined);
            try {
              await cache.set("k", 1);
              failures.push([label, new Error("set did not fail")]);
            } catch (error) {
              failures.push([label, error]);
            }
          }),
        ),
      );
    } finally {
      await Promise.all(caches.map((cache) => cache.close()));
      process.off("warning", onWarning);
    }
    assert.equal(failures.length, SCHEMES.length * cases.length);
    for (const [label, error] of failures) {
      assert.ok(error instanceof Error && error.name === "BackendError", `${label}: ${String(error)}`);
      assertNoSecret(error, label);
    }
    const cachetoryWarnings = warnings.filter((warning) => warning.name === "CachetoryWarning");
    assert.ok(cachetoryWarnings.length >= SCHEMES.length * cases.length, String(cachetoryWarnings.length));
    for (const warning of cachetoryWarnings) assertNoSecret(warning, "CachetoryWarning");
  });

  it("keeps the password out of the synchronous backend's errors", needsRedis(), async () => {
    const closedPort = await freePort();
    for (const scheme of ["redis", "rediss", "redis+unix"] as const) {
      for (const credential of cases.filter((each) => each.name.startsWith("password"))) {
        const label = `sync ${scheme}, ${credential.name}`;
        const backend = new BuiltSyncRedisBackend({
          url: urlFor(scheme, credential.userInfo, closedPort, "?timeout=100&connect-timeout=100"),
        });
        try {
          assertNoSecret(backend, `inspect(backend) ${label}`);
          assert.throws(
            () => backend.get("k"),
            (error: unknown) => {
              assert.ok(error instanceof Error && error.name === "BackendError", `${label}: ${String(error)}`);
              assertNoSecret(error, label);
              return true;
            },
          );
        } finally {
          backend.close();
        }
      }
    }
  });
});

describe("credentials with URL delimiters against a real server", needsRedis(), () => {
  let server: RedisServer | undefined;
  const socket = `/tmp/cachetory-credentials-${String(process.pid)}.sock`;
  before(async () => {
    // A user may have several passwords: one ACL rule per user name, with every password of its cases.
    const passwords = new Map<string, Set<string>>();
    for (const { username, password } of credentialCases()) {
      passwords.set(username, (passwords.get(username) ?? new Set()).add(password));
    }
    const acl = [...passwords].flatMap(([username, each]) => [
      "--user",
      username,
      "on",
      ...[...each].map((password) => `>${password}`),
      "~*",
      "&*",
      "+@all",
    ]);
    server = await RedisServer.start({ arguments: [...acl, "--unixsocket", socket, "--unixsocketperm", "700"] });
  });
  after(async () => {
    await server?.stop();
  });

  it("authenticates every user and password, raw and encoded, over TCP and a unix socket", async () => {
    const port = (server as RedisServer).port;
    for (const credential of credentialCases()) {
      for (const url of [
        `redis://${credential.userInfo}@127.0.0.1:${String(port)}/0?timeout=2000`,
        `redis+unix://${credential.userInfo}@${socket}?db=0&timeout=2000`,
      ]) {
        const cache = new Cache<string>({ backend: url, serializer: "json://", prefix: "credentials:" });
        try {
          assert.equal(await cache.set(credential.name, credential.userInfo), true, redactUrl(url));
          assert.equal(await cache.get(credential.name), credential.userInfo, redactUrl(url));
        } finally {
          await cache.close();
        }
      }
    }
  });
});
