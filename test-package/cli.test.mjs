// The `cachetory` command as users get it: the package packed, installed into an empty project (with the
// `redis` peer), and its bin run as a child process against a real redis-server started here, including a
// value that Python wrote with pickle. Exit statuses, JSON output, streaming, clear's refusals, redaction.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { installPackedInto } from "./install-packed.mjs";
import { Cache } from "../src/cache/cache.ts";
import { findPython } from "../test/support/python.ts";
import { freePort, needsRedis, RedisServer } from "../test/support/redis-server.ts";

const root = new URL("..", import.meta.url).pathname;
const requirement = needsRedis();
const python = findPython(["redis"]);
let project;
let server;

function installPacked() {
  const folder = installPackedInto("cachetory-cli-", "cli-user");
  // The optional peer for redis://, from the package's own development install (no download).
  for (const name of ["redis", ...readdirSync(join(root, "node_modules/@redis")).map((entry) => `@redis/${entry}`)]) {
    mkdirSync(join(folder, "node_modules", name, ".."), { recursive: true });
    symlinkSync(join(root, "node_modules", name), join(folder, "node_modules", name), "dir");
  }
  return folder;
}

/** Runs the installed bin; its exit status and output. */
function cachetory(args, input) {
  return new Promise((resolve, reject) => {
    const child = spawn(join(project, "node_modules/.bin/cachetory"), args, { cwd: project, stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

const PYTHON_WRITER = `
import pickle, sys, redis
client = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), db=3)
value = {"name": "Ada", "tags": {1, 2}, "blob": b"\\x00\\x01", "big": 2 ** 70, "score": 1.5, "none": None}
client.set("py:user:1", pickle.dumps(value, protocol=4), px=60000)
print("ok")
`;

describe("the cachetory command, from the packed tarball", { skip: requirement.skip }, () => {
  let url;
  before(async () => {
    server = await RedisServer.start();
    url = server.url(3);
    project = installPacked();
    const cache = new Cache({ backend: url, serializer: "json://", prefix: "app:" });
    await cache.clear();
    await cache.set("user:1", { id: 1, name: "Ada" }, { timeToLive: "1h" });
    await cache.set("forever", "x");
    await cache.setMany(Array.from({ length: 3000 }, (_, index) => [`bulk:${String(index)}`, index]));
    await cache.close();
  });
  after(async () => {
    if (project) rmSync(project, { recursive: true, force: true });
    await server?.stop();
  });

  it("prints a value as JSON, a miss as exit 1, and names an undecodable value without deleting it", async () => {
    const found = await cachetory(["get", url, "user:1", "--prefix", "app:"]);
    assert.equal(found.status, 0, found.stderr);
    assert.deepEqual(JSON.parse(found.stdout), { id: 1, name: "Ada" });
    const missing = await cachetory(["get", url, "nobody", "--prefix", "app:"]);
    assert.deepEqual([missing.status, missing.stdout], [1, ""]);
    assert.match(missing.stderr, /no entry for "nobody"/);
  });

  it("reads what Python wrote with pickle, marking what JSON cannot hold", async () => {
    if ("reason" in python) {
      if (process.env.CACHETORY_REQUIRE_SERVERS === "1") assert.fail(python.reason);
      return;
    }
    assert.equal(spawnSync(python.python, ["-c", PYTHON_WRITER, String(server.port)], { encoding: "utf8" }).status, 0);
    const read = await cachetory(["get", url, "user:1", "--prefix", "py:", "--serializer", "pickle://"]);
    assert.equal(read.status, 0, read.stderr);
    assert.deepEqual(JSON.parse(read.stdout), {
      name: "Ada",
      tags: { $set: [1, 2] },
      blob: { $bytes: "AAE=" },
      big: { $bigint: "1180591620717411303424" },
      score: 1.5,
      none: null,
    });
    // With the wrong serializer: exit 2, a message that points at --serializer, and the value still there.
    const wrong = await cachetory(["get", url, "user:1", "--prefix", "py:"]);
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /try --serializer pickle:\/\//);
    const again = await cachetory(["ttl", url, "user:1", "--prefix", "py:"]);
    assert.equal(again.status, 0, "the undecodable value was not deleted");
  });

  it("streams keys, honours --match and --limit, and counts them", async () => {
    const all = await cachetory(["keys", url, "--prefix", "app:"]);
    assert.equal(all.status, 0, all.stderr);
    const keys = all.stdout.trim().split("\n");
    assert.equal(keys.length, 3002);
    assert.ok(keys.includes("user:1") && keys.includes("bulk:2999"));
    assert.equal(all.stderr, "", "no progress when stderr is not a terminal");
    const matched = await cachetory(["keys", url, "--prefix", "app:", "--match", "bulk:29??"]);
    assert.equal(matched.stdout.trim().split("\n").length, 100);
    const limited = await cachetory(["keys", url, "--prefix", "app:", "--limit", "10"]);
    assert.equal(limited.stdout.trim().split("\n").length, 10);
    const stats = await cachetory(["stats", "redis://:hunter2@" + url.slice("redis://".length), "--prefix", "app:"]);
    // The server has no password: node-redis's AUTH is refused, which the message names without the secret.
    assert.ok(!stats.stdout.includes("hunter2") && !stats.stderr.includes("hunter2"));
    const counted = await cachetory(["stats", url, "--prefix", "app:"]);
    assert.deepEqual(JSON.parse(counted.stdout), { backend: url, prefix: "app:", keys: 3002 });
    const badLimit = await cachetory(["keys", url, "--limit", "0"]);
    assert.equal(badLimit.status, 2);
    assert.match(badLimit.stderr, /--limit takes a whole number/);
  });

  it("tells the time left, and deletes", async () => {
    const timed = await cachetory(["ttl", url, "user:1", "--prefix", "app:"]);
    assert.ok(Number(timed.stdout) > 3_500_000 && Number(timed.stdout) <= 3_600_000, timed.stdout);
    assert.equal((await cachetory(["ttl", url, "forever", "--prefix", "app:"])).stdout, "none\n");
    assert.equal((await cachetory(["ttl", url, "nobody", "--prefix", "app:"])).status, 1);
    assert.deepEqual(await cachetory(["delete", url, "forever", "--prefix", "app:"]), {
      status: 0,
      stdout: "deleted\n",
      stderr: "",
    });
    assert.equal((await cachetory(["delete", url, "forever", "--prefix", "app:"])).status, 1);
  });

  it("clears a prefix only when told to, and never everything without --all --yes", async () => {
    const noPrefix = await cachetory(["clear", url]);
    assert.equal(noPrefix.status, 2);
    assert.match(noPrefix.stderr, /give --all --yes/);
    const noYes = await cachetory(["clear", url, "--prefix", "app:bulk:"]);
    assert.equal(noYes.status, 2, "stdin is not a terminal: it refuses instead of asking");
    assert.match(noYes.stderr, /give --yes/);
    const allNoYes = await cachetory(["clear", url, "--all"]);
    assert.equal(allNoYes.status, 2);
    const cleared = await cachetory(["clear", url, "--prefix", "app:bulk:", "--yes"]);
    assert.deepEqual([cleared.status, cleared.stdout], [0, "3000\n"]);
    const left = await cachetory(["keys", url, "--prefix", "app:"]);
    assert.deepEqual(left.stdout.trim().split("\n"), ["user:1"]);
  });

  it("explains usage and connection errors with exit 2, passwords redacted", async () => {
    const port = await freePort();
    const down = await cachetory(["get", `redis://:hunter2@127.0.0.1:${String(port)}/0?timeout=300`, "k"]);
    assert.equal(down.status, 2);
    assert.match(down.stderr, /timed out after 300 ms/);
    assert.ok(!down.stderr.includes("hunter2"), down.stderr);
    const unknown = await cachetory(["frobnicate", url]);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    const badOption = await cachetory(["get", url, "k", "--colour"]);
    assert.equal(badOption.status, 2);
    assert.match(badOption.stderr, /Unknown option '--colour'/);
    const badUrl = await cachetory(["get", "nosuch://x", "k"]);
    assert.equal(badUrl.status, 2);
    assert.match(badUrl.stderr, /nosuch/);
    for (const command of ["", "get", "keys", "ttl", "delete", "clear", "stats"]) {
      const help = await cachetory(command === "" ? ["--help"] : [command, "--help"]);
      assert.equal(help.status, 0, command);
      assert.match(help.stdout, /Usage: cachetory/, command);
    }
  });
});
