import { createHmac, createSecretKey, KeyObject, timingSafeEqual } from "node:crypto";
import { inspect } from "node:util";
import { ConfigurationError, SerializationError } from "../../errors.js";
import { describeType, toBytes } from "../../internal/bytes.js";
import type { UrlParameters } from "../../internal/cache-url.js";
import type { EntrySeal, Sealing, Serializer, WireValue } from "../contract.js";
import { keySuffix, PASS_THROUGH, splitTrailer, withRoom } from "./bound-key.js";

/** The one algorithm: fixed here, never named in (nor read from) what is stored. */
const ALGORITHM = "sha256";
const TAG_BYTES = 32;
/** RFC 2104 (section 3) strongly discourages keys shorter than the hash's output. */
const MIN_KEY_BYTES = 32;

/**
 * A secret for {@link HmacSerializer}: text (its UTF-8 bytes), bytes, or a secret `KeyObject`.
 *
 * @example
 * ```ts
 * const key: HmacKey = createSecretKey(randomBytes(32));
 * ```
 */
export type HmacKey = string | Uint8Array | KeyObject;

/**
 * The options of {@link HmacSerializer}.
 *
 * @example
 * ```ts
 * const options: HmacSerializerOptions = { key: process.env.CACHE_HMAC_KEY!, previousKeys: [process.env.OLD_KEY!] };
 * ```
 */
export interface HmacSerializerOptions {
  /** The secret that signs new values and verifies first: at least 32 bytes. */
  readonly key: HmacKey;
  /**
   * Retired secrets, still accepted when verifying (a rotation: sign with the new key, accept the old
   * until the longest time to live has passed, then drop it).
   */
  readonly previousKeys?: readonly HmacKey[];
}

function secretKey(key: unknown, what: string): KeyObject {
  let secret: KeyObject;
  if (key instanceof KeyObject) {
    if (key.type !== "secret")
      throw new ConfigurationError(`the HMAC ${what} must be a secret key, got a ${key.type} key`);
    secret = key;
  } else if (typeof key === "string" || key instanceof Uint8Array) {
    secret = createSecretKey(typeof key === "string" ? Buffer.from(key, "utf8") : Buffer.from(key));
  } else {
    throw new ConfigurationError(
      `the HMAC ${what} must be text, bytes or a secret KeyObject, got ${describeType(key)}`,
    );
  }
  const size = secret.symmetricKeySize ?? 0;
  if (size < MIN_KEY_BYTES) {
    throw new ConfigurationError(
      `the HMAC ${what} is ${String(size)} bytes; it needs at least ${String(MIN_KEY_BYTES)} (for example the output of \`openssl rand -base64 48\`)`,
    );
  }
  return secret;
}

/**
 * HMAC-SHA-256 over the stored bytes and their backend key (`hmac://?key-env=NAME`): a value that a key
 * holder did not write for that very key (forged, altered, or copied from another key) is an
 * undecodable miss. The algorithm is fixed; tags are compared in constant time; `previousKeys` verify
 * during a rotation. It goes last in a chain (`msgpack+zstd+hmac://?key-env=CACHE_HMAC_KEY`); a cache
 * then signs the whole entry, its metadata and tags included. 32 bytes per value. The keys are never
 * shown: not in messages, nor by `inspect`.
 *
 * What it does not prevent: a writer replaying bytes that were once stored under the same key (an older
 * value, or an older state of a tag); reading values (it signs, it does not encrypt).
 *
 * @example
 * ```ts
 * const serializer = new ChainedSerializer([
 *   new MsgpackSerializer(),
 *   new HmacSerializer({ key: process.env.CACHE_HMAC_KEY!, previousKeys: [process.env.OLD_CACHE_HMAC_KEY!] }),
 * ]);
 * ```
 */
export class HmacSerializer implements Serializer<WireValue, Uint8Array>, EntrySeal {
  readonly scheme: string = "hmac://";
  /** Alone in a cache, values must already be text or bytes. */
  get sealing(): Sealing<WireValue> {
    return { inner: PASS_THROUGH, seal: this };
  }
  readonly #key: KeyObject;
  readonly #previousKeys: readonly KeyObject[];

  /** @throws ConfigurationError for a key that is missing, of the wrong kind, or shorter than 32 bytes. */
  constructor(options: HmacSerializerOptions) {
    // For callers from JavaScript, whom the types do not hold.
    if (typeof (options as unknown) !== "object" || (options as unknown) === null) {
      throw new ConfigurationError("HmacSerializer takes { key, previousKeys? }");
    }
    this.#key = secretKey(options.key, "key");
    const previous = options.previousKeys ?? [];
    if (!Array.isArray(previous)) throw new ConfigurationError("previousKeys must be an array of keys");
    this.#previousKeys = previous.map((key, index) => secretKey(key, `previousKeys[${String(index)}]`));
  }

  seal(data: Uint8Array | string, key: string): Uint8Array {
    const { sealed, value } = withRoom(data, TAG_BYTES);
    sealed.set(this.#tag(this.#key, value, keySuffix(key)), value.byteLength);
    return sealed;
  }

  open(bytes: Uint8Array, key: string): Uint8Array {
    const { value, trailer: stored } = splitTrailer(bytes, TAG_BYTES, "hmac:// cannot verify", "a signature");
    const suffix = keySuffix(key);
    if (timingSafeEqual(this.#tag(this.#key, value, suffix), stored)) return value;
    for (const previous of this.#previousKeys) {
      if (timingSafeEqual(this.#tag(previous, value, suffix), stored)) return value;
    }
    throw new SerializationError(
      "hmac:// found a signature that does not verify: the value was altered, not signed with a configured key, or stored under another key",
    );
  }

  #tag(secret: KeyObject, value: Uint8Array, suffix: Uint8Array): Buffer {
    return createHmac(ALGORITHM, secret).update(value).update(suffix).digest();
  }

  /** Outside a cache (no key): the bytes of `wire` with their signature. */
  serialize(wire: WireValue): Uint8Array {
    return this.seal(typeof wire === "string" ? wire : toBytes(wire), "");
  }

  /** Outside a cache: the bytes without their signature. @throws SerializationError when it does not verify. */
  deserialize(wire: Uint8Array): Uint8Array {
    return this.open(toBytes(wire), "");
  }

  static {
    // What `inspect` and `console.log` show: how many keys, never the keys.
    Object.defineProperty(this.prototype, inspect.custom, {
      value(this: HmacSerializer): string {
        return `HmacSerializer { algorithm: 'HMAC-SHA-256', previousKeys: ${String(this.#previousKeys.length)} }`;
      },
    });
  }
}

/** A secret from the environment variable `name`, named (never shown) in the error when missing. */
function keyFromEnvironment(name: string, parameter: string): KeyObject {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new ConfigurationError(
      `${parameter} names an environment variable; ${JSON.stringify(name)} is not a variable name`,
    );
  }
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new ConfigurationError(`hmac:// reads its key from the environment variable ${name}, which is not set`);
  }
  return secretKey(value, `key in ${name}`);
}

/**
 * `hmac://?key-env=NAME&previous-key-env=OLD1,OLD2`: the keys come from environment variables, never from
 * the URL (which ends up in logs and process listings).
 */
export function hmacFromUrl(parameters: UrlParameters): HmacSerializer {
  if (parameters.text("key") !== undefined) {
    throw new ConfigurationError(
      "hmac:// does not take its key in the URL (URLs end up in logs): put it in an environment variable and name that with key-env",
    );
  }
  const keyEnvironment = parameters.text("key-env");
  if (keyEnvironment === undefined) {
    throw new ConfigurationError("hmac:// needs key-env=NAME, the environment variable that holds its key");
  }
  const previous = parameters.text("previous-key-env");
  return new HmacSerializer({
    key: keyFromEnvironment(keyEnvironment, "key-env"),
    previousKeys: (previous === undefined ? [] : previous.split(",")).map((name) =>
      keyFromEnvironment(name.trim(), "previous-key-env"),
    ),
  });
}
