/**
 * Private `redis-server` processes for tests: each on a free loopback port, started and stopped by
 * its pid (never by name), with the controls the fault tests need (SIGSTOP/SIGCONT, SIGKILL, restart
 * on the same port). The machine's own Redis on 6379 is never touched.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const REDIS_SERVER = process.env["REDIS_SERVER_BINARY"] ?? "redis-server";

/** Whether tests that need a server must fail (CI) instead of skipping when it is missing. */
export const serversRequired = process.env["CACHETORY_REQUIRE_SERVERS"] === "1";

/**
 * Why Redis tests cannot run here, or `undefined` when they can. With `CACHETORY_REQUIRE_SERVERS=1`
 * a missing server is thrown, so that CI fails instead of skipping.
 */
export function redisUnavailableReason(): string | undefined {
  const probe = spawnSync(REDIS_SERVER, ["--version"], { encoding: "utf8" });
  if (probe.status === 0) return undefined;
  const reason = `redis-server is not installed (apt-get install redis-server): ${probe.error?.message ?? probe.stderr}`;
  if (serversRequired) throw new Error(`CACHETORY_REQUIRE_SERVERS=1 but ${reason}`);
  console.log(`# skipping Redis tests: ${reason}`);
  return reason;
}

/** Test options that skip the test (with its reason) when Redis is missing. */
export function needsRedis(): { skip?: string } {
  const reason = redisUnavailableReason();
  return reason === undefined ? {} : { skip: reason };
}

/** A free TCP port on 127.0.0.1 (listen on port 0, read it, close). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/**
 * Sends one inline command to a Redis server and returns its first reply line, or with `whole` the
 * whole reply (waiting briefly for the rest of a bulk reply).
 */
export async function rawCommand(port: number, command: string, timeoutMs = 1000, whole = false): Promise<string> {
  const socket = new Socket();
  socket.setTimeout(timeoutMs);
  return new Promise<string>((resolve, reject) => {
    let reply = "";
    socket.on("data", (chunk: Buffer) => {
      reply += chunk.toString("latin1");
      const end = reply.indexOf("\r\n");
      const length = reply.startsWith("$") ? Number(reply.slice(1, end)) : 0;
      if (end >= 0 && (!whole || !reply.startsWith("$") || reply.length >= end + 2 + length)) {
        socket.destroy();
        resolve(whole ? reply : reply.slice(0, end));
      }
    });
    socket.on("timeout", () => {
      socket.destroy();
      reject(new Error(`no reply to ${command} within ${String(timeoutMs)} ms`));
    });
    socket.on("error", reject);
    socket.connect(port, "127.0.0.1", () => socket.write(`${command}\r\n`));
  });
}

export interface RedisServerOptions {
  /** Extra command-line arguments, e.g. `["--requirepass", "secret"]`. */
  readonly arguments?: readonly string[];
  /** A fixed port (for restarts); a free one by default. */
  readonly port?: number;
  /** The text of a config file, written in the server's own directory and given first (Sentinel needs one it can rewrite). */
  readonly config?: string;
  /** Runs as a sentinel (`--sentinel`; give its `sentinel monitor` lines in `config`). */
  readonly sentinel?: boolean;
}

/**
 * The servers started and not yet exited: a harness that dies (an uncaught error in a benchmark) must not
 * leave them behind, so each is stopped by the pid of the child we started, whatever way this process exits.
 */
const RUNNING = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of RUNNING) child.kill("SIGKILL");
});

/** One `redis-server` child process on 127.0.0.1. */
export class RedisServer {
  readonly port: number;
  readonly #arguments: readonly string[];
  readonly #leadingArguments: readonly string[];
  readonly #directory: string;
  #child: ChildProcess | undefined;

  private constructor(port: number, extraArguments: readonly string[], options: RedisServerOptions = {}) {
    this.port = port;
    this.#arguments = extraArguments;
    this.#directory = mkdtempSync(join(tmpdir(), "cachetory-redis-"));
    const leading: string[] = [];
    if (options.config !== undefined) {
      const file = join(this.#directory, "redis.conf");
      writeFileSync(file, options.config);
      leading.push(file);
    }
    if (options.sentinel === true) leading.push("--sentinel");
    this.#leadingArguments = leading;
  }

  /** Starts a server and waits until it answers PING. */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    for (let attempt = 0; ; attempt++) {
      const server = new RedisServer(options.port ?? (await freePort()), options.arguments ?? [], options);
      try {
        await server.#spawn();
        return server;
      } catch (error) {
        // Another process may have taken the port between freePort() and the spawn.
        await server.stop();
        if (options.port !== undefined || attempt >= 4) throw error;
      }
    }
  }

  /** `redis://127.0.0.1:PORT/db`. */
  url(database = 0): string {
    return `redis://127.0.0.1:${String(this.port)}/${String(database)}`;
  }

  /** The pid of the running child, for signals. */
  get pid(): number {
    const pid = this.#child?.pid;
    if (pid === undefined || this.#child?.exitCode !== null) throw new Error("redis-server is not running");
    return pid;
  }

  /** @param whileLoading - Return as soon as the server answers, even `-LOADING` (it is loading its data). */
  async #spawn(whileLoading = false): Promise<void> {
    const child = spawn(
      REDIS_SERVER,
      [
        ...this.#leadingArguments,
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        this.#directory,
        "--enable-debug-command",
        "local",
        "--busy-reply-threshold",
        "200",
        ...this.#arguments,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.#child = child;
    RUNNING.add(child);
    child.once("exit", () => RUNNING.delete(child));
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited (${String(child.exitCode)}): ${output}`);
      try {
        const reply = await rawCommand(this.port, "PING", 200);
        if (reply === "+PONG" || reply.startsWith("-NOAUTH")) return;
        if (whileLoading && reply.startsWith("-LOADING")) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on ${String(this.port)}: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Sends a signal to the server's pid. */
  kill(signal: NodeJS.Signals): void {
    process.kill(this.pid, signal);
  }

  /** Freezes the server (SIGSTOP): the TCP connections stay open, nothing answers. */
  pause(): void {
    this.kill("SIGSTOP");
  }

  /** Lets a paused server run again (SIGCONT). */
  resume(): void {
    this.kill("SIGCONT");
  }

  /** Kills the server with SIGKILL and waits for it to exit. */
  async crash(): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
  }

  /**
   * Starts the server again on the same port (after {@link crash} or {@link stop}); with
   * `whileLoading`, returns while it is still loading its saved data.
   */
  async restart(options: { whileLoading?: boolean } = {}): Promise<void> {
    await this.crash();
    await this.#spawn(options.whileLoading);
  }

  /** Stops the server (SIGCONT first, in case it is paused, then SIGKILL) and removes its directory. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGCONT");
      await this.crash();
    }
    rmSync(this.#directory, { recursive: true, force: true });
  }
}
