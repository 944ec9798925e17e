import { ConfigurationError } from "../errors.js";

const URL_SHAPE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^?#]*)(?:\?([^#]*))?(#.*)?$/s;
const USER_INFO = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^@/?#]*)@/s;
const SECRET_PARAMETER = /([?&](?:password|pass|secret|token|auth)=)[^&#]*/gi;

/**
 * Hides the password (and secret-looking query parameters) of a URL, so that it can go into an error
 * message or a log line.
 *
 * @example
 * ```ts
 * redactUrl("redis://app:S3cret@cache:6379/0"); // "redis://app:***@cache:6379/0"
 * ```
 */
export function redactUrl(url: string): string {
  return url
    .replace(USER_INFO, (_match, scheme: string, userInfo: string) => {
      const colon = userInfo.indexOf(":");
      return colon === -1 ? `${scheme}***@` : `${scheme}${userInfo.slice(0, colon)}:***@`;
    })
    .replace(SECRET_PARAMETER, "$1***");
}

/** Bounds and default of an integer URL parameter. */
export interface IntegerParameter {
  readonly min: number;
  readonly max?: number;
  readonly default: number;
}

/**
 * The query parameters of a cache URL as one layer of it (one backend, or one serializer of a `+`
 * chain) sees them. Each read records the name, so that the parameters nobody read can be reported as
 * unknown once every layer has been built.
 */
export class UrlParameters {
  readonly #search: URLSearchParams;
  readonly #read: Set<string>;
  /** The layer's scheme, used in messages: `zlib` in `msgpack+zlib://`. */
  readonly scheme: string;

  constructor(search: URLSearchParams, scheme: string, read: Set<string>) {
    this.#search = search;
    this.scheme = scheme;
    this.#read = read;
  }

  /** The raw text of a parameter, or `undefined` when absent. */
  text(name: string): string | undefined {
    this.#read.add(name);
    return this.#search.get(name) ?? undefined;
  }

  /**
   * An integer parameter within bounds.
   *
   * @throws ConfigurationError naming the parameter and its allowed range.
   */
  integer(name: string, bounds: IntegerParameter): number {
    const text = this.text(name);
    if (text === undefined) return bounds.default;
    const value = /^[+-]?\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
    const withinMax = bounds.max === undefined || value <= bounds.max;
    if (!Number.isSafeInteger(value) || value < bounds.min || !withinMax) {
      const range =
        bounds.max === undefined ? `≥ ${String(bounds.min)}` : `${String(bounds.min)}–${String(bounds.max)}`;
      throw new ConfigurationError(
        `${name} must be an integer ${range} for ${this.scheme}://, got ${JSON.stringify(text)}`,
      );
    }
    return value;
  }
}

/**
 * A cache URL split into its parts: `scheme://location?parameters`. Built by the registries; a factory
 * receives one {@link UrlParameters} view per layer.
 */
export class CacheUrl {
  /** The whole scheme, lower-cased: `msgpack+zstd`. */
  readonly scheme: string;
  /** What stands between `://` and `?`: host, port, path, credentials. */
  readonly location: string;
  /** The URL exactly as given (it may hold a password: never put it in a message). */
  readonly raw: string;
  /** The URL with its password hidden. */
  readonly redacted: string;
  readonly #search: URLSearchParams;
  readonly #read = new Set<string>();

  constructor(url: string) {
    this.raw = url;
    this.redacted = redactUrl(url);
    const match = URL_SHAPE.exec(url.trim());
    if (match === null) {
      throw new ConfigurationError(
        `invalid cache URL ${JSON.stringify(this.redacted)}: expected "scheme://…", such as "memory://" or "json://"`,
      );
    }
    const [, scheme = "", location = "", query = "", fragment] = match;
    if (fragment !== undefined) {
      throw new ConfigurationError(
        `invalid cache URL ${JSON.stringify(this.redacted)}: a fragment (#…) is not allowed`,
      );
    }
    this.scheme = scheme.toLowerCase();
    this.location = location;
    this.#search = new URLSearchParams(query);
    for (const name of new Set(this.#search.keys())) {
      if (this.#search.getAll(name).length > 1) {
        throw new ConfigurationError(`parameter ${name} is given more than once in ${JSON.stringify(this.redacted)}`);
      }
    }
  }

  /** The parameters as the layer `scheme` reads them. */
  parametersFor(scheme: string): UrlParameters {
    return new UrlParameters(this.#search, scheme, this.#read);
  }

  /**
   * Fails when the URL has a parameter that no layer read.
   *
   * @throws ConfigurationError naming the unknown parameters and the ones that are understood.
   */
  rejectUnreadParameters(): void {
    const unknown = [...this.#search.keys()].filter((name) => !this.#read.has(name));
    if (unknown.length === 0) return;
    const known = [...this.#read].sort();
    throw new ConfigurationError(
      `unknown parameter${unknown.length > 1 ? "s" : ""} ${unknown.map((name) => JSON.stringify(name)).join(", ")} ` +
        `in ${JSON.stringify(this.redacted)}; ${known.length === 0 ? "this scheme takes no parameters" : `known: ${known.join(", ")}`}`,
    );
  }
}
