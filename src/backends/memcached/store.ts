import { BackendError } from "../../errors.js";
import { escapeGlob, globMatcher } from "../../internal/glob.js";
import { FailedRead } from "../../layers/read-batcher.js";
import type { HostAndPort } from "../../internal/host-port.js";
import { quoteKey } from "../../internal/quote-key.js";
import type { AsyncBackend, BackendScanOptions, BackendScanPage, BackendSetOptions } from "../contract.js";
import { MemcachedConnection, type MetaReply } from "./connection.js";
import { isGeneration, type MemcachedKey, MemcachedKeys, newGeneration } from "./keys.js";
import { KetamaRing } from "./ring.js";
import type { MemcachedTimings } from "./url.js";

/** Seconds beyond which memcached reads an expiry as a Unix time rather than a delay. */
const RELATIVE_LIMIT_SECONDS = 30 * 24 * 3600;
/** The latest Unix time memcached takes (its expiry is a signed 32-bit number). */
const LATEST_UNIX_TIME = 2 ** 31 - 1;
/** The client flag of a value that carries its key (a hashed key's). */
const CARRIES_KEY = 1;
/** Tries of one batch when the server's generation changed under it (another instance cleared). */
const GENERATION_TRIES = 3;
/** Tries of a key listing while another client's listing keeps memcached's crawler busy. */
const LISTING_TRIES = 20;
/**
 * How long one server's key listing may take. Listings go over a connection of their own, so that a long
 * one never holds up, or times out, the operations behind it.
 */
const LISTING_TIMEOUT = 30_000;

/**
 * memcached's `T` token for a time to live in milliseconds: whole seconds rounded up; beyond 30 days the
 * Unix time it ends at (memcached reads a larger number as one), at most 2038-01-19, its last.
 */
export function expiryToken(timeToLive: number, now: number = Date.now()): string {
  const seconds = Math.ceil(timeToLive / 1000);
  if (seconds <= RELATIVE_LIMIT_SECONDS) return `T${String(seconds)}`;
  return `T${String(Math.min(Math.ceil(now / 1000) + seconds, LATEST_UNIX_TIME))}`;
}

interface KnownGeneration {
  readonly generation: string;
  /** The connection it was read on: a new connection may be to a restarted server, so it is read again. */
  readonly epoch: number;
}

/**
 * The operations as meta-protocol commands over one pipelined connection per server, each key on the
 * server the ketama ring gives it. Every batch to a server starts with a read of the namespace's
 * generation on that server, so that a `clear()` by any instance is seen by the very next batch: when the
 * generation is not the one the batch was built with, the batch is built again.
 */
export class MemcachedStore implements AsyncBackend<Buffer> {
  readonly #connections: MemcachedConnection[];
  readonly #listers: MemcachedConnection[];
  readonly #ring: KetamaRing;
  readonly #keys: MemcachedKeys;
  readonly #generations: (KnownGeneration | undefined)[];
  readonly #generationCheck: string;

  constructor(servers: readonly HostAndPort[], namespace: string, timings: MemcachedTimings) {
    this.#connections = servers.map(
      ({ host, port }) =>
        new MemcachedConnection({
          host,
          port,
          timeout: timings.timeout,
          connectTimeout: timings.connectTimeout,
          retry: timings.serverRetry,
          retryMax: timings.serverRetryMax,
        }),
    );
    this.#listers = this.#connections.map(
      (_connection, index) =>
        new MemcachedConnection({
          ...(servers[index] as HostAndPort),
          timeout: Math.max(LISTING_TIMEOUT, timings.timeout),
          connectTimeout: timings.connectTimeout,
          retry: timings.serverRetry,
          retryMax: timings.serverRetryMax,
        }),
    );
    this.#ring = new KetamaRing(servers);
    this.#keys = new MemcachedKeys(namespace);
    this.#generations = servers.map(() => undefined);
    this.#generationCheck = `mg ${this.#keys.generationKey} v\r\n`;
  }

  /** The servers' names, in the URL's order. */
  get serverNames(): readonly string[] {
    return this.#connections.map((connection) => connection.name);
  }

  /** The index of the server that holds `key`. */
  serverOf(key: string): number {
    return this.#serverOf(this.#keys.encode(key));
  }

  async #generationOf(server: number): Promise<string> {
    const connection = this.#connections[server] as MemcachedConnection;
    const known = this.#generations[server];
    if (known !== undefined && known.epoch === connection.epoch) return known.generation;
    let [reply] = await connection.request(this.#generationCheck, 1);
    if (reply?.status !== "VA") {
      // None yet (a new or restarted server): add one; whoever adds first, everyone reads the same.
      const fresh = newGeneration();
      [, reply] = await connection.request([this.#generationWrite(fresh, " ME"), this.#generationCheck], 2);
    }
    let generation = reply?.value?.toString("latin1") ?? "";
    if (!isGeneration(generation)) {
      // Something else wrote the key: take it back.
      generation = newGeneration();
      await this.#expect(connection, this.#generationWrite(generation), "HD");
    }
    this.#generations[server] = { generation, epoch: connection.epoch };
    return generation;
  }

  /** The command that stores `generation` as the namespace's (with `flags`, such as `" ME"` to add only). */
  #generationWrite(generation: string, flags = ""): string {
    return `ms ${this.#keys.generationKey} ${String(generation.length)}${flags}\r\n${generation}\r\n`;
  }

  async #expect(connection: MemcachedConnection, command: string, status: string): Promise<void> {
    const [reply] = await connection.request(command, 1);
    if (reply?.status !== status) {
      throw new BackendError(
        `memcached at ${connection.name} answered ${describeReply(reply)} to a write of its generation`,
      );
    }
  }

  /**
   * Runs the commands `build` makes for `server` under its generation, after the check of the generation,
   * in one round trip; again when the generation changed meanwhile.
   */
  async #run(
    server: number,
    build: (generation: string) => { readonly parts: (string | Buffer)[]; readonly replies: number },
  ): Promise<MetaReply[]> {
    const connection = this.#connections[server] as MemcachedConnection;
    for (let attempt = 0; attempt < GENERATION_TRIES; attempt++) {
      const generation = await this.#generationOf(server);
      const { parts, replies } = build(generation);
      const answers = await connection.request([this.#generationCheck, ...parts], replies + 1);
      const seen = answers[0]?.status === "VA" ? answers[0].value?.toString("latin1") : undefined;
      if (seen === generation) return answers.slice(1);
      this.#generations[server] =
        seen !== undefined && isGeneration(seen) ? { generation: seen, epoch: connection.epoch } : undefined;
    }
    throw new BackendError(`the generation of memcached at ${connection.name} kept changing (clears in a loop?)`);
  }

  #serverOf(key: MemcachedKey): number {
    return this.#connections.length === 1 ? 0 : this.#ring.serverFor(this.#keys.placement(key));
  }

  /** The encoded keys grouped by server, each with its place in `keys`. */
  #byServer(keys: readonly string[]): Map<number, { encoded: MemcachedKey; index: number }[]> {
    const groups = new Map<number, { encoded: MemcachedKey; index: number }[]>();
    keys.forEach((key, index) => {
      const encoded = this.#keys.encode(key);
      const server = this.#serverOf(encoded);
      let group = groups.get(server);
      if (group === undefined) groups.set(server, (group = []));
      group.push({ encoded, index });
    });
    return groups;
  }

  /** One command for `key` (encoded once, by the caller when it needs the form too), answered by one reply. */
  #one(key: string | MemcachedKey, command: (token: string, binary: string) => string): Promise<MetaReply> {
    const encoded = typeof key === "string" ? this.#keys.encode(key) : key;
    return this.#oneWith(encoded, (generation) => [command(...this.#keys.token(encoded, generation))]);
  }

  #checked(reply: MetaReply | undefined, server: number, key: string): MetaReply {
    if (reply === undefined) throw new BackendError(`memcached at ${this.#nameOf(server)} sent no reply`);
    if (reply.status === "SERVER_ERROR") {
      const message = reply.flags.join(" ");
      const tooLarge = /too large/i.test(message);
      throw new BackendError(
        tooLarge
          ? `the value of key ${quoteKey(key)} is over the item size of memcached at ${this.#nameOf(server)} (its -I, 1 MB by default); nothing was stored`
          : `memcached at ${this.#nameOf(server)} failed on key ${quoteKey(key)}: ${message}`,
        { key },
      );
    }
    return reply;
  }

  #nameOf(server: number): string {
    return (this.#connections[server] as MemcachedConnection).name;
  }

  /** The value of a `VA` reply for `key`, unwrapped when it carries its key; `undefined` for a miss. */
  #valueOf(reply: MetaReply, key: MemcachedKey): Buffer | undefined {
    if (reply.status !== "VA" || reply.value === undefined) return undefined;
    const flags = Number(reply.flags.find((flag) => flag.startsWith("f"))?.slice(1) ?? "0");
    if ((flags & CARRIES_KEY) === 0) return key.hashed ? undefined : reply.value;
    const carried = carriedKey(reply.value);
    return carried?.key === key.key ? carried.value : undefined;
  }

  async get(key: string): Promise<Buffer | undefined> {
    const encoded = this.#keys.encode(key);
    const reply = await this.#one(encoded, (token, binary) => `mg ${token}${binary} v f\r\n`);
    return this.#valueOf(reply, encoded);
  }

  /** One round trip per server, its keys' reads pipelined; fails when any server fails. */
  async getMany(keys: readonly string[]): Promise<Map<string, Buffer>> {
    const found = new Map<string, Buffer>();
    // In the order asked, whichever server answered first.
    const outcomes = await this.#readServers(keys);
    for (const key of keys) {
      const outcome = outcomes.get(key);
      if (outcome instanceof FailedRead) throw outcome.error;
      if (outcome !== undefined) found.set(key, outcome);
    }
    return found;
  }

  /**
   * The values of `keys` in their order (`undefined` for an absent one), one round trip per server; the
   * keys of a server that fails are a {@link FailedRead} each, so that a dead server takes down its own
   * keys, not the whole tick's.
   */
  async readBatch(keys: readonly string[]): Promise<readonly (Buffer | undefined | FailedRead)[]> {
    const outcomes = await this.#readServers(keys);
    return keys.map((key) => outcomes.get(key));
  }

  async #readServers(keys: readonly string[]): Promise<Map<string, Buffer | FailedRead>> {
    const outcomes = new Map<string, Buffer | FailedRead>();
    await Promise.all(
      [...this.#byServer(keys)].map(async ([server, group]) => {
        try {
          const replies = await this.#run(server, (generation) => ({
            parts: group.map(({ encoded }) => {
              const [token, binary] = this.#keys.token(encoded, generation);
              return `mg ${token}${binary} v f\r\n`;
            }),
            replies: group.length,
          }));
          group.forEach(({ encoded }, index) => {
            const value = this.#valueOf(this.#checked(replies[index], server, encoded.key), encoded);
            if (value !== undefined) outcomes.set(encoded.key, value);
          });
        } catch (error) {
          const failed = new FailedRead(error);
          for (const { encoded } of group) outcomes.set(encoded.key, failed);
        }
      }),
    );
    return outcomes;
  }

  #storeCommand(
    encoded: MemcachedKey,
    generation: string,
    value: Buffer,
    timeToLive: number | undefined,
    ifNotExists: boolean,
  ): (string | Buffer)[] {
    const [token, binary] = this.#keys.token(encoded, generation);
    const data = encoded.hashed ? carrying(encoded.key, value) : value;
    const expiry = timeToLive === undefined ? "" : ` ${expiryToken(timeToLive)}`;
    const flags = encoded.hashed ? ` F${String(CARRIES_KEY)}` : "";
    return [
      `ms ${token} ${String(data.length)}${binary}${expiry}${flags}${ifNotExists ? " ME" : ""}\r\n`,
      data,
      "\r\n",
    ];
  }

  async set(key: string, value: Buffer, options: BackendSetOptions): Promise<boolean> {
    const encoded = this.#keys.encode(key);
    const ifNotExists = options.ifNotExists === true;
    const stored = await this.#oneWith(encoded, (generation) =>
      this.#storeCommand(encoded, generation, value, options.timeToLive, ifNotExists),
    );
    if (stored.status === "HD") return true;
    if (stored.status === "NS" && ifNotExists) return false;
    throw new BackendError(`memcached refused to store key ${quoteKey(key)}: ${describeReply(stored)}`, { key });
  }

  async #oneWith(encoded: MemcachedKey, build: (generation: string) => (string | Buffer)[]): Promise<MetaReply> {
    const server = this.#serverOf(encoded);
    const [reply] = await this.#run(server, (generation) => ({ parts: build(generation), replies: 1 }));
    return this.#checked(reply, server, encoded.key);
  }

  /** Pipelined per server; not atomic (memcached has no transactions). */
  async setMany(entries: readonly (readonly [string, Buffer])[], timeToLive: number | undefined): Promise<void> {
    const groups = this.#byServer(entries.map(([key]) => key));
    await Promise.all(
      [...groups].map(async ([server, group]) => {
        const replies = await this.#run(server, (generation) => ({
          parts: group.flatMap(({ encoded, index }) =>
            this.#storeCommand(
              encoded,
              generation,
              (entries[index] as readonly [string, Buffer])[1],
              timeToLive,
              false,
            ),
          ),
          replies: group.length,
        }));
        group.forEach(({ encoded }, index) => {
          const reply = this.#checked(replies[index], server, encoded.key);
          if (reply.status !== "HD") {
            throw new BackendError(`memcached refused to store key ${quoteKey(encoded.key)}: ${describeReply(reply)}`, {
              key: encoded.key,
            });
          }
        });
      }),
    );
  }

  async expireIn(key: string, timeToLive: number | undefined): Promise<boolean> {
    const expiry = timeToLive === undefined ? "T0" : expiryToken(timeToLive);
    const reply = await this.#one(key, (token, binary) => `mg ${token}${binary} ${expiry}\r\n`);
    return reply.status === "HD";
  }

  async delete(key: string): Promise<boolean> {
    const reply = await this.#one(key, (token, binary) => `md ${token}${binary}\r\n`);
    return reply.status === "HD";
  }

  async deleteMany(keys: readonly string[]): Promise<number> {
    const distinct = [...new Set(keys)];
    let removed = 0;
    await Promise.all(
      [...this.#byServer(distinct)].map(async ([server, group]) => {
        const replies = await this.#run(server, (generation) => ({
          parts: group.map(({ encoded }) => {
            const [token, binary] = this.#keys.token(encoded, generation);
            return `md ${token}${binary}\r\n`;
          }),
          replies: group.length,
        }));
        group.forEach(({ encoded }, index) => {
          if (this.#checked(replies[index], server, encoded.key).status === "HD") removed++;
        });
      }),
    );
    return removed;
  }

  async has(key: string): Promise<boolean> {
    const reply = await this.#one(key, (token, binary) => `mg ${token}${binary}\r\n`);
    return reply.status === "HD";
  }

  async ttl(key: string): Promise<number | null | undefined> {
    const reply = await this.#one(key, (token, binary) => `mg ${token}${binary} t\r\n`);
    if (reply.status !== "HD") return undefined;
    const seconds = Number(reply.flags.find((flag) => flag.startsWith("t"))?.slice(1));
    if (seconds === -1) return null;
    return Number.isFinite(seconds) ? Math.max(1, seconds * 1000) : undefined;
  }

  /** Reads the value with its CAS, then deletes it with that CAS: another writer's value since is kept. */
  async deleteIfUnchanged(key: string, value: Buffer): Promise<boolean> {
    const encoded = this.#keys.encode(key);
    const read = await this.#one(encoded, (token, binary) => `mg ${token}${binary} v f c\r\n`);
    const current = this.#valueOf(read, encoded);
    const cas = read.flags.find((flag) => flag.startsWith("c"))?.slice(1);
    if (current === undefined || cas === undefined || !current.equals(value)) return false;
    const reply = await this.#one(encoded, (token, binary) => `md ${token}${binary} C${cas}\r\n`);
    return reply.status === "HD";
  }

  /**
   * One page per server: the keys `lru_crawler metadump` lists on it, of this namespace and generation,
   * unexpired and matching. memcached cannot list from a cursor, so a page is one server's whole list.
   */
  async scan(cursor: string, options: BackendScanOptions): Promise<BackendScanPage> {
    const server = cursor === "0" ? 0 : Number(cursor);
    if (!Number.isSafeInteger(server) || server < 0 || server >= this.#connections.length) {
      throw new BackendError(`scan cursor ${JSON.stringify(cursor)} is not one memcached's scan returned`);
    }
    const matches = options.match === undefined ? () => true : globMatcher(options.match);
    const keys = (await this.#listed(server)).filter(matches);
    return { keys, cursor: server + 1 === this.#connections.length ? "0" : String(server + 1) };
  }

  /** The keys of `server` (this namespace, its generation, unexpired). */
  async #listed(server: number): Promise<string[]> {
    const connection = this.#connections[server] as MemcachedConnection;
    const generation = await this.#generationOf(server);
    let lines: string[] | undefined;
    for (let attempt = 0; lines === undefined; attempt++) {
      try {
        lines = await (this.#listers[server] as MemcachedConnection).dump("lru_crawler metadump all\r\n");
      } catch (error) {
        // Another client's listing holds the crawler: wait for it a little.
        if (attempt + 1 >= LISTING_TRIES || !/BUSY/.test((error as Error).message)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }
    const now = Date.now() / 1000;
    const keys: string[] = [];
    const hashed: string[] = [];
    for (const line of lines) {
      const fields = new Map(line.split(" ").map((field) => field.split("=", 2) as [string, string]));
      const expires = Number(fields.get("exp"));
      if (expires !== -1 && !(expires > now)) continue;
      const decoded = this.#keys.decode(fields.get("key") ?? "", generation);
      if (typeof decoded === "string") keys.push(decoded);
      else if (decoded !== undefined) hashed.push(decoded.hashedToken);
    }
    if (hashed.length > 0) {
      // A hashed key's name is in its value.
      const replies = await connection.request(
        hashed.map((token) => `mg ${token} b v f\r\n`),
        hashed.length,
      );
      for (const reply of replies) {
        const carried = reply.status === "VA" && reply.value !== undefined ? carriedKey(reply.value) : undefined;
        if (carried !== undefined) keys.push(carried.key);
      }
    }
    return keys;
  }

  /**
   * Without a prefix, a new generation on every server: every key of the namespace is gone at once (and
   * memcached reclaims their memory as it needs it), never `flush_all`. With one, the prefix's keys, listed
   * server by server, deleted in pipelined batches.
   */
  async clear(prefix: string, step: <T>(send: () => Promise<T>) => Promise<T> = (send) => send()): Promise<void> {
    if (prefix === "") {
      const results = await step(() =>
        Promise.allSettled(
          this.#connections.map(async (connection, server) => {
            const generation = newGeneration();
            await this.#expect(connection, this.#generationWrite(generation), "HD");
            this.#generations[server] = { generation, epoch: connection.epoch };
          }),
        ),
      );
      const failed = results.flatMap((result, server) => (result.status === "rejected" ? [this.#nameOf(server)] : []));
      if (failed.length > 0) {
        throw new BackendError(
          `clear reached ${String(results.length - failed.length)} of ${String(results.length)} memcached servers: the keys on ${failed.join(", ")} remain`,
          { cause: results.find((result) => result.status === "rejected")?.reason },
        );
      }
      return;
    }
    const match = `${escapeGlob(prefix)}*`;
    let cursor = "0";
    do {
      const page = await this.scan(cursor, { match });
      for (let start = 0; start < page.keys.length; start += 1000) {
        const batch = page.keys.slice(start, start + 1000);
        await step(() => this.deleteMany(batch));
      }
      cursor = page.cursor;
    } while (cursor !== "0");
  }

  close(): Promise<void> {
    for (const connection of [...this.#connections, ...this.#listers]) connection.close();
    return Promise.resolve();
  }
}

/** A value framed with its key: the key's length (4 bytes), the key, the value. */
function carrying(key: string, value: Buffer): Buffer {
  const keyBytes = Buffer.from(key, "utf8");
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(keyBytes.length);
  return Buffer.concat([header, keyBytes, value]);
}

function carriedKey(framed: Buffer): { key: string; value: Buffer } | undefined {
  if (framed.length < 4) return undefined;
  const length = framed.readUInt32BE(0);
  if (4 + length > framed.length) return undefined;
  return { key: framed.toString("utf8", 4, 4 + length), value: framed.subarray(4 + length) };
}

function describeReply(reply: MetaReply | undefined): string {
  return reply === undefined ? "nothing" : [reply.status, ...reply.flags].join(" ");
}
