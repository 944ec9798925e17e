import { createHash } from "node:crypto";

/** One server of a memcached pool, as the ring places keys on it. */
export interface RingServer {
  readonly host: string;
  readonly port: number;
  /** Its share of the keys, relative to the others' (default 1: an equal share). */
  readonly weight?: number;
}

/** Hashes per server at an equal weight; each MD5 digest gives four points, so 160 points a server. */
const HASHES_PER_SERVER = 40;

function md5(bytes: string | Uint8Array): Buffer {
  return createHash("md5").update(bytes).digest();
}

/**
 * The ketama continuum of libketama, so that every ketama client of the same pool puts a key on the same
 * server: each server hashed as `host:port-i` for `i` below `floor(40 · servers · weight / total)`, each
 * MD5 digest read as four little-endian 32-bit points; a key goes to the first point at or after the
 * little-endian first word of its own MD5, wrapping round.
 *
 * libmemcached writes a server on the default port 11211 as `host-i` (no port), so it agrees only for
 * pools on other ports; the original libketama, spymemcached and most ports of it always write the port.
 *
 * @example
 * ```ts
 * const ring = new KetamaRing([{ host: "10.0.1.1", port: 11211 }, { host: "10.0.1.2", port: 11211 }]);
 * ring.serverFor(Buffer.from("user:1")); // 0 or 1, the index of the server in the list
 * ```
 */
export class KetamaRing {
  /** The points, ascending. */
  readonly #points: Uint32Array;
  /** The server (its index in the list) of each point. */
  readonly #owners: Uint16Array;
  readonly #servers: number;

  constructor(servers: readonly RingServer[]) {
    if (servers.length === 0 || servers.length > 65_535) throw new RangeError("a ring holds 1 to 65 535 servers");
    this.#servers = servers.length;
    const total = servers.reduce((sum, server) => sum + (server.weight ?? 1), 0);
    const points: [number, number][] = [];
    servers.forEach((server, index) => {
      const share = (server.weight ?? 1) / total;
      const hashes = Math.floor(share * HASHES_PER_SERVER * servers.length);
      for (let repetition = 0; repetition < hashes; repetition++) {
        const digest = md5(`${server.host}:${String(server.port)}-${String(repetition)}`);
        for (let word = 0; word < 4; word++) points.push([digest.readUInt32LE(word * 4), index]);
      }
    });
    // Equal points (a 1-in-2^32 chance) keep the earlier server's, as a stable sort leaves them.
    points.sort((a, b) => a[0] - b[0]);
    this.#points = Uint32Array.from(points, ([point]) => point);
    this.#owners = Uint16Array.from(points, ([, owner]) => owner);
  }

  /** The index of the server that holds `key` (its bytes as sent, before any encoding for the wire). */
  serverFor(key: Uint8Array): number {
    if (this.#servers === 1) return 0;
    const point = keyPoint(key);
    let low = 0;
    let high = this.#points.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.#points[middle] as number) < point) low = middle + 1;
      else high = middle;
    }
    return this.#owners[low === this.#points.length ? 0 : low] as number;
  }
}

/** Where a key falls on the continuum: the little-endian first 32 bits of its MD5. */
export function keyPoint(key: Uint8Array): number {
  return md5(key).readUInt32LE(0);
}
