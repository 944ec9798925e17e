import { OP, opcodeName } from "./opcodes.js";
/**
 * A pickle reader that never runs code: it understands the opcodes that protocols 2–5 use for plain
 * data, and a fixed allow-list of the builtins that protocols 2 and 3 call for bytes and sets. Every
 * other opcode or global is refused with an error that names it. It is iterative (no recursion on the
 * input's nesting), checks every declared length against the bytes that remain before allocating, and
 * does work linear in the input's size.
 */
import { decodeSurrogatePass } from "./wtf8.js";

/** A Python dict while it is being built: its keys may turn out not all to be strings. */
class PyDict {
  readonly entries = new Map<unknown, unknown>();
  stringKeysOnly = true;

  set(key: unknown, value: unknown): void {
    if (typeof key !== "string") this.stringKeysOnly = false;
    this.entries.set(key, value);
  }
}

/** A Python global that the allow-list admits, as it sits on the stack until REDUCE calls it. */
class AllowedGlobal {
  constructor(readonly name: "encode" | "set" | "frozenset" | "bytearray" | "bytes") {}
}

const ALLOWED_GLOBALS: Readonly<Record<string, AllowedGlobal["name"]>> = {
  "_codecs.encode": "encode",
  "builtins.set": "set",
  "builtins.frozenset": "frozenset",
  "builtins.bytearray": "bytearray",
  "builtins.bytes": "bytes",
  "__builtin__.set": "set",
  "__builtin__.frozenset": "frozenset",
  "__builtin__.bytearray": "bytearray",
  "__builtin__.bytes": "bytes",
};

/** The opcodes of protocols 0 and 1 that protocols 2–5 replaced: refused, named as such. */
const PROTOCOL_0_OPCODES: ReadonlySet<number> = new Set([
  OP.INT,
  OP.LONG,
  OP.FLOAT,
  OP.STRING,
  OP.UNICODE,
  OP.PUT,
  OP.GET,
]);

const LARGEST_EXACT = 2n ** 53n;

/**
 * The longest integer read, in bytes (a 2^1 048 576-bit number; Python's own pickles of it are 128 KiB):
 * a bound on the memory and time one opcode may take, with a clear error past it.
 */
const LONGEST_INTEGER_BYTES = 128 * 1024;

/**
 * V8's longest string is 2^29 − 24 UTF-16 units, and UTF-8 spends at most 3 bytes on a unit: a text of
 * more bytes than this can never be a string.
 */
const LONGEST_TEXT_BYTES = 3 * (2 ** 29 - 24);

/** An integer as `number` up to ±2^53 (where every integer is exact), else as `bigint`. */
function toInteger(value: bigint): number | bigint {
  return value <= LARGEST_EXACT && value >= -LARGEST_EXACT ? Number(value) : value;
}

/** Reads a pickle; the caller wraps thrown errors into a `SerializationError`. */
export function unpickle(bytes: Uint8Array): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let position = 0;

  const fail = (message: string): never => {
    throw new Error(`${message} (at byte ${String(position)} of ${String(bytes.length)})`);
  };
  const need = (count: number): void => {
    if (count < 0 || position + count > bytes.length) {
      fail(`the pickle is truncated: ${String(count)} more bytes declared, ${String(bytes.length - position)} left`);
    }
  };
  const byte = (): number => {
    need(1);
    return bytes[position++] as number;
  };
  const uint16 = (): number => {
    need(2);
    position += 2;
    return view.getUint16(position - 2, true);
  };
  const uint32 = (): number => {
    need(4);
    position += 4;
    return view.getUint32(position - 4, true);
  };
  const uint64 = (): number => {
    need(8);
    position += 8;
    const value = view.getBigUint64(position - 8, true);
    if (value > BigInt(bytes.length)) fail(`a declared length of ${String(value)} bytes exceeds the pickle`);
    return Number(value);
  };
  const slice = (length: number): Uint8Array => {
    need(length);
    position += length;
    return bytes.subarray(position - length, position);
  };
  const text = (length: number): string => {
    // Checked before anything is allocated: a longer text cannot be a JavaScript string.
    if (length > LONGEST_TEXT_BYTES) {
      fail(`a string of ${String(length)} bytes is longer than a JavaScript string can be`);
    }
    const raw = slice(length);
    try {
      return decodeSurrogatePass(raw);
    } catch (error) {
      return fail(`a string is not UTF-8: ${(error as Error).message}`);
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, position);
    if (end === -1) fail("the pickle is truncated inside a line");
    const value = Buffer.from(bytes.subarray(position, end)).toString("latin1");
    position = end + 1;
    return value;
  };
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= (marks.at(-1) ?? 0))) fail("the stack is empty");
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail("the stack is empty");
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const mark = marks.pop();
    if (mark === undefined) return fail("no MARK to pop to");
    return stack.splice(mark);
  };
  const memoGet = (index: number): unknown => {
    if (!memo.has(index)) fail(`memo entry ${String(index)} does not exist`);
    return memo.get(index);
  };
  const memoPut = (index: number): void => {
    memo.set(index, top());
  };
  const list = (value: unknown, opcode: string): unknown[] => {
    if (!Array.isArray(value)) fail(`${opcode} needs a list`);
    return value as unknown[];
  };
  const dict = (value: unknown, opcode: string): PyDict => {
    if (!(value instanceof PyDict)) fail(`${opcode} needs a dict`);
    return value as PyDict;
  };
  const long = (length: number): number | bigint => {
    if (length > LONGEST_INTEGER_BYTES) {
      fail(`an integer of ${String(length)} bytes is longer than the ${String(LONGEST_INTEGER_BYTES)} bytes read`);
    }
    const raw = slice(length);
    if (length === 0) return 0;
    // Little-endian two's complement, read in one parse of its hex digits (linear), not a shift per byte.
    let value = BigInt(`0x${Buffer.from(raw).reverse().toString("hex")}`);
    if ((raw[length - 1] ?? 0) & 0x80) value -= 1n << BigInt(8 * length);
    return toInteger(value);
  };
  const call = (callable: unknown, args: unknown): unknown => {
    if (!(callable instanceof AllowedGlobal)) return fail("REDUCE of something that is not an allowed global");
    const argv = list(args, "REDUCE");
    const [first, second] = argv;
    switch (callable.name) {
      case "encode":
        if (argv.length === 2 && typeof first === "string" && (second === "latin1" || second === "latin-1")) {
          // Protocol 2 stores bytes as the latin-1 text of each byte.
          if (/[^\p{ASCII}\u0080-\u00ff]/u.test(first)) fail("_codecs.encode: the text is not latin-1");
          return new Uint8Array(Buffer.from(first, "latin1"));
        }
        return fail("_codecs.encode is allowed only as encode(text, 'latin1')");
      case "set":
      case "frozenset":
        if (argv.length === 0) return new Set();
        if (argv.length === 1 && Array.isArray(first)) return new Set(first);
        return fail(`${callable.name}() is allowed only with a list`);
      case "bytes":
      case "bytearray":
        if (argv.length === 0) return new Uint8Array(0);
        if (argv.length === 1 && first instanceof Uint8Array) return new Uint8Array(first);
        if (argv.length === 1 && Array.isArray(first) && first.every((item) => Number.isInteger(item))) {
          return Uint8Array.from(first as number[]);
        }
        return fail(`${callable.name}() is allowed only with bytes or a list of integers`);
    }
  };
  const global = (module: string, name: string): AllowedGlobal => {
    const allowed = ALLOWED_GLOBALS[`${module}.${name}`];
    if (allowed === undefined) {
      const shown = `${module}.${name}`.slice(0, 100);
      return fail(`the global ${JSON.stringify(shown)} is not allowed: unpickling never imports or calls Python code`);
    }
    return new AllowedGlobal(allowed);
  };

  for (;;) {
    const opcode = byte();
    switch (opcode) {
      case OP.PROTO:
        if (byte() > 5) fail("pickle protocols above 5 are unknown");
        break;
      case OP.FRAME: // a hint of the next frame's size, checked and skipped
        uint64();
        break;
      case OP.STOP: {
        if (stack.length !== 1 || marks.length > 0) fail("STOP with a malformed stack");
        return finish(stack[0]);
      }
      case OP.NONE:
        stack.push(null);
        break;
      case OP.NEWTRUE:
        stack.push(true);
        break;
      case OP.NEWFALSE:
        stack.push(false);
        break;
      case OP.BININT:
        need(4);
        position += 4;
        stack.push(view.getInt32(position - 4, true));
        break;
      case OP.BININT1:
        stack.push(byte());
        break;
      case OP.BININT2:
        stack.push(uint16());
        break;
      case OP.LONG1:
        stack.push(long(byte()));
        break;
      case OP.LONG4:
        stack.push(long(uint32()));
        break;
      case OP.BINFLOAT:
        need(8);
        position += 8;
        stack.push(view.getFloat64(position - 8, false));
        break;
      case OP.SHORT_BINUNICODE:
        stack.push(text(byte()));
        break;
      case OP.BINUNICODE:
        stack.push(text(uint32()));
        break;
      case OP.BINUNICODE8:
        stack.push(text(uint64()));
        break;
      // new Uint8Array(view) copies in one go (Uint8Array.from walks the bytes one by one: 2.3 s for
      // 100 MB), and never shares the input's memory (Buffer#slice would).
      case OP.SHORT_BINBYTES:
        stack.push(new Uint8Array(slice(byte())));
        break;
      case OP.BINBYTES:
        stack.push(new Uint8Array(slice(uint32())));
        break;
      case OP.BINBYTES8:
      case OP.BYTEARRAY8:
        stack.push(new Uint8Array(slice(uint64())));
        break;
      case OP.SHORT_BINSTRING: // Python 2 str: latin-1 text
        stack.push(Buffer.from(slice(byte())).toString("latin1"));
        break;
      case OP.BINSTRING: {
        need(4);
        position += 4;
        const length = view.getInt32(position - 4, true);
        stack.push(Buffer.from(slice(length)).toString("latin1"));
        break;
      }
      case OP.EMPTY_LIST:
        stack.push([]);
        break;
      case OP.EMPTY_TUPLE:
        stack.push([]);
        break;
      case OP.EMPTY_DICT:
        stack.push(new PyDict());
        break;
      case OP.EMPTY_SET:
        stack.push(new Set());
        break;
      case OP.MARK:
        marks.push(stack.length);
        break;
      case OP.APPEND: {
        const item = pop();
        list(top(), "APPEND").push(item);
        break;
      }
      case OP.APPENDS: {
        const items = popMark();
        const target = list(top(), "APPENDS");
        for (const item of items) target.push(item);
        break;
      }
      case OP.LIST:
      case OP.TUPLE:
        stack.push(popMark());
        break;
      case OP.TUPLE1:
        stack.push([pop()]);
        break;
      case OP.TUPLE2: {
        const second = pop();
        stack.push([pop(), second]);
        break;
      }
      case OP.TUPLE3: {
        const third = pop();
        const second = pop();
        stack.push([pop(), second, third]);
        break;
      }
      case OP.DICT: {
        const items = popMark();
        if (items.length % 2 !== 0) fail("DICT with an odd number of items");
        const built = new PyDict();
        for (let index = 0; index < items.length; index += 2) built.set(items[index], items[index + 1]);
        stack.push(built);
        break;
      }
      case OP.SETITEM: {
        const value = pop();
        const key = pop();
        dict(top(), "SETITEM").set(key, value);
        break;
      }
      case OP.SETITEMS: {
        const items = popMark();
        if (items.length % 2 !== 0) fail("SETITEMS with an odd number of items");
        const target = dict(top(), "SETITEMS");
        for (let index = 0; index < items.length; index += 2) target.set(items[index], items[index + 1]);
        break;
      }
      case OP.ADDITEMS: {
        const items = popMark();
        const target = top();
        if (!(target instanceof Set)) fail("ADDITEMS needs a set");
        for (const item of items) (target as Set<unknown>).add(item);
        break;
      }
      case OP.FROZENSET:
        stack.push(new Set(popMark()));
        break;
      case OP.BINPUT:
        memoPut(byte());
        break;
      case OP.LONG_BINPUT:
        memoPut(uint32());
        break;
      case OP.MEMOIZE:
        memoPut(memo.size);
        break;
      case OP.BINGET:
        stack.push(memoGet(byte()));
        break;
      case OP.LONG_BINGET:
        stack.push(memoGet(uint32()));
        break;
      case OP.POP:
        pop();
        break;
      case OP.POP_MARK:
        popMark();
        break;
      case OP.DUP:
        stack.push(top());
        break;
      case OP.GLOBAL: {
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case OP.STACK_GLOBAL: {
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") fail("STACK_GLOBAL needs two strings");
        stack.push(global(module as string, name as string));
        break;
      }
      case OP.REDUCE: {
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      default: {
        // Every opcode not read above builds objects, imports or refers outside the pickle, or is protocol 0's.
        const known = opcodeName(opcode);
        const name = known === undefined ? undefined : PROTOCOL_0_OPCODES.has(opcode) ? `${known} (protocol 0)` : known;
        fail(
          name === undefined
            ? `unknown pickle opcode 0x${opcode.toString(16).padStart(2, "0")}`
            : `the pickle opcode ${name} is not allowed: only plain data (None, bool, int, float, str, bytes, list, tuple, dict, set) is read`,
        );
      }
    }
  }
}

/**
 * Turns the Python dicts of a finished pickle into plain objects (string keys) or `Map`s, keeping
 * shared references and cycles, without recursion.
 */
function finish(root: unknown): unknown {
  if (!(root instanceof PyDict) && !Array.isArray(root)) return root;
  const converted = new Map<PyDict, Record<string, unknown> | Map<unknown, unknown>>();
  const arrays = new Set<unknown[]>();
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (value instanceof PyDict) {
      if (converted.has(value)) continue;
      converted.set(value, value.stringKeysOnly ? {} : new Map());
      for (const item of value.entries.values()) pending.push(item);
    } else if (Array.isArray(value) && !arrays.has(value)) {
      arrays.add(value);
      for (const item of value) pending.push(item);
    }
  }
  const resolve = (value: unknown): unknown => (value instanceof PyDict ? converted.get(value) : value);
  for (const [source, target] of converted) {
    for (const [key, value] of source.entries) {
      if (target instanceof Map) target.set(key, resolve(value));
      // An own property even for "__proto__": never the prototype (B5).
      else
        Object.defineProperty(target, key as string, {
          value: resolve(value),
          writable: true,
          enumerable: true,
          configurable: true,
        });
    }
  }
  for (const array of arrays) {
    for (let index = 0; index < array.length; index++) array[index] = resolve(array[index]);
  }
  return resolve(root);
}
