import { ConfigurationError } from "../errors.js";
import { CacheUrl, type UrlParameters } from "./cache-url.js";

/**
 * Builds one thing (a backend or a serializer layer) for a URL scheme. It reads its parameters from
 * `parameters`; whatever no factory reads is reported as unknown. `context` says what the caller needs
 * of what is built (for a backend, its `BackendRequirements`).
 */
export type SchemeFactory<T, C = undefined> = (url: CacheUrl, parameters: UrlParameters, context: C) => T;

/** Options of `register*()`. */
export interface RegisterOptions {
  /** Replace an existing scheme (built-in or not) instead of failing. */
  readonly replace?: boolean;
}

const SCHEME_NAME = /^[a-z][a-z0-9+.-]*$/;

type RegistrationTables = Map<string, Map<string, SchemeFactory<unknown, never>>>;
const REGISTRATIONS = Symbol.for("cachetory.schemeRegistrations");

/**
 * The schemes registered by users, one table per kind for the whole process: kept on `globalThis`
 * under a registered symbol, so that a scheme registered through the ESM copy of the package is seen by
 * the CommonJS copy (`require("cachetory")`) and the other way round.
 */
function processWideRegistrations(what: string): Map<string, SchemeFactory<unknown, never>> {
  const holder = globalThis as unknown as Record<symbol, RegistrationTables | undefined>;
  let tables = holder[REGISTRATIONS];
  if (tables === undefined) holder[REGISTRATIONS] = tables = new Map();
  let table = tables.get(what);
  if (table === undefined) tables.set(what, (table = new Map<string, SchemeFactory<unknown, never>>()));
  return table;
}

/**
 * The table from URL schemes to factories that each of the three registries (async backends, sync
 * backends, serializers) is. The built-ins are this copy's own; what users register is shared by every
 * copy of the package in the process, and wins over a built-in it replaces.
 */
export class SchemeRegistry<T, C = undefined> {
  readonly #what: string;
  readonly #builtIns = new Map<string, SchemeFactory<T, C>>();
  readonly #registered: Map<string, SchemeFactory<T, C>>;

  constructor(what: string, builtIns: Readonly<Record<string, SchemeFactory<T, C>>>) {
    this.#what = what;
    this.#registered = processWideRegistrations(what) as unknown as Map<string, SchemeFactory<T, C>>;
    for (const [scheme, factory] of Object.entries(builtIns)) {
      this.#check(scheme, factory);
      this.#builtIns.set(scheme, factory);
    }
  }

  /** The registered schemes, sorted. */
  get schemes(): string[] {
    return [...new Set([...this.#builtIns.keys(), ...this.#registered.keys()])].sort();
  }

  /** Whether `scheme` is registered. */
  has(scheme: string): boolean {
    return this.#registered.has(scheme) || this.#builtIns.has(scheme);
  }

  /**
   * Adds a scheme, for every copy of the package in the process.
   *
   * @throws ConfigurationError when the name is not a valid scheme, or is taken and `replace` is not set.
   */
  register(scheme: string, factory: SchemeFactory<T, C>, options: RegisterOptions = {}): void {
    this.#check(scheme, factory);
    if (this.has(scheme) && options.replace !== true) {
      throw new ConfigurationError(
        `${this.#what} scheme ${scheme}:// is already registered; pass { replace: true } to replace it`,
      );
    }
    this.#registered.set(scheme, factory);
  }

  #check(scheme: string, factory: SchemeFactory<T, C>): void {
    if (!SCHEME_NAME.test(scheme)) {
      throw new ConfigurationError(
        `invalid ${this.#what} scheme ${JSON.stringify(scheme)}: use lower-case letters, digits, "+", "-" and ".", starting with a letter`,
      );
    }
    if (typeof factory !== "function") {
      throw new ConfigurationError(`the factory for ${this.#what} scheme ${scheme}:// must be a function`);
    }
  }

  /**
   * The factory of `scheme`.
   *
   * @throws ConfigurationError listing the known schemes when `scheme` is unknown.
   */
  factoryFor(scheme: string, url: CacheUrl): SchemeFactory<T, C> {
    const factory = this.#registered.get(scheme) ?? this.#builtIns.get(scheme);
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
export function buildFromUrl<T, C>(registry: SchemeRegistry<T, C>, url: string, context: C): T {
  const parsed = new CacheUrl(url);
  const built = registry.factoryFor(parsed.scheme, parsed)(parsed, parsed.parametersFor(parsed.scheme), context);
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
