import { isIP } from "node:net";
import { ConfigurationError } from "../../../errors.js";
import { loadOptional } from "../../../internal/load-optional.js";
import type { RedisEndpoint, RedisTimings } from "../url.js";
import {
  groupBySlot,
  loadSlotFunction,
  type MasterSender,
  type RedisCommand,
  type RedisDriver,
  ConnectionLifecycle,
  reconnectDelay,
} from "./driver.js";
import { Invalidations } from "./invalidations.js";

/** The event-emitter part of a node-redis client or cluster. */
export interface NodeRedisEmitter {
  readonly isOpen: boolean;
  /** The options it was created with (RESP version, tracking). */
  readonly options?:
    { readonly RESP?: number; readonly emitInvalidate?: boolean; readonly defaults?: object } | undefined;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  destroy(): void;
  on(event: string, listener: (...parameters: unknown[]) => void): unknown;
  off(event: string, listener: (...parameters: unknown[]) => void): unknown;
}

/**
 * A node-redis (`redis` ^5 or ^6) client, as `createClient()` returns it.
 *
 * @example
 * ```ts
 * import { createClient } from "redis";
 * const backend = new RedisBackend(createClient({ url: "redis://127.0.0.1:6379/0" }));
 * ```
 */
export interface NodeRedisClientLike extends NodeRedisEmitter {
  /** Sends a raw command. */
  sendCommand(args: RedisCommand, options?: object): Promise<unknown>;
  /** Starts a MULTI/EXEC transaction. */
  multi(): { addCommand(args: RedisCommand): unknown; exec(): Promise<unknown> };
  /** A view of the client that maps RESP types to JavaScript types. */
  withTypeMapping(mapping: object): NodeRedisClientLike;
}

/**
 * A node-redis (`redis` ^5 or ^6) cluster client, as `createCluster()` returns it.
 *
 * @example
 * ```ts
 * import { createCluster } from "redis";
 * const backend = new RedisBackend(createCluster({ rootNodes: [{ url: "redis://10.0.0.1:7000" }] }));
 * ```
 */
export interface NodeRedisClusterLike extends NodeRedisEmitter {
  /** Sends a raw command to the node that owns `firstKey`. */
  sendCommand(
    firstKey: string | Buffer | undefined,
    isReadonly: boolean | undefined,
    args: RedisCommand,
  ): Promise<unknown>;
  /** Starts a MULTI/EXEC transaction on the node that owns the keys. */
  multi(): {
    addCommand(firstKey: string | Buffer | undefined, isReadonly: boolean | undefined, args: RedisCommand): unknown;
    exec(): Promise<unknown>;
  };
  /** The master nodes. */
  readonly masters: readonly unknown[];
  /** The client of one node. */
  nodeClient(node: never): Promise<NodeRedisClientLike> | NodeRedisClientLike;
  /** A view of the cluster client that maps RESP types to JavaScript types. */
  withTypeMapping(mapping: object): NodeRedisClusterLike;
}

/**
 * A node-redis (`redis` ^5 or ^6) Sentinel client, as `createSentinel()` returns it: the master of one
 * name, found and followed through failovers by asking the sentinels.
 *
 * @example
 * ```ts
 * import { createSentinel } from "redis";
 * const backend = new RedisBackend(
 *   createSentinel({ name: "mymaster", sentinelRootNodes: [{ host: "10.0.0.1", port: 26379 }] }),
 * );
 * ```
 */
export interface NodeRedisSentinelLike extends NodeRedisEmitter {
  /** Sends a raw command (to the master unless `isReadonly` and replicas are pooled). */
  sendCommand(isReadonly: boolean | undefined, args: RedisCommand, options?: object): Promise<unknown>;
  /** Starts a MULTI/EXEC transaction on the master. */
  multi(): { addCommand(isReadonly: boolean | undefined, args: RedisCommand): unknown; exec(): Promise<unknown> };
  /** Where the master is now, as the sentinels last said. */
  getMasterNode(): { readonly host: string; readonly port: number } | undefined;
  /** A view of the client that maps RESP types to JavaScript types. */
  withTypeMapping(mapping: object): NodeRedisSentinelLike;
}

/** The first node-redis release that reports invalidations (`emitInvalidate`). */
const FIRST_TRACKING_RELEASE = [5, 9];

/**
 * Whether a client tracks its reads and reports invalidations: created with RESP 3 and `emitInvalidate`
 * (a cluster: `emitInvalidate` in its `defaults`).
 */
export function tracksChanges(client: NodeRedisClientLike | NodeRedisClusterLike): boolean {
  if (isNodeRedisCluster(client)) {
    // A cluster keeps its options as `_options`.
    const options = (client as { _options?: NodeRedisEmitter["options"] })._options;
    return (
      options?.RESP === 3 && (options.defaults as { emitInvalidate?: unknown } | undefined)?.emitInvalidate === true
    );
  }
  return client.options?.RESP === 3 && client.options.emitInvalidate === true;
}

/**
 * The options that make a client we create track its reads.
 *
 * @throws ConfigurationError when the installed node-redis is older than 5.9, which ignores `emitInvalidate`.
 */
function trackingOptions(scheme: string): { RESP: 3; emitInvalidate: true } {
  const { version } = loadOptional("redis/package.json", `${scheme}:// with a near tier`) as { version: string };
  const [major = 0, minor = 0] = version.split(".").map(Number);
  const [neededMajor = 5, neededMinor = 9] = FIRST_TRACKING_RELEASE;
  if (major < neededMajor || (major === neededMajor && minor < neededMinor)) {
    throw new ConfigurationError(
      `a near tier over Redis needs node-redis 5.9 or newer, which reports invalidations; "redis" ${version} is installed: run \`npm install redis@latest\``,
    );
  }
  return { RESP: 3, emitInvalidate: true };
}

interface NodeRedisModule {
  createClient(options: object): NodeRedisClientLike;
  createCluster(options: object): NodeRedisClusterLike;
  createSentinel(options: object): NodeRedisSentinelLike;
  RESP_TYPES: { BLOB_STRING: number };
}

/** The `redis` package, or a `ConfigurationError` that says how to install it. */
export function loadNodeRedis(scheme: string): NodeRedisModule {
  return loadOptional("redis", `${scheme}://`) as NodeRedisModule;
}

/** Blob strings as Buffers, so that values stay binary. */
function binaryMapping(): object {
  // The RESP type code of a blob string is the same in every node-redis 5/6 release: "$".
  return { [36]: Buffer };
}

/**
 * The socket options of every client we create. node-redis's `connectTimeout` covers the TCP connect
 * only; `socketTimeout` also ends a handshake that never completes (a server that accepts and never
 * answers), so that the client tries again. It is never shorter than an operation's deadline.
 */
function socketTimings(timings: RedisTimings): object {
  return { ...connectTimings(timings), socketTimeout: Math.max(timings.connectTimeout, timings.timeout) };
}

/** How long connecting may take, and how long to wait between attempts. */
export function connectTimings(timings: RedisTimings): {
  connectTimeout: number;
  reconnectStrategy: (retries: number) => number;
} {
  return {
    connectTimeout: timings.connectTimeout,
    reconnectStrategy: (retries: number) => reconnectDelay(retries, timings.reconnectMaxDelay),
  };
}

/** A PING on idle connections, twice per socket timeout, keeps a healthy idle socket from timing out. */
function pingInterval(timings: RedisTimings): number {
  return Math.max(100, Math.floor(Math.max(timings.connectTimeout, timings.timeout) / 2));
}

/**
 * node-redis 6 gives every command a 5 s timeout by default, made of an `AbortSignal.timeout` per
 * command: that allocation and its listeners made GETs 3× slower than node-redis 5 at 64 in flight
 * (97 k against 312 k/s). Our deadline guard already bounds every operation, so the clients we create
 * go without it.
 */
const OUR_DEADLINE_ONLY = { timeout: 0 };

/** Whether `client` looks like a node-redis Sentinel client. */
export function isNodeRedisSentinel(client: object): client is NodeRedisSentinelLike {
  return "getMasterNode" in client && "getSentinelNode" in client;
}

/** Whether `client` looks like a node-redis cluster client (as opposed to a single-node client). */
export function isNodeRedisCluster(client: object): client is NodeRedisClusterLike {
  return "masters" in client && "nodeClient" in client;
}

/** Whether `client` looks like a node-redis client or cluster. */
export function isNodeRedis(client: object): client is NodeRedisClientLike | NodeRedisClusterLike {
  return "sendCommand" in client && "isReady" in client && "withTypeMapping" in client;
}

/** The lifecycle shared by the single-node and the cluster driver. */
abstract class NodeRedisLifecycle<C extends NodeRedisEmitter> {
  protected readonly client: C;
  readonly #owned: boolean;
  readonly #lifecycle = new ConnectionLifecycle();

  readonly #events: { readonly ready: string; readonly errors: readonly string[] };
  /** What to say while connecting with no error yet (a TLS handshake a plain server never answers). */
  readonly #connectingHint: string | undefined;

  /** The server's invalidations, when the client tracks its reads. */
  readonly invalidations: Invalidations | undefined;
  /** What the client emits when its connections may have missed invalidations. */
  readonly #lostEvents: readonly string[];

  /**
   * @param events - What the client emits when it becomes ready (`ready` for a client, `connect` for a
   *   cluster), when something fails (a cluster also reports `node-error`), and, when it tracks its reads,
   *   when a connection may have missed invalidations (dropped, reconnecting, replaced).
   */
  protected constructor(
    client: C,
    owned: boolean,
    events: { ready: string; errors: readonly string[]; lost: readonly string[] },
    connectingHint?: string,
  ) {
    this.#connectingHint = connectingHint;
    this.client = client;
    this.#owned = owned;
    this.#events = events;
    // An "error" event without a listener would crash the process.
    for (const event of events.errors) client.on(event, this.#lifecycle.onError);
    client.on(events.ready, this.#lifecycle.onReady);
    this.invalidations = tracksChanges(client as never) ? new Invalidations() : undefined;
    this.#lostEvents = this.invalidations === undefined ? [] : events.lost;
    if (this.invalidations !== undefined)
      for (const event of this.#lostEvents) client.on(event, this.invalidations.lost);
  }

  get ready(): boolean {
    return this.client.isReady;
  }

  get lastErrorMessage(): string | undefined {
    return this.#lifecycle.lastErrorMessage ?? this.#connectingHint;
  }

  get refusal(): string | undefined {
    return this.#lifecycle.refusal;
  }

  whenReady(): Promise<void> {
    return this.#lifecycle.whenReady(() => {
      if (!this.client.isOpen) this.connect();
    });
  }

  /** Starts connecting; the client retries by itself from then on. */
  protected connect(): void {
    this.client.connect().then(this.connected, this.#lifecycle.onError);
  }

  /**
   * After a connection completes: a client we own that was closed meanwhile is torn down again. A
   * `destroy()` that comes while node-redis is still creating the socket finds none to end, and the
   * socket it then creates finishes its handshake with the client counted closed: it would stay open
   * and keep the process alive (seen with `close()` 1 ms after the first call).
   */
  protected readonly connected = (): void => {
    if (!this.#lifecycle.closed || !this.#owned) return;
    try {
      this.client.destroy();
    } catch {
      // node-redis 5 refuses to destroy a client it counts closed; there is nothing left to end then.
    }
  };

  /** Records a connection error for messages. */
  protected recordError(error: unknown): void {
    this.#lifecycle.onError(error);
  }

  /**
   * node-redis reports a failed cluster discovery only as "All the root nodes are unavailable"; the
   * reason came just before as an error event. Keep both, and name the usual mistake: a single server
   * that is not in cluster mode.
   */
  protected recordDiscoveryFailure(error: unknown): void {
    const why = this.#lifecycle.lastErrorMessage;
    const message = error instanceof Error ? error.message : String(error);
    if (why === undefined || why === message) {
      this.#lifecycle.onError(error);
      return;
    }
    const hint = /cluster support disabled/i.test(why) ? " (a single server, not in cluster mode: use redis://)" : "";
    this.#lifecycle.explain(`${message}: ${why}${hint}`);
  }

  close(): Promise<void> {
    if (!this.#lifecycle.close()) return Promise.resolve();
    if (this.#owned) {
      // destroy(), not close(): QUIT would wait for replies that a hung server never sends.
      if (this.client.isOpen) this.client.destroy();
    }
    this.client.off(this.#events.ready, this.#lifecycle.onReady);
    const invalidations = this.invalidations;
    if (invalidations !== undefined) for (const event of this.#lostEvents) this.client.off(event, invalidations.lost);
    // Keep swallowing errors of a client we own: it may still report the socket it is tearing down.
    if (!this.#owned) for (const event of this.#events.errors) this.client.off(event, this.#lifecycle.onError);
    return Promise.resolve();
  }
}

/** A single Redis server through node-redis. */
export class NodeRedisDriver extends NodeRedisLifecycle<NodeRedisClientLike> implements RedisDriver {
  readonly #binary: NodeRedisClientLike;

  /** @param connectingHint - What to say while connecting with no error yet. */
  constructor(client: NodeRedisClientLike, owned: boolean, connectingHint?: string) {
    // A dropped connection may have missed invalidations. What is read on the next one is tracked again:
    // its handshake turns tracking on before any command of ours is sent on it.
    super(client, owned, { ready: "ready", errors: ["error"], lost: ["error", "end", "reconnecting"] }, connectingHint);
    this.#binary = client.withTypeMapping(binaryMapping());
    const invalidations = this.invalidations;
    if (invalidations === undefined) return;
    client.on("invalidate", invalidations.onInvalidate);
  }

  /**
   * Creates the client for a `redis://`, `rediss://` or `redis+unix://` endpoint; with `tracking`, over
   * RESP3 with `CLIENT TRACKING ON` in every handshake, reporting invalidations.
   */
  static create(endpoint: RedisEndpoint, timings: RedisTimings, tracking = false): NodeRedisDriver {
    const scheme = endpoint.transport === "unix" ? "redis+unix" : "redis";
    const redis = loadNodeRedis(scheme);
    const node = endpoint.nodes[0];
    const socket =
      endpoint.transport === "unix"
        ? { path: endpoint.path }
        : {
            host: node?.host,
            port: node?.port,
            // The server name is for certificates of host names; Node refuses (DEP0123) an IP address there.
            ...(endpoint.transport === "tls"
              ? { tls: true, ...(isIP(node?.host ?? "") === 0 ? { servername: node?.host } : {}) }
              : {}),
          };
    const client = redis.createClient({
      // The parts, never the URL: a client error can then never quote the password.
      socket: { ...socket, ...socketTimings(timings) },
      pingInterval: pingInterval(timings),
      ...(endpoint.username === undefined ? {} : { username: endpoint.username }),
      ...(endpoint.password === undefined ? {} : { password: endpoint.password }),
      database: endpoint.database,
      // Commands wait in our deadline guard, never in an unbounded client queue.
      disableOfflineQueue: true,
      commandOptions: OUR_DEADLINE_ONLY,
      ...(tracking ? trackingOptions(scheme) : {}),
    });
    const hint =
      endpoint.transport === "tls"
        ? "the TLS handshake got no answer yet (a server without TLS on that port never answers it)"
        : undefined;
    return new NodeRedisDriver(client, true, hint);
  }

  send(command: RedisCommand): Promise<unknown> {
    return this.#binary.sendCommand(command);
  }

  async transaction(commands: readonly RedisCommand[]): Promise<unknown[]> {
    const multi = this.#binary.multi();
    for (const command of commands) multi.addCommand(command);
    return (await multi.exec()) as unknown[];
  }

  readonly isCluster = false;

  checkTopology(): void {
    // One server: no slots to move.
  }

  override close(): Promise<void> {
    const invalidations = this.invalidations;
    if (invalidations !== undefined) this.client.off("invalidate", invalidations.onInvalidate);
    return super.close();
  }

  groupKeys(keys: readonly string[]): string[][] {
    return [[...keys]];
  }

  masters(): Promise<MasterSender[]> {
    return Promise.resolve([(command) => this.#binary.sendCommand(command)]);
  }
}

/** Redis Cluster through node-redis: commands routed by key, batches split by hash slot. */
export class NodeRedisClusterDriver extends NodeRedisLifecycle<NodeRedisClusterLike> implements RedisDriver {
  readonly #binary: NodeRedisClusterLike;
  readonly #reconnectMaxDelay: number;
  readonly #slotOf: (key: string) => number;
  #connecting = false;
  #failedAttempts = 0;
  #retryTimer: NodeJS.Timeout | undefined;

  /** The node clients whose invalidations we listen to. */
  readonly #trackedNodes = new WeakSet();
  /** The list of masters as of the last check: node-redis replaces it whenever it rediscovers the slots. */
  #mastersSeen: readonly unknown[] | undefined;

  constructor(client: NodeRedisClusterLike, owned: boolean, reconnectMaxDelay: number) {
    super(client, owned, {
      ready: "connect",
      errors: ["error", "node-error"],
      lost: ["node-error", "node-reconnecting", "node-disconnect", "disconnect"],
    });
    this.#binary = client.withTypeMapping(binaryMapping());
    this.#reconnectMaxDelay = reconnectMaxDelay;
    this.#slotOf = loadSlotFunction();
    if (this.invalidations !== undefined) {
      client.on("node-ready", this.#listenToNodes);
      client.on("connect", this.#listenToNodes);
    }
  }

  /**
   * Listens to the invalidations of every master's connection we do not listen to yet. node-redis emits
   * `node-ready` from the node's own `ready`, before any command is sent on that connection.
   */
  readonly #listenToNodes = (): void => {
    const invalidations = this.invalidations;
    if (invalidations === undefined) return;
    this.#mastersSeen = this.client.masters;
    for (const master of this.client.masters) {
      const node = (master as { client?: NodeRedisEmitter } | null)?.client;
      if (node === undefined || this.#trackedNodes.has(node)) continue;
      this.#trackedNodes.add(node);
      node.on("invalidate", invalidations.onInvalidate);
    }
  };

  /**
   * A key read from a node that has since lost its slot is invalidated by the migration itself (the key
   * is deleted there); a new list of masters (slots rediscovered after a MOVED, a failover) is reported
   * as `lost` all the same, as node-redis's own client-side cache does.
   */
  checkTopology(): void {
    const invalidations = this.invalidations;
    if (invalidations === undefined || this.client.masters === this.#mastersSeen) return;
    this.#listenToNodes();
    invalidations.lost();
  }

  override async close(): Promise<void> {
    this.client.off("node-ready", this.#listenToNodes);
    this.client.off("connect", this.#listenToNodes);
    clearTimeout(this.#retryTimer);
    await super.close();
  }

  /** Creates the cluster client for a `redis+cluster://` endpoint; with `tracking`, every node's connection tracks. */
  static create(endpoint: RedisEndpoint, timings: RedisTimings, tracking = false): NodeRedisClusterDriver {
    const redis = loadNodeRedis("redis+cluster");
    const trackingOn = tracking ? trackingOptions("redis+cluster") : undefined;
    const cluster = redis.createCluster({
      rootNodes: endpoint.nodes.map(({ host, port }) => ({ socket: { host, port } })),
      ...(trackingOn === undefined ? {} : { RESP: 3 }),
      defaults: {
        ...(trackingOn ?? {}),
        socket: socketTimings(timings),
        pingInterval: pingInterval(timings),
        ...(endpoint.username === undefined ? {} : { username: endpoint.username }),
        ...(endpoint.password === undefined ? {} : { password: endpoint.password }),
        disableOfflineQueue: true,
        commandOptions: OUR_DEADLINE_ONLY,
      },
    });
    return new NodeRedisClusterDriver(cluster, true, timings.reconnectMaxDelay);
  }

  /** Discovering the slots fails as a whole when no seed answers; retry it with backoff. */
  protected override connect(): void {
    if (this.#connecting || this.#retryTimer !== undefined) return;
    this.#connecting = true;
    this.client.connect().then(
      () => {
        this.#connecting = false;
        this.#failedAttempts = 0;
        this.connected();
      },
      (error: unknown) => {
        this.#connecting = false;
        this.recordDiscoveryFailure(error);
        this.#retryTimer = setTimeout(
          () => {
            this.#retryTimer = undefined;
            if (!this.client.isOpen) this.connect();
          },
          reconnectDelay(this.#failedAttempts++, this.#reconnectMaxDelay),
        );
        this.#retryTimer.unref();
      },
    );
  }

  send(command: RedisCommand, key: string | undefined): Promise<unknown> {
    return this.#binary.sendCommand(key, false, command);
  }

  async transaction(commands: readonly RedisCommand[], key: string | undefined): Promise<unknown[]> {
    const multi = this.#binary.multi();
    for (const command of commands) multi.addCommand(key, false, command);
    return (await multi.exec()) as unknown[];
  }

  readonly isCluster = true;

  groupKeys(keys: readonly string[]): string[][] {
    return groupBySlot(keys, this.#slotOf);
  }

  masters(): Promise<MasterSender[]> {
    return Promise.all(
      this.#binary.masters.map(async (master): Promise<MasterSender> => {
        const node = await this.#binary.nodeClient(master as never);
        return (command) => node.sendCommand(command);
      }),
    );
  }
}

/**
 * The master of a Redis Sentinel deployment through node-redis's Sentinel client, which asks the
 * sentinels where the master is and follows it through failovers. Every command goes to the master: a
 * cache reads what it just wrote, which a replica may not have yet.
 */
export class NodeRedisSentinelDriver extends NodeRedisLifecycle<NodeRedisSentinelLike> implements RedisDriver {
  readonly #binary: NodeRedisSentinelLike;

  constructor(client: NodeRedisSentinelLike, owned: boolean) {
    // node-redis emits "reconnecting" when the master it follows goes away (a failover under way).
    super(client, owned, { ready: "ready", errors: ["error"], lost: [] });
    this.#binary = client.withTypeMapping(binaryMapping());
  }

  send(command: RedisCommand): Promise<unknown> {
    return this.#binary.sendCommand(false, command);
  }

  async transaction(commands: readonly RedisCommand[]): Promise<unknown[]> {
    const multi = this.#binary.multi();
    for (const command of commands) multi.addCommand(false, command);
    return (await multi.exec()) as unknown[];
  }

  readonly isCluster = false;

  checkTopology(): void {
    // Invalidations are not offered over Sentinel: nothing to report.
  }

  groupKeys(keys: readonly string[]): string[][] {
    return [[...keys]];
  }

  masters(): Promise<MasterSender[]> {
    return Promise.resolve([(command) => this.#binary.sendCommand(false, command)]);
  }
}
