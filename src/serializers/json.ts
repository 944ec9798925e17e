import { toText } from "../internal/bytes.js";
import { SerializationError } from "../errors.js";
import { typedFailure } from "./failure.js";
import type { Serializer, WireValue } from "./contract.js";

/**
 * JSON text (`json://`), as Python cachetory's `json://` stores it: readable in `redis-cli`, and
 * readable by any language. `undefined`, `BigInt`, functions and cycles cannot be represented and
 * are refused; `Date` becomes its ISO string and `Map`/`Set` become `{}` (JSON's own rules). A byte
 * array as the value is refused (use `msgpack://`, `v8://` or `noop://`); one nested in an object is
 * written in `Buffer.toJSON`'s form, `{ type: "Buffer", data: [...] }`, and reads back as that object.
 *
 * @example
 * ```ts
 * new JsonSerializer().serialize({ id: 1 }); // '{"id":1}'
 * ```
 */
export class JsonSerializer<V = unknown> implements Serializer<V, string> {
  /**
   * @throws SerializationError for what JSON cannot represent, and for byte arrays: JSON would write each
   *   byte as a number (a 600 MB Buffer ran Node out of memory) and read back a plain object, not bytes.
   */
  serialize(value: V): string {
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
      throw new SerializationError(
        "json:// does not store byte arrays (it would write every byte as a number and read back an object): use msgpack://, v8:// or noop://",
      );
    }
    // `undefined` (and a function or symbol) stringify to undefined, whatever the lib types say.
    let text: unknown;
    try {
      text = JSON.stringify(value);
    } catch (cause) {
      throw typedFailure("json://", "encode", cause);
    }
    if (typeof text !== "string") throw typedFailure("json://", "encode", `JSON cannot represent ${typeof value}`);
    return text;
  }

  /** @throws SerializationError for text that is not JSON. */
  deserialize(wire: WireValue): V {
    try {
      return JSON.parse(toText(wire)) as V;
    } catch (cause) {
      throw typedFailure("json://", "decode", cause);
    }
  }
}
