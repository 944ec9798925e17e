/**
 * A private PostgreSQL cluster for tests: `initdb` into a fresh directory and `pg_ctl` on a free loopback
 * port, both run as the `postgres` user (the server refuses to run as root), its socket in its own
 * directory. It is stopped by the postmaster's pid (from `postmaster.pid`), also when this process exits,
 * and never by name; the machine's own PostgreSQL on 5432 is left alone.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { freePort, serversRequired } from "./redis-server.js";

/** The newest of Debian's PostgreSQL binaries, or `PG_BIN` when set. */
function binaries(): string | undefined {
  const fromEnvironment = process.env["PG_BIN"];
  if (fromEnvironment !== undefined) return fromEnvironment;
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((name) => existsSync(join(root, name, "bin", "pg_ctl")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], "bin");
}

const BIN = binaries();

function postgresUser(): { uid: number; gid: number } | undefined {
  const probe = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
  const group = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
  if (probe.status !== 0 || group.status !== 0) return undefined;
  return { uid: Number(probe.stdout.trim()), gid: Number(group.stdout.trim()) };
}

/**
 * Why PostgreSQL tests cannot run here, or `undefined` when they can. With `CACHETORY_REQUIRE_SERVERS=1` a
 * missing server is thrown, so that CI fails instead of skipping.
 */
export function postgresUnavailableReason(): string | undefined {
  let reason: string | undefined;
  if (BIN === undefined) reason = "PostgreSQL's server binaries are not installed (apt-get install postgresql)";
  else if (postgresUser() === undefined) reason = "there is no postgres user to run the server as";
  else if (process.getuid?.() !== 0) reason = "the tests start PostgreSQL as the postgres user, which needs root";
  if (reason === undefined) return undefined;
  if (serversRequired) throw new Error(`CACHETORY_REQUIRE_SERVERS=1 but ${reason}`);
  console.log(`# skipping PostgreSQL tests: ${reason}`);
  return reason;
}

const RUNNING = new Set<PostgresServer>();
process.on("exit", () => {
  for (const server of RUNNING) server.killNow();
});

/** One private cluster. */
export class PostgresServer {
  readonly port: number;
  readonly directory: string;
  #pid: number | undefined;

  private constructor(port: number, directory: string) {
    this.port = port;
    this.directory = directory;
  }

  /**
   * `initdb` and start, as the postgres user, on a free port. `fsync` is off (a test cluster): a crash of
   * the server alone (P1) loses nothing, since the operating system keeps what was written.
   */
  static async start(): Promise<PostgresServer> {
    const user = postgresUser();
    if (BIN === undefined || user === undefined) throw new Error("PostgreSQL is not available");
    const directory = mkdtempSync("/tmp/cachetory-pg-");
    chownSync(directory, user.uid, user.gid);
    chmodSync(directory, 0o700);
    const data = join(directory, "data");
    asPostgres(["initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"]);
    const server = new PostgresServer(await freePort(), directory);
    server.startAgain();
    RUNNING.add(server);
    return server;
  }

  get data(): string {
    return join(this.directory, "data");
  }

  /** `postgres://postgres@127.0.0.1:PORT/postgres`, with `query` appended. */
  url(query = ""): string {
    return `postgres://postgres@127.0.0.1:${String(this.port)}/postgres${query}`;
  }

  /** A pool on the cluster, for looking at what a backend did. */
  pool(): pg.Pool {
    const pool = new pg.Pool({ host: "127.0.0.1", port: this.port, user: "postgres", database: "postgres", max: 4 });
    pool.on("error", () => undefined);
    return pool;
  }

  /** Starts the cluster (again) on its port, waiting until it accepts connections. */
  startAgain(): void {
    const options = [
      `-p ${String(this.port)}`,
      "-c listen_addresses=127.0.0.1",
      `-c unix_socket_directories=${this.directory}`,
      "-c fsync=off",
      "-c full_page_writes=off",
      "-c max_connections=200",
      "-c shared_buffers=32MB",
    ].join(" ");
    asPostgres([
      "pg_ctl",
      "start",
      "-w",
      "-t",
      "30",
      "-D",
      this.data,
      "-o",
      options,
      "-l",
      join(this.directory, "log"),
    ]);
    this.#pid = Number(readFileSync(join(this.data, "postmaster.pid"), "utf8").split("\n")[0]);
  }

  /** The postmaster's pid. */
  get pid(): number {
    if (this.#pid === undefined) throw new Error("PostgreSQL is not running");
    return this.#pid;
  }

  /** P1: `pg_ctl stop -m immediate`, the server ending every connection at once, as in a crash. */
  crash(): void {
    asPostgres(["pg_ctl", "stop", "-w", "-m", "immediate", "-D", this.data]);
    this.#pid = undefined;
  }

  /** Stops the server and removes its directory. */
  async stop(): Promise<void> {
    if (this.#pid !== undefined) asPostgres(["pg_ctl", "stop", "-w", "-m", "fast", "-D", this.data]);
    this.#pid = undefined;
    RUNNING.delete(this);
    rmSync(this.directory, { recursive: true, force: true });
    await Promise.resolve();
  }

  /** Immediate shutdown by pid (SIGQUIT), for the process's exit. */
  killNow(): void {
    if (this.#pid === undefined) return;
    try {
      process.kill(this.#pid, "SIGQUIT");
    } catch {
      // Already gone.
    }
    this.#pid = undefined;
  }
}

function asPostgres(command: readonly string[]): void {
  const [program = "", ...rest] = command;
  execFileSync("runuser", ["-u", "postgres", "--", join(BIN as string, program), ...rest], {
    stdio: ["ignore", "pipe", "pipe"],
    cwd: "/tmp",
  });
}
