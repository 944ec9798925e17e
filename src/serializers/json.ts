import { toText } from "../internal/bytes.js";
import type { Serializer, WireValue } from "./serializer.js";

/**
 * JSON text (`json://`), as Python cachetory's `json://` stores it: readable in `redis-cli`, and
 * readable by any language. `undefined`, `BigInt`, functions and cycles cannot be represented and
 * are refused; `Date` becomes its ISO string and `Map`/`Set` become `{}` (JSON's own rules).
 *
 * @example
 * ```ts
 * new JsonSerializer().serialize({ id: 1 }); // '{"id":1}'
 * ```
 */
export class JsonSerializer<V = unknown> implements Serializer<V, string> {
  serialize(value: V): string {
    const text = JSON.stringify(value) as string | undefined;
    if (text === undefined) throw new TypeError(`JSON cannot represent ${typeof value}`);
    return text;
  }

  deserialize(wire: WireValue): V {
    return JSON.parse(toText(wire)) as V;
  }
}
