import { ConfigurationError } from "../errors.js";
import type { CacheUrl } from "./cache-url.js";

/** A server's address as a URL names it. */
export interface HostAndPort {
  readonly host: string;
  readonly port: number;
}

/**
 * A port of a URL, checked.
 *
 * @throws ConfigurationError naming the range, with the URL's password hidden.
 */
export function parsePort(text: string, url: CacheUrl): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new ConfigurationError(
      `the port must be an integer 1–65535 in ${JSON.stringify(url.redacted)}, got ${JSON.stringify(text)}`,
    );
  }
  return port;
}

/**
 * `host`, `host:port`, `[v6]:port` or `:port` (the host then 127.0.0.1), as the remote backends' URLs list
 * their servers.
 *
 * @throws ConfigurationError for a malformed host or port.
 */
export function parseHostAndPort(text: string, url: CacheUrl, defaultPort: number): HostAndPort {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]*)(?::(.*))?$/.exec(text);
  if (match === null) throw new ConfigurationError(`invalid host in ${JSON.stringify(url.redacted)}`);
  const [, host = "", port] = match;
  return {
    host: host === "" ? "127.0.0.1" : host.replace(/^\[(.*)\]$/, "$1"),
    port: port === undefined ? defaultPort : parsePort(port, url),
  };
}
