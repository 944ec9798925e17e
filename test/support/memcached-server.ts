/**
 * Private `memcached` processes for tests (Debian's package): each on a free loopback port, started and
 * stopped by the pid of the child we spawned, never by name; killed, frozen and restarted on the same port
 * for the fault tests.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { Socket } from "node:net";
import { freePort, serversRequired } from "./redis-server.js";

const MEMCACHED = process.env["MEMCACHED_BINARY"] ?? "memcached";

/** Test options that skip (with the reason) when memcached is missing; with `CACHETORY_REQUIRE_SERVERS=1`, throws. */
export function needsMemcached(): { skip?: string } {
  const probe = spawnSync(MEMCACHED, ["-V"], { encoding: "utf8" });
  if (probe.status === 0) return {};
  const reason = `memcached is not installed (apt-get install memcached): ${probe.error?.message ?? probe.stderr}`;
  if (serversRequired) throw new Error(`CACHETORY_REQUIRE_SERVERS=1 but ${reason}`);
  console.log(`# skipping memcached tests: ${reason}`);
  return { skip: reason };
}

const RUNNING = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of RUNNING) child.kill("SIGKILL");
});

/** Sends raw text to a memcached server and returns what it answered by the time `until` appears. */
export async function memcachedCommand(
  port: number,
  command: string,
  until = "\r\n",
  timeoutMs = 1000,
): Promise<string> {
  const socket = new Socket();
  socket.setTimeout(timeoutMs);
  return new Promise<string>((resolve, reject) => {
    let reply = "";
    socket.on("data", (chunk: Buffer) => {
      reply += chunk.toString("latin1");
      if (reply.includes(until)) {
        socket.destroy();
        resolve(reply);
      }
    });
    socket.on("timeout", () => {
      socket.destroy();
      reject(new Error(`no reply to ${JSON.stringify(command.slice(0, 40))} within ${String(timeoutMs)} ms`));
    });
    socket.on("error", reject);
    socket.connect(port, "127.0.0.1", () => socket.write(command));
  });
}

/** One `memcached` child process on 127.0.0.1. */
export class MemcachedServer {
  readonly port: number;
  readonly #arguments: readonly string[];
  #child: ChildProcess | undefined;

  private constructor(port: number, extraArguments: readonly string[]) {
    this.port = port;
    this.#arguments = extraArguments;
  }

  /** Starts a server (64 MB, 1 MB items unless `arguments` say otherwise) and waits until it answers. */
  static async start(
    options: { readonly arguments?: readonly string[]; readonly port?: number } = {},
  ): Promise<MemcachedServer> {
    for (let attempt = 0; ; attempt++) {
      const server = new MemcachedServer(options.port ?? (await freePort()), options.arguments ?? []);
      try {
        await server.#spawn();
        return server;
      } catch (error) {
        await server.stop();
        if (options.port !== undefined || attempt >= 4) throw error;
      }
    }
  }

  /** `127.0.0.1:PORT`, as a memcached URL lists it. */
  get address(): string {
    return `127.0.0.1:${String(this.port)}`;
  }

  get pid(): number {
    const pid = this.#child?.pid;
    if (pid === undefined || this.#child?.exitCode !== null) throw new Error("memcached is not running");
    return pid;
  }

  async #spawn(): Promise<void> {
    const root = process.getuid?.() === 0 ? ["-u", "root"] : [];
    const child = spawn(
      MEMCACHED,
      ["-l", "127.0.0.1", "-p", String(this.port), "-U", "0", "-m", "64", ...root, ...this.#arguments],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    this.#child = child;
    RUNNING.add(child);
    child.once("exit", () => RUNNING.delete(child));
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`memcached exited (${String(child.exitCode)}): ${output}`);
      try {
        if ((await memcachedCommand(this.port, "mn\r\n", "\r\n", 200)).startsWith("MN")) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`memcached did not answer on ${String(this.port)}: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Freezes the server (SIGSTOP): connections stay open, nothing answers. */
  pause(): void {
    process.kill(this.pid, "SIGSTOP");
  }

  resume(): void {
    process.kill(this.pid, "SIGCONT");
  }

  /** Kills the server at once (SIGKILL), as a crash would, and waits for it to be gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
  }

  /** Starts it again on the same port (empty, as memcached keeps nothing). */
  async restart(): Promise<void> {
    await this.kill();
    await this.#spawn();
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGCONT");
    child.kill("SIGTERM");
    await exited;
  }
}
