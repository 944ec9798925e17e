import { OP } from "./opcodes.js";
/**
 * Writes plain JavaScript data as a Python pickle of protocol 2, 3, 4 or 5, in the forms Python itself
 * uses for each protocol (so Python's `pickle.loads` reads it): `null` → None, booleans, integers
 * (`bigint`, and whole `number`s up to ±2^53) → int, other numbers → float, strings → str, bytes → bytes, arrays → list,
 * plain objects → dict, `Map` → dict, `Set` → set. Arrays inside `Map` keys and `Set` items become
 * tuples, as Python needs them hashable.
 */
import { describeType } from "../../internal/bytes.js";
import { encodeSurrogatePass } from "./wtf8.js";

const MAX_DEPTH = 1000;
const BATCH = 1000;

class PickleWriter {
  readonly #protocol: number;
  readonly #chunks: Buffer[] = [];
  #pending: number[] = [];
  readonly #path = new Set<object>();

  constructor(protocol: number) {
    this.#protocol = protocol;
  }

  #op(...bytes: number[]): void {
    for (const byte of bytes) this.#pending.push(byte);
  }

  #raw(buffer: Buffer): void {
    this.#flushPending();
    this.#chunks.push(buffer);
  }

  #flushPending(): void {
    if (this.#pending.length === 0) return;
    this.#chunks.push(Buffer.from(this.#pending));
    this.#pending = [];
  }

  #uint32(value: number): number[] {
    return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
  }

  #global(module: string, name: string): void {
    // Python 3 names the builtins module __builtin__ in protocol 2 (for Python 2 readers).
    const moduleName = module === "builtins" && this.#protocol < 3 ? "__builtin__" : module;
    if (this.#protocol >= 4) {
      this.#string(moduleName);
      this.#string(name);
      this.#op(OP.STACK_GLOBAL);
    } else {
      this.#raw(Buffer.from(`c${moduleName}\n${name}\n`, "latin1"));
    }
  }

  #string(text: string): void {
    const bytes = encodeSurrogatePass(text);
    if (this.#protocol >= 4 && bytes.length < 256) this.#op(OP.SHORT_BINUNICODE, bytes.length);
    else this.#op(OP.BINUNICODE, ...this.#uint32(bytes.length));
    this.#raw(bytes);
  }

  #bytes(value: Uint8Array): void {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    if (this.#protocol < 3) {
      if (bytes.length === 0) {
        this.#global("builtins", "bytes");
        this.#op(OP.EMPTY_TUPLE, OP.REDUCE);
        return;
      }
      // Protocol 2 has no bytes opcode: Python writes _codecs.encode(latin-1 text, "latin1").
      this.#global("_codecs", "encode");
      this.#string(bytes.toString("latin1"));
      this.#string("latin1");
      this.#op(OP.TUPLE2, OP.REDUCE);
      return;
    }
    if (bytes.length < 256) this.#op(OP.SHORT_BINBYTES, bytes.length);
    else this.#op(OP.BINBYTES, ...this.#uint32(bytes.length));
    this.#raw(bytes);
  }

  #integer(value: bigint): void {
    if (value >= 0n && value < 256n) this.#op(OP.BININT1, Number(value));
    else if (value >= 0n && value < 65536n) this.#op(OP.BININT2, Number(value) & 0xff, Number(value) >> 8);
    else if (value >= -(2n ** 31n) && value < 2n ** 31n) this.#op(OP.BININT, ...this.#uint32(Number(value) >>> 0));
    else {
      // LONG1: little-endian two's complement in as few bytes as hold the sign.
      const bytes: number[] = [];
      let rest = value;
      while (rest !== 0n && rest !== -1n) {
        bytes.push(Number(rest & 0xffn));
        rest >>= 8n;
      }
      const last = bytes.at(-1) ?? 0;
      if (value > 0n && last & 0x80) bytes.push(0);
      if (value < 0n && !(last & 0x80)) bytes.push(0xff);
      if (bytes.length < 256) this.#op(OP.LONG1, bytes.length, ...bytes);
      else this.#op(OP.LONG4, ...this.#uint32(bytes.length), ...bytes);
    }
  }

  #float(value: number): void {
    const buffer = Buffer.alloc(9);
    buffer[0] = OP.BINFLOAT; // big-endian
    buffer.writeDoubleBE(value, 1);
    this.#raw(buffer);
  }

  #enter(value: object, depth: number): void {
    if (depth > MAX_DEPTH) throw new TypeError(`pickle:// nests at most ${String(MAX_DEPTH)} levels`);
    if (this.#path.has(value)) throw new TypeError("pickle:// cannot write a cyclic value");
    this.#path.add(value);
  }

  /** Writes one value; `hashable` turns arrays into tuples (for dict keys and set items). */
  write(value: unknown, depth = 0, hashable = false): void {
    switch (typeof value) {
      case "boolean":
        this.#op(value ? OP.NEWTRUE : OP.NEWFALSE);
        return;
      case "string":
        this.#string(value);
        return;
      case "bigint":
        this.#integer(value);
        return;
      case "number":
        // Whole numbers up to ±2^53 (all exact) are ints; beyond that, and -0, they stay floats.
        if (Number.isInteger(value) && Math.abs(value) <= 2 ** 53 && !Object.is(value, -0)) {
          this.#integer(BigInt(value));
        } else this.#float(value);
        return;
      case "object":
        if (value === null) {
          this.#op(OP.NONE);
          return;
        }
        this.#enter(value, depth);
        try {
          this.#container(value, depth, hashable);
        } finally {
          this.#path.delete(value);
        }
        return;
      default:
        throw new TypeError(`pickle:// cannot write ${describeType(value)} values (plain data only)`);
    }
  }

  #container(value: object, depth: number, hashable: boolean): void {
    if (value instanceof Uint8Array) {
      this.#bytes(value);
      return;
    }
    if (Array.isArray(value)) {
      if (hashable) this.#tuple(value, depth);
      else this.#list(value, depth);
      return;
    }
    if (value instanceof Map) {
      this.#dict([...value], depth);
      return;
    }
    if (value instanceof Set) {
      this.#set(value, depth);
      return;
    }
    const prototype: unknown = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      throw new TypeError(`pickle:// cannot write ${describeType(value)} values (plain data only)`);
    }
    this.#dict(Object.entries(value), depth);
  }

  #tuple(items: readonly unknown[], depth: number): void {
    if (items.length === 0) {
      this.#op(OP.EMPTY_TUPLE);
      return;
    }
    this.#op(OP.MARK);
    for (const item of items) this.write(item, depth + 1, true);
    this.#op(OP.TUPLE);
  }

  #list(items: readonly unknown[], depth: number): void {
    this.#op(OP.EMPTY_LIST);
    for (let start = 0; start < items.length; start += BATCH) {
      this.#op(OP.MARK);
      for (const item of items.slice(start, start + BATCH)) this.write(item, depth + 1);
      this.#op(OP.APPENDS);
    }
  }

  #dict(entries: readonly (readonly [unknown, unknown])[], depth: number): void {
    this.#op(OP.EMPTY_DICT);
    for (let start = 0; start < entries.length; start += BATCH) {
      this.#op(OP.MARK);
      for (const [key, item] of entries.slice(start, start + BATCH)) {
        this.write(key, depth + 1, true);
        this.write(item, depth + 1);
      }
      this.#op(OP.SETITEMS);
    }
  }

  #set(items: ReadonlySet<unknown>, depth: number): void {
    if (this.#protocol >= 4) {
      this.#op(OP.EMPTY_SET);
      const all = [...items];
      for (let start = 0; start < all.length; start += BATCH) {
        this.#op(OP.MARK);
        for (const item of all.slice(start, start + BATCH)) this.write(item, depth + 1, true);
        this.#op(OP.ADDITEMS);
      }
      return;
    }
    // Protocols 2 and 3 have no set opcodes: Python writes set([items]).
    this.#global("builtins", "set");
    this.#op(OP.EMPTY_LIST);
    if (items.size > 0) {
      this.#op(OP.MARK);
      for (const item of items) this.write(item, depth + 1, true);
      this.#op(OP.APPENDS);
    }
    this.#op(OP.TUPLE1, OP.REDUCE);
  }

  /** The pickle: PROTO, (a frame for protocol 4+), the value, STOP. */
  finish(): Buffer {
    this.#op(OP.STOP);
    this.#flushPending();
    const body = Buffer.concat(this.#chunks);
    const header = Buffer.from([OP.PROTO, this.#protocol]);
    if (this.#protocol < 4) return Buffer.concat([header, body]);
    const frame = Buffer.alloc(9);
    frame[0] = OP.FRAME;
    frame.writeBigUInt64LE(BigInt(body.length), 1);
    return Buffer.concat([header, frame, body]);
  }
}

/**
 * The pickle of `value` at `protocol` (2–5).
 *
 * @throws TypeError for values pickle:// does not write (functions, class instances, `undefined`, cycles).
 */
export function pickle(value: unknown, protocol: number): Buffer {
  const writer = new PickleWriter(protocol);
  writer.write(value);
  return writer.finish();
}
