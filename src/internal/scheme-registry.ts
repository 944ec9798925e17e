import { ConfigurationError } from "../errors.js";
import { CacheUrl, type UrlParameters } from "./cache-url.js";

/**
 * Builds one thing (a backend or a serializer layer) for a URL scheme. It reads its parameters from
 * `parameters`; whatever no factory reads is reported as unknown.
 */
export type SchemeFactory<T> = (url: CacheUrl, parameters: UrlParameters) => T;

/** Options of `register*()`. */
export interface RegisterOptions {
  /** Replace an existing scheme (built-in or not) instead of failing. */
  readonly replace?: boolean;
}

const SCHEME_NAME = /^[a-z][a-z0-9+.-]*$/;

/**
 * The table from URL schemes to factories that each of the three registries (async backends, sync
 * backends, serializers) is: built-ins and user registrations share this one code path.
 */
export class SchemeRegistry<T> {
  readonly #what: string;
  readonly #factories = new Map<string, SchemeFactory<T>>();

  constructor(what: string, builtIns: Readonly<Record<string, SchemeFactory<T>>>) {
    this.#what = what;
    for (const [scheme, factory] of Object.entries(builtIns)) this.register(scheme, factory);
  }

  /** The registered schemes, sorted. */
  get schemes(): string[] {
    return [...this.#factories.keys()].sort();
  }

  /** Whether `scheme` is registered. */
  has(scheme: string): boolean {
    return this.#factories.has(scheme);
  }

  /**
   * Adds a scheme.
   *
   * @throws ConfigurationError when the name is not a valid scheme, or is taken and `replace` is not set.
   */
  register(scheme: string, factory: SchemeFactory<T>, options: RegisterOptions = {}): void {
    if (!SCHEME_NAME.test(scheme)) {
      throw new ConfigurationError(
        `invalid ${this.#what} scheme ${JSON.stringify(scheme)}: use lower-case letters, digits, "+", "-" and ".", starting with a letter`,
      );
    }
    if (typeof factory !== "function") {
      throw new ConfigurationError(`the factory for ${this.#what} scheme ${scheme}:// must be a function`);
    }
    if (this.#factories.has(scheme) && options.replace !== true) {
      throw new ConfigurationError(
        `${this.#what} scheme ${scheme}:// is already registered; pass { replace: true } to replace it`,
      );
    }
    this.#factories.set(scheme, factory);
  }

  /**
   * The factory of `scheme`.
   *
   * @throws ConfigurationError listing the known schemes when `scheme` is unknown.
   */
  factoryFor(scheme: string, url: CacheUrl): SchemeFactory<T> {
    const factory = this.#factories.get(scheme);
    if (factory === undefined) {
      throw new ConfigurationError(
        `unknown ${this.#what} scheme ${JSON.stringify(scheme)} in ${JSON.stringify(url.redacted)}; ` +
          `known schemes: ${this.schemes.map((known) => `${known}://`).join(", ")}`,
      );
    }
    return factory;
  }
}

/**
 * Builds the one thing a whole-URL registry (the backends) makes: the factory of the URL's scheme,
 * then a check that every parameter was understood.
 *
 * @throws ConfigurationError for a malformed URL, an unknown scheme or parameter.
 */
export function buildFromUrl<T>(registry: SchemeRegistry<T>, url: string): T {
  const parsed = new CacheUrl(url);
  const built = registry.factoryFor(parsed.scheme, parsed)(parsed, parsed.parametersFor(parsed.scheme));
  parsed.rejectUnreadParameters();
  return built;
}

/**
 * For schemes that name no place (`memory://`, `dummy://`): fails when the URL has a host or path.
 *
 * @throws ConfigurationError quoting the URL.
 */
export function requireNoLocation(url: CacheUrl): void {
  if (url.location !== "") {
    throw new ConfigurationError(
      `${url.scheme}:// takes no host or path: expected "${url.scheme}://" or "${url.scheme}://?parameter=value", got ${JSON.stringify(url.redacted)}`,
    );
  }
}
