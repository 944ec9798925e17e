/**
 * The Express and Fastify snippets of docs/integrations.md, run as they are written (extracted from the page)
 * against a real redis-server: the first request for a user is a miss, the next a hit served from Redis, and
 * the entry is in Redis under the snippet's prefix. Each server is started as a child process on a free
 * loopback port and stopped by its pid.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { Cache } from "../../src/cache/cache.js";
import { freePort, needsRedis, RedisServer } from "../support/redis-server.js";

const root = resolve(import.meta.dirname, "../..");
const requirement = needsRedis();
const server = requirement.skip === undefined ? await RedisServer.start() : undefined;
// Inside the package's folder, so that the snippets' `import … from "cachetory"` resolves by the package's name.
const directory = mkdtempSync(join(root, "test/.http-snippets-"));
after(async () => {
  rmSync(directory, { recursive: true, force: true });
  await server?.stop();
});

/** The first `ts` block under the heading `## <title>` of docs/integrations.md. */
function snippet(title: string): string {
  const page = readFileSync(join(root, "docs/integrations.md"), "utf8");
  const section = page.split(/^## /m).find((part) => part.startsWith(`${title}\n`));
  const code = section === undefined ? undefined : /```ts\n([\s\S]*?)\n```/.exec(section)?.[1];
  assert.ok(code !== undefined, `docs/integrations.md has no ts block under "## ${title}"`);
  return code;
}

/** Starts `file` with tsx; settles once it prints "listening". */
function start(file: string, port: number, redisUrl: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", file], {
    cwd: root,
    env: { ...process.env, PORT: String(port), REDIS_URL: redisUrl },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolveStarted, reject) => {
    let output = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${file} did not start: ${output}`));
    }, 20_000);
    const collect = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes("listening")) {
        clearTimeout(timer);
        resolveStarted(child);
      }
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited (${String(code)}): ${output}`));
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolveExit) => child.once("exit", resolveExit));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

describe("the HTTP snippets of docs/integrations.md", () => {
  for (const [title, database] of [
    ["Express", 12],
    ["Fastify", 13],
  ] as const) {
    it(`${title}: a miss, then a hit from Redis`, { skip: requirement.skip }, async () => {
      const file = join(directory, `${title.toLowerCase()}.ts`);
      writeFileSync(file, snippet(title));
      const port = await freePort();
      const url = server?.url(database) ?? "";
      const child = await start(file, port, url);
      try {
        const answers = [];
        for (let round = 0; round < 2; round++) {
          const response = await fetch(`http://127.0.0.1:${String(port)}/users/7`);
          answers.push({ cache: response.headers.get("x-cache"), body: await response.json() });
        }
        const user = { id: "7", name: "user 7" };
        assert.deepEqual(answers, [
          { cache: "miss", body: user },
          { cache: "hit", body: user },
        ]);
        await using stored = new Cache({ backend: url, serializer: "json://", prefix: "http:" });
        assert.deepEqual(await stored.get("user:7"), user);
      } finally {
        await stop(child);
      }
    });
  }
});
