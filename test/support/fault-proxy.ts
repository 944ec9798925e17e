/**
 * A TCP proxy on 127.0.0.1 between a client and a private redis-server, with the network faults of the
 * fault tests. `blackhole` holds traffic rather than dropping it, as a partition that heals does (TCP
 * retransmits; it never loses bytes silently in the middle of a stream).
 */
import { once } from "node:events";
import { createServer, type Server, Socket } from "node:net";

export type ProxyMode =
  | { readonly kind: "pass" }
  | { readonly kind: "latency"; readonly milliseconds: number }
  | { readonly kind: "blackhole" }
  | { readonly kind: "blackholeHandshake" }
  | { readonly kind: "truncateAfter"; readonly bytes: number };

interface Link {
  readonly client: Socket;
  readonly server: Socket;
  /** Bytes held while the link is blackholed, per direction. */
  readonly held: { toServer: Buffer[]; toClient: Buffer[] };
  /** A link opened under blackholeHandshake holds everything until the mode changes. */
  holding: boolean;
  repliedBytes: number;
}

export class FaultProxy {
  readonly port: number;
  readonly #targetPort: number;
  readonly #server: Server;
  readonly #links = new Set<Link>();
  #mode: ProxyMode = { kind: "pass" };
  /** Connections accepted so far. */
  connections = 0;
  /** Chunks the clients sent (each is at least one command). */
  clientWrites = 0;

  private constructor(server: Server, port: number, targetPort: number) {
    this.#server = server;
    this.port = port;
    this.#targetPort = targetPort;
    server.on("connection", (client: Socket) => {
      this.#accept(client);
    });
  }

  /** Starts a proxy to `127.0.0.1:targetPort` on a free loopback port. */
  static async start(targetPort: number): Promise<FaultProxy> {
    const server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    return new FaultProxy(server, address.port, targetPort);
  }

  /** `redis://127.0.0.1:<proxy port>/db`. */
  url(database = 0): string {
    return `redis://127.0.0.1:${String(this.port)}/${String(database)}`;
  }

  /** Changes the fault; leaving a blackhole delivers what it held. */
  set mode(mode: ProxyMode) {
    this.#mode = mode;
    for (const link of this.#links) link.repliedBytes = 0;
    if (mode.kind === "blackhole" || mode.kind === "blackholeHandshake") return;
    for (const link of this.#links) {
      link.holding = false;
      for (const chunk of link.held.toServer.splice(0)) link.server.write(chunk);
      for (const chunk of link.held.toClient.splice(0)) link.client.write(chunk);
    }
  }

  /** Destroys every open connection (both sides), like a reset from the network. */
  resetAll(): void {
    for (const link of this.#links) {
      link.client.destroy();
      link.server.destroy();
    }
    this.#links.clear();
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    this.resetAll();
    if (this.#server.listening) {
      this.#server.close();
      await once(this.#server, "close");
    }
  }

  #accept(client: Socket): void {
    this.connections++;
    const server = new Socket();
    const link: Link = {
      client,
      server,
      held: { toServer: [], toClient: [] },
      holding: this.#mode.kind === "blackholeHandshake",
      repliedBytes: 0,
    };
    this.#links.add(link);
    const drop = (): void => {
      client.destroy();
      server.destroy();
      this.#links.delete(link);
    };
    client.on("error", drop).on("close", drop);
    server.on("error", drop).on("close", drop);
    server.connect(this.#targetPort, "127.0.0.1");
    client.on("data", (chunk: Buffer) => {
      this.clientWrites++;
      this.#forward(link, chunk, "toServer");
    });
    server.on("data", (chunk: Buffer) => {
      this.#forward(link, chunk, "toClient");
    });
  }

  #forward(link: Link, chunk: Buffer, direction: "toServer" | "toClient"): void {
    const target = direction === "toServer" ? link.server : link.client;
    const mode = this.#mode;
    if (link.holding || mode.kind === "blackhole") {
      link.held[direction].push(chunk);
      return;
    }
    if (mode.kind === "latency") {
      setTimeout(() => target.write(chunk), mode.milliseconds);
      return;
    }
    if (mode.kind === "truncateAfter" && direction === "toClient") {
      const room = mode.bytes - link.repliedBytes;
      link.repliedBytes += chunk.length;
      if (room < chunk.length) {
        // Cut the reply mid-frame, then drop the connection.
        if (room > 0) link.client.write(chunk.subarray(0, room));
        link.client.destroy();
        link.server.destroy();
        return;
      }
    }
    target.write(chunk);
  }
}
