import { createHash, randomBytes } from "node:crypto";

/**
 * How a key reaches memcached, which takes keys of at most 250 bytes with no spaces or control characters,
 * or, with the meta protocol's `b` flag, binary keys whose base64 form fits those 250 bytes (187 bytes).
 * Three forms, disjoint as byte strings, so that two keys never become one item:
 * - `text`: a key without bytes ≤ 0x20 or 0x7F that fits, sent as it is;
 * - `binary`: a short key with such a byte, sent in base64 with `b`; its bytes hold a byte no text key has;
 * - `hashed`: a longer key, sent as 0xFF and its SHA-256 (0xFF is never in UTF-8, so no other key's
 *   form). The value then carries the key, and a read checks it, so that even a collision is a miss.
 *
 * Every form is preceded on the wire by the namespace and the server's generation (`ns` + 8 characters +
 * `|`), which {@link MemcachedStore.clear} changes to drop everything at once.
 */
export interface MemcachedKey {
  /** The key as the cache gave it. */
  readonly key: string;
  /** The form's bytes after the generation, for binary and hashed keys; a text key is `key` itself. */
  readonly form: Buffer | undefined;
  /** Whether the value carries the key (a hashed key). */
  readonly hashed: boolean;
}

/** The longest key memcached takes, in bytes. */
const MAX_TEXT_KEY_BYTES = 250;
/** The longest binary key whose base64 form fits in {@link MAX_TEXT_KEY_BYTES}. */
const MAX_BINARY_KEY_BYTES = 187;
/** Characters of a generation: base 36, fixed, so that every key's room is known in advance. */
export const GENERATION_LENGTH = 8;
const HASHED_MARK = 0xff;

/** A fresh generation: 8 random base-36 characters. */
export function newGeneration(): string {
  return (randomBytes(6).readUIntBE(0, 6) % 36 ** GENERATION_LENGTH).toString(36).padStart(GENERATION_LENGTH, "0");
}

/** Whether `text` is a generation as {@link newGeneration} writes them (what a server holds may be anything). */
export function isGeneration(text: string): boolean {
  return /^[0-9a-z]{8}$/.test(text);
}

/** Whether a key has a character that the text protocol cannot carry (a space or a control character). */
function needsBinary(key: string): boolean {
  for (let index = 0; index < key.length; index++) {
    const code = key.charCodeAt(index);
    if (code <= 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** The wire keys of one namespace. */
export class MemcachedKeys {
  readonly #namespace: string;
  readonly #namespaceBytes: Buffer;
  /** The room left for the key after the namespace, the generation and the `|`. */
  readonly #textRoom: number;
  readonly #binaryRoom: number;

  constructor(namespace: string) {
    this.#namespace = namespace;
    this.#namespaceBytes = Buffer.from(namespace, "latin1");
    const prefix = namespace.length + GENERATION_LENGTH + 1;
    this.#textRoom = MAX_TEXT_KEY_BYTES - prefix;
    this.#binaryRoom = MAX_BINARY_KEY_BYTES - prefix;
  }

  /** Where the namespace keeps its generation on each server (no key's wire form can be it: no `|`). */
  get generationKey(): string {
    return `${this.#namespace}#generation`;
  }

  /** The wire forms of `key`. */
  encode(key: string): MemcachedKey {
    // The common case allocates nothing: a short key of printable characters, sent as it is.
    if (key.length <= this.#textRoom && !needsBinary(key) && Buffer.byteLength(key, "utf8") <= this.#textRoom) {
      return { key, form: undefined, hashed: false };
    }
    const bytes = Buffer.from(key, "utf8");
    const hashed = bytes.length > this.#binaryRoom;
    const form = hashed ? Buffer.concat([Buffer.of(HASHED_MARK), createHash("sha256").update(bytes).digest()]) : bytes;
    return { key, form, hashed };
  }

  /** The namespace and the key's form: what places the key on the ring. */
  placement(key: MemcachedKey): Buffer {
    return Buffer.concat([this.#namespaceBytes, key.form ?? Buffer.from(key.key, "utf8")]);
  }

  /**
   * The key as a command names it under `generation`: the token, then the `b` flag (with its space) for a
   * binary form, or `""`. Commands put the flag after their own arguments: `ms <token> <size> b …`.
   */
  token(key: MemcachedKey, generation: string): readonly [token: string, binaryFlag: string] {
    if (key.form === undefined) return [`${this.#namespace}${generation}|${key.key}`, ""];
    const bytes = Buffer.concat([this.#namespaceBytes, Buffer.from(`${generation}|`, "latin1"), key.form]);
    return [bytes.toString("base64"), " b"];
  }

  /**
   * The key of an item as `lru_crawler metadump` lists it (percent-encoded bytes), when it is one of this
   * namespace's under `generation`: the key, or the base64 token of a hashed one (its key is in its value: read it with `b`);
   * `undefined` for anything else (another namespace or generation, another client's item).
   */
  decode(listed: string, generation: string): string | { readonly hashedToken: string } | undefined {
    const bytes = percentDecoded(listed);
    const prefix = Buffer.from(`${this.#namespace}${generation}|`, "latin1");
    if (bytes === undefined || bytes.length < prefix.length || !bytes.subarray(0, prefix.length).equals(prefix)) {
      return undefined;
    }
    const form = bytes.subarray(prefix.length);
    if (form.length === 33 && form[0] === HASHED_MARK) return { hashedToken: bytes.toString("base64") };
    const key = form.toString("utf8");
    // Only a key that this class writes with these very bytes: anything else is not ours.
    const encoded = this.encode(key);
    return !encoded.hashed && (encoded.form ?? Buffer.from(key, "utf8")).equals(form) ? key : undefined;
  }
}

/** `%XX`-escaped bytes, as memcached lists keys; `undefined` when malformed. */
function percentDecoded(text: string): Buffer | undefined {
  const bytes: number[] = [];
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === 0x25) {
      const digits = text.slice(index + 1, index + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(digits)) return undefined;
      bytes.push(Number.parseInt(digits, 16));
      index += 2;
    } else if (code < 0x80) bytes.push(code);
    else return undefined;
  }
  return Buffer.from(bytes);
}
