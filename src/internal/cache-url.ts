import { ConfigurationError } from "../errors.js";

const URL_SHAPE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^?#]*)(?:\?([^#]*))?(#.*)?$/s;
const SCHEME_PREFIX = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
const SECRET_PARAMETER = /([?&](?:password|pass|secret|token|auth)=)[^&#]*/gi;

/**
 * The one rule for where the credentials of a URL are, shared by the parser and by redaction so that
 * they can never disagree: after `scheme://`, everything up to the LAST `@` of the URL. A password may
 * then hold `/ ? # @` unencoded; an `@` elsewhere (in a query value) must be written `%40`.
 */
function splitUserInfo(url: string): { head: string; userInfo: string | undefined; tail: string } {
  const scheme = SCHEME_PREFIX.exec(url);
  const head = scheme === null ? "" : scheme[0];
  const at = url.lastIndexOf("@");
  if (at < head.length) return { head, userInfo: undefined, tail: url.slice(head.length) };
  return { head, userInfo: url.slice(head.length, at), tail: url.slice(at + 1) };
}

/**
 * Hides the password (and secret-looking query parameters) of a URL, so that it can go into an error
 * message or a log line. The credentials are found by the same rule as the parser's: everything
 * between `scheme://` and the last `@`; a user name is kept, the password never.
 *
 * @example
 * ```ts
 * redactUrl("redis://app:S3cret@cache:6379/0"); // "redis://app:***@cache:6379/0"
 * redactUrl("redis://app:a/b@c@cache:6379/0");   // "redis://app:***@cache:6379/0"
 * ```
 */
export function redactUrl(url: string): string {
  const { head, userInfo, tail } = splitUserInfo(url);
  const hidden = tail.replace(SECRET_PARAMETER, "$1***");
  if (userInfo === undefined) return head + hidden;
  // Without "scheme://" nothing tells a user name from a secret: hide all of it.
  const colon = head === "" ? -1 : userInfo.indexOf(":");
  return `${head}${colon === -1 ? "" : `${userInfo.slice(0, colon)}:`}***@${hidden}`;
}

/** The decoded credentials of a URL: either may be absent. */
export interface UrlCredentials {
  readonly username?: string;
  readonly password?: string;
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
  /** What stands between `://` and `?`: credentials (up to the last `@`), host, port, path. */
  readonly location: string;
  /** The location without its credentials: host, port, path. */
  readonly address: string;
  /** The raw (still percent-encoded) text before the last `@`, or `undefined` without credentials. */
  readonly #userInfo: string | undefined;
  /** The URL exactly as given (it may hold a password: never put it in a message). */
  readonly raw: string;
  /** The URL with its password hidden. */
  readonly redacted: string;
  readonly #search: URLSearchParams;
  readonly #read = new Set<string>();

  constructor(url: string) {
    this.raw = url;
    this.redacted = redactUrl(url);
    const { head, userInfo, tail } = splitUserInfo(url.trim());
    const match = URL_SHAPE.exec(head + tail);
    if (match === null || head === "") {
      throw new ConfigurationError(
        `invalid cache URL ${JSON.stringify(this.redacted)}: expected "scheme://…", such as "memory://" or "json://"`,
      );
    }
    const [, scheme = "", address = "", query = "", fragment] = match;
    if (fragment !== undefined) {
      throw new ConfigurationError(
        `invalid cache URL ${JSON.stringify(this.redacted)}: a fragment (#…) is not allowed`,
      );
    }
    this.#userInfo = userInfo;
    this.address = address;
    this.location = userInfo === undefined ? address : `${userInfo}@${address}`;
    this.scheme = scheme.toLowerCase();
    this.#search = new URLSearchParams(query);
    for (const name of new Set(this.#search.keys())) {
      if (this.#search.getAll(name).length > 1) {
        throw new ConfigurationError(`parameter ${name} is given more than once in ${JSON.stringify(this.redacted)}`);
      }
    }
  }

  /**
   * The user name and password, percent-decoded (`+` stays `+`); an empty user name is absent.
   *
   * @throws ConfigurationError for a malformed %-escape, without quoting the credential.
   */
  credentials(): UrlCredentials {
    const userInfo = this.#userInfo;
    if (userInfo === undefined) return {};
    const colon = userInfo.indexOf(":");
    const username = this.#decodeCredential(colon === -1 ? userInfo : userInfo.slice(0, colon), "user name");
    const password = colon === -1 ? undefined : this.#decodeCredential(userInfo.slice(colon + 1), "password");
    return { ...(username === "" ? {} : { username }), ...(password === undefined ? {} : { password }) };
  }

  #decodeCredential(text: string, what: string): string {
    try {
      return decodeURIComponent(text);
    } catch {
      // The message must not quote the text: it is (part of) a secret.
      throw new ConfigurationError(
        `the ${what} in ${JSON.stringify(this.redacted)} has a malformed %-escape; percent-encode @ : / + % as %40 %3A %2F %2B %25`,
      );
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
