import { connect, type Socket } from "node:net";
import { BackendError } from "../../errors.js";

/** One reply of the meta protocol: its status (`VA`, `HD`, `EN`, `NF`, `NS`, `EX`, `SERVER_ERROR`), flags and value. */
export interface MetaReply {
  readonly status: string;
  /** The return flags (`t60`, `f1`, `c42`), or the message of a `SERVER_ERROR`. */
  readonly flags: readonly string[];
  /** The data of a `VA` reply. */
  readonly value?: Buffer;
}

/** What one request waits for: a number of meta replies, or the lines of a `lru_crawler metadump` up to `END`. */
type Expecting = { readonly replies: number } | { readonly dump: true };

interface Pending {
  readonly expecting: Expecting;
  readonly replies: MetaReply[];
  readonly lines: string[];
  readonly deadline: number;
  resolve(value: MetaReply[] | string[]): void;
  reject(error: Error): void;
}

/** Where a server and its timings are, for one {@link MemcachedConnection}. */
export interface MemcachedConnectionOptions {
  readonly host: string;
  readonly port: number;
  /** A request not answered within this many milliseconds takes the server out. */
  readonly timeout: number;
  readonly connectTimeout: number;
  /** How long the server stays out after its first failure, doubled after each failed try up to `retryMax`. */
  readonly retry: number;
  readonly retryMax: number;
}

const CRLF = 0x0a;

/**
 * One pipelined connection to one memcached server: requests are written as they come and answered in
 * order, as memcached answers them. A server that refuses, drops the connection, or lets a request wait
 * past the timeout is taken out: its requests fail at once with `BackendError` until the retry delay has
 * passed, then the next request connects again (the delay doubles after each failed try, and starts over
 * after a success).
 */
export class MemcachedConnection {
  /** `host:port`, for messages. */
  readonly name: string;
  readonly #options: MemcachedConnectionOptions;
  #socket: Socket | undefined;
  /** Bumped at each new connection: a server's generation is known per connection. */
  #epoch = 0;
  readonly #pending: Pending[] = [];
  #buffer: Buffer = Buffer.alloc(0);
  /** Chunks of a large value not yet whole, and their length. */
  #parts: Buffer[] = [];
  #partsLength = 0;
  /** The header of the `VA` reply whose data is arriving, and the bytes it needs (data and CRLF). */
  #value: { readonly flags: string[]; readonly need: number } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #outUntil = 0;
  #retryDelay: number;
  #lastFailure = "";
  #closed = false;
  #corked = false;

  constructor(options: MemcachedConnectionOptions) {
    this.#options = options;
    this.name = `${options.host.includes(":") ? `[${options.host}]` : options.host}:${String(options.port)}`;
    this.#retryDelay = options.retry;
  }

  /** Increases at each new connection. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Whether the server is out (failed, and its retry delay has not passed). */
  get out(): boolean {
    return performance.now() < this.#outUntil;
  }

  /** Sends commands (one payload, written at once) and waits for `replies` meta replies. */
  request(payload: string | Buffer | readonly (string | Buffer)[], replies: number): Promise<MetaReply[]> {
    return this.#send(payload, { replies }) as Promise<MetaReply[]>;
  }

  /** Sends `lru_crawler metadump …` and waits for its lines. */
  dump(command: string): Promise<string[]> {
    return this.#send(command, { dump: true }) as Promise<string[]>;
  }

  #send(
    payload: string | Buffer | readonly (string | Buffer)[],
    expecting: Expecting,
  ): Promise<MetaReply[] | string[]> {
    if (this.#closed) return Promise.reject(new BackendError(`the connection to memcached at ${this.name} is closed`));
    const now = performance.now();
    if (now < this.#outUntil) {
      return Promise.reject(
        new BackendError(
          `memcached at ${this.name} is out after a failure (${this.#lastFailure}); tried again in ${String(Math.ceil(this.#outUntil - now))} ms`,
        ),
      );
    }
    const socket = this.#socket ?? this.#connect();
    return new Promise((resolve, reject) => {
      this.#pending.push({ expecting, replies: [], lines: [], deadline: now + this.#options.timeout, resolve, reject });
      // The requests of one tick leave in one write (one system call), as the replies of one arrive in one read.
      if (!this.#corked) {
        this.#corked = true;
        socket.cork();
        process.nextTick(() => {
          this.#corked = false;
          socket.uncork();
        });
      }
      if (typeof payload === "string" || Buffer.isBuffer(payload)) socket.write(payload);
      else for (const part of payload) socket.write(part);
      this.#timer ??= setTimeout(() => {
        this.#checkDeadlines();
      }, this.#options.timeout);
    });
  }

  #connect(): Socket {
    this.#epoch++;
    const socket = connect({ host: this.#options.host, port: this.#options.port, noDelay: true });
    this.#socket = socket;
    const connectTimer = setTimeout(() => {
      this.#fail(socket, `no connection within ${String(this.#options.connectTimeout)} ms`);
    }, this.#options.connectTimeout);
    socket.once("connect", () => {
      clearTimeout(connectTimer);
    });
    socket.on("data", (chunk: Buffer) => {
      this.#receive(socket, chunk);
    });
    socket.on("error", (error) => {
      clearTimeout(connectTimer);
      this.#fail(socket, error.message);
    });
    socket.on("close", () => {
      clearTimeout(connectTimer);
      this.#fail(socket, "the connection closed");
    });
    return socket;
  }

  /** Fails every request of `socket`'s connection and takes the server out for the retry delay. */
  #fail(socket: Socket, reason: string): void {
    if (this.#socket !== socket) return;
    this.#socket = undefined;
    socket.destroy();
    this.#buffer = Buffer.alloc(0);
    this.#parts = [];
    this.#partsLength = 0;
    this.#value = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#lastFailure = reason;
    if (!this.#closed) {
      this.#outUntil = performance.now() + this.#retryDelay;
      this.#retryDelay = Math.min(this.#retryDelay * 2, this.#options.retryMax);
    }
    const failed = this.#pending.splice(0);
    for (const pending of failed) {
      pending.reject(new BackendError(`memcached at ${this.name} failed: ${reason}`));
    }
  }

  #checkDeadlines(): void {
    this.#timer = undefined;
    const oldest = this.#pending[0];
    if (oldest === undefined) return;
    const now = performance.now();
    if (oldest.deadline <= now && this.#socket !== undefined) {
      // The replies are in order: the connection cannot skip one, so it goes, with the server.
      this.#fail(this.#socket, `no answer within ${String(this.#options.timeout)} ms`);
      return;
    }
    this.#timer = setTimeout(
      () => {
        this.#checkDeadlines();
      },
      Math.max(1, Math.ceil(oldest.deadline - now)),
    );
  }

  #receive(socket: Socket, chunk: Buffer): void {
    if (this.#value !== undefined && this.#buffer.length + this.#partsLength + chunk.length < this.#value.need) {
      // A large value arriving: keep its chunks and join them once, when it is whole.
      this.#parts.push(chunk);
      this.#partsLength += chunk.length;
      return;
    }
    const buffer =
      this.#buffer.length === 0 && this.#parts.length === 0
        ? chunk
        : Buffer.concat([this.#buffer, ...this.#parts, chunk]);
    this.#parts = [];
    this.#partsLength = 0;
    let offset = 0;
    try {
      while (offset < buffer.length) {
        const value = this.#value;
        if (value !== undefined) {
          if (buffer.length - offset < value.need) break;
          const end = offset + value.need - 2;
          if (buffer[end] !== 0x0d || buffer[end + 1] !== CRLF) throw new Error("a value did not end with CRLF");
          this.#value = undefined;
          this.#reply({ status: "VA", flags: value.flags, value: Buffer.from(buffer.subarray(offset, end)) });
          offset = end + 2;
          continue;
        }
        const newline = buffer.indexOf(CRLF, offset);
        if (newline === -1) break;
        const line = buffer.toString("latin1", offset, buffer[newline - 1] === 0x0d ? newline - 1 : newline);
        offset = newline + 1;
        this.#line(line);
      }
    } catch (error) {
      this.#fail(socket, `memcached's reply made no sense (${(error as Error).message})`);
      return;
    }
    this.#buffer = offset === buffer.length ? Buffer.alloc(0) : buffer.subarray(offset);
  }

  #line(line: string): void {
    const pending = this.#pending[0];
    if (pending === undefined) throw new Error(`an unasked reply ${JSON.stringify(line.slice(0, 40))}`);
    if ("dump" in pending.expecting) {
      if (line === "END") this.#settle(pending.lines);
      else if (line.startsWith("key=")) pending.lines.push(line);
      else if (line.startsWith("BUSY") || line.startsWith("ERROR") || line.startsWith("CLIENT_ERROR")) {
        this.#pending.shift();
        pending.reject(new BackendError(`memcached at ${this.name} could not list its keys: ${line}`));
      }
      return;
    }
    if (line.startsWith("SERVER_ERROR")) {
      this.#reply({ status: "SERVER_ERROR", flags: [line.slice("SERVER_ERROR ".length)] });
      return;
    }
    // A command memcached did not understand: what follows may not line up with the requests any more.
    if (line.startsWith("CLIENT_ERROR") || line === "ERROR") throw new Error(line);
    const tokens = line.split(" ");
    const status = tokens[0] as string;
    if (status === "VA") {
      const size = Number(tokens[1]);
      if (!Number.isSafeInteger(size) || size < 0) throw new Error(`a value of size ${String(tokens[1])}`);
      this.#value = { flags: tokens.slice(2), need: size + 2 };
      return;
    }
    this.#reply({ status, flags: tokens.slice(1) });
  }

  #reply(reply: MetaReply): void {
    const pending = this.#pending[0] as Pending;
    pending.replies.push(reply);
    if ("replies" in pending.expecting && pending.replies.length === pending.expecting.replies) {
      this.#settle(pending.replies);
    }
  }

  #settle(value: MetaReply[] | string[]): void {
    const pending = this.#pending.shift() as Pending;
    this.#retryDelay = this.#options.retry;
    if (this.#pending.length === 0 && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    pending.resolve(value);
  }

  /** Fails what is pending and closes the connection; idempotent. */
  close(): void {
    this.#closed = true;
    if (this.#socket !== undefined) this.#fail(this.#socket, "the backend closed");
  }
}
