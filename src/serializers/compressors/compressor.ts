import { ConfigurationError } from "../../errors.js";
import { toBytes } from "../../internal/bytes.js";
import type { UrlParameters } from "../../internal/cache-url.js";
import { typedFailure } from "../failure.js";
import { NodeZlibEngine, type NodeZlibFormat } from "./node-zlib-engine.js";

export type { NodeZlibFormat, ZlibCallbackFunction } from "./node-zlib-engine.js";
import type { Serializer, WireValue } from "../contract.js";

/** 128 MiB: what one cache entry may inflate to unless `maxDecompressedSize` says otherwise. */
export const DEFAULT_MAX_DECOMPRESSED_SIZE: number = 128 * 1024 * 1024;

/** 64 KiB: from this size, the async `Cache` compresses on the thread pool instead of the event loop. */
export const DEFAULT_OFF_THREAD_BYTES: number = 64 * 1024;

/** Options every compressor takes. */
export interface CompressorOptions {
  /** The compression level; each compressor names its range and default. */
  readonly compressionLevel?: number;
  /**
   * The most bytes one value may decompress to (default 128 MiB). Larger output is refused with an
   * error instead of exhausting memory: a decompression bomb is a miss, not a crash.
   * URL parameter: `max-decompressed-size`.
   */
  readonly maxDecompressedSize?: number;
  /**
   * From how many bytes of input the async `Cache` compresses off the event loop (default 64 KiB), so
   * that a large value never stalls it. Decompression moves off it from a sixteenth of that (the
   * compressed size), since compressed input is smaller than what it inflates to.
   * URL parameter: `off-thread-bytes`.
   */
  readonly offThreadBytes?: number;
}

/** The level range and default of one compressor, for validation and messages. */
export interface LevelRange {
  readonly min: number;
  readonly max: number;
  readonly default: number;
}

/** Reads the parameters every compressor shares from its URL. */
export function compressorOptionsFromUrl(parameters: UrlParameters, levels: LevelRange): CompressorOptions {
  return {
    compressionLevel: parameters.integer("compression-level", levels),
    maxDecompressedSize: parameters.integer("max-decompressed-size", {
      min: 1,
      max: Number.MAX_SAFE_INTEGER,
      default: DEFAULT_MAX_DECOMPRESSED_SIZE,
    }),
    offThreadBytes: parameters.integer("off-thread-bytes", {
      min: 0,
      max: Number.MAX_SAFE_INTEGER,
      default: DEFAULT_OFF_THREAD_BYTES,
    }),
  };
}

/**
 * The shared part of the compressors: a serializer from bytes (or text, taken as UTF-8) to
 * compressed bytes, with a validated level and a bound on the decompressed size.
 */
export abstract class Compressor implements Serializer<WireValue, Uint8Array> {
  /** The compression level in use. */
  readonly compressionLevel: number;
  /** The most bytes one value may decompress to. */
  readonly maxDecompressedSize: number;
  /** From how many input bytes `serializeAsync` compresses off the event loop. */
  readonly offThreadBytes: number;
  /** `zlib://`, `zstd://`…: what its errors name. */
  readonly #scheme: string;

  protected constructor(scheme: string, levels: LevelRange, options: CompressorOptions) {
    this.#scheme = `${scheme}://`;
    this.compressionLevel = options.compressionLevel ?? levels.default;
    this.maxDecompressedSize = options.maxDecompressedSize ?? DEFAULT_MAX_DECOMPRESSED_SIZE;
    this.offThreadBytes = options.offThreadBytes ?? DEFAULT_OFF_THREAD_BYTES;
    const level = this.compressionLevel;
    if (!Number.isInteger(level) || level < levels.min || level > levels.max) {
      throw new ConfigurationError(
        `compressionLevel must be an integer ${String(levels.min)}–${String(levels.max)} for ${scheme}://, got ${String(level)}`,
      );
    }
    if (!Number.isSafeInteger(this.maxDecompressedSize) || this.maxDecompressedSize < 1) {
      throw new ConfigurationError(
        `maxDecompressedSize must be a positive integer, got ${String(this.maxDecompressedSize)}`,
      );
    }
    if (!Number.isSafeInteger(this.offThreadBytes) || this.offThreadBytes < 0) {
      throw new ConfigurationError(
        `offThreadBytes must be an integer of 0 or more, got ${String(this.offThreadBytes)}`,
      );
    }
  }

  /**
   * @throws SerializationError for an input larger than `max-decompressed-size` (it could never be read
   *   back), or when the compression fails.
   */
  serialize(value: WireValue): Uint8Array {
    try {
      return this.compress(this.#readable(toBytes(value)));
    } catch (cause) {
      throw typedFailure(this.#scheme, "encode", cause);
    }
  }

  /** @throws SerializationError for what is not valid compressed data, or inflates beyond `max-decompressed-size`. */
  deserialize(wire: Uint8Array): Uint8Array {
    try {
      return this.decompress(this.#compressed(wire));
    } catch (cause) {
      throw typedFailure(this.#scheme, "decode", cause);
    }
  }

  /** As `serialize`, but a large input is compressed off the event loop. */
  async serializeAsync(value: WireValue): Promise<Uint8Array> {
    try {
      const input = this.#readable(toBytes(value));
      return await (input.byteLength >= this.offThreadBytes ? this.compressOffThread(input) : this.compress(input));
    } catch (cause) {
      throw typedFailure(this.#scheme, "encode", cause);
    }
  }

  /** As `deserialize`, but a large input is decompressed off the event loop. */
  async deserializeAsync(wire: Uint8Array): Promise<Uint8Array> {
    try {
      const input = this.#compressed(wire);
      return await (input.byteLength >= this.offThreadBytes / 16
        ? this.decompressOffThread(input)
        : this.decompress(input));
    } catch (cause) {
      throw typedFailure(this.#scheme, "decode", cause);
    }
  }

  #compressed(wire: unknown): Uint8Array {
    if (!(wire instanceof Uint8Array)) throw new TypeError("a compressor decompresses bytes only");
    return wire;
  }

  /** The input, when reading it back will not exceed the bound; else the error to throw. */
  #readable(input: Uint8Array): Uint8Array {
    if (input.byteLength > this.maxDecompressedSize) {
      throw new RangeError(
        `the value is ${String(input.byteLength)} bytes, over max-decompressed-size (${String(this.maxDecompressedSize)} bytes): ` +
          "it could never be read back, so it is not written (raise max-decompressed-size to store it)",
      );
    }
    return input;
  }

  /** Compresses bytes. */
  protected abstract compress(input: Uint8Array): Uint8Array;
  /**
   * Compresses bytes off the event loop. The built-in compressors use the thread pool; a subclass that
   * does not say how compresses on the calling thread.
   */
  protected compressOffThread(input: Uint8Array): Promise<Uint8Array> {
    return Promise.resolve().then(() => this.compress(input));
  }

  /** Decompresses bytes off the event loop, bounded as {@link Compressor.decompress}. */
  protected decompressOffThread(input: Uint8Array): Promise<Uint8Array> {
    return Promise.resolve().then(() => this.decompress(input));
  }
  /** Decompresses bytes, failing once the output would exceed {@link maxDecompressedSize}. */
  protected abstract decompress(input: Uint8Array): Uint8Array;

  /** The error for output beyond the bound. */
  protected tooLarge(cause?: unknown): RangeError {
    return new RangeError(
      `the value decompresses to more than max-decompressed-size (${String(this.maxDecompressedSize)} bytes)`,
      cause === undefined ? undefined : { cause },
    );
  }
}

/** What does a compressor's work: on the calling thread, and off it. */
export interface CompressionEngine {
  compress(input: Uint8Array): Uint8Array;
  /** Fails once the output would exceed the compressor's `maxDecompressedSize`. */
  decompress(input: Uint8Array): Uint8Array;
  compressOffThread(input: Uint8Array): Promise<Uint8Array>;
  decompressOffThread(input: Uint8Array): Promise<Uint8Array>;
}

/**
 * A compressor whose work an engine does, chosen once at construction (the `node:zlib` formats, and zstd
 * on Node's own engine or on `zstd-napi`).
 */
export abstract class EngineCompressor extends Compressor {
  readonly #engine: CompressionEngine;

  /** @param engine - Builds the engine once the compressor's options are checked and set. */
  protected constructor(
    scheme: string,
    levels: LevelRange,
    options: CompressorOptions,
    engine: (compressor: EngineCompressor) => CompressionEngine,
  ) {
    super(scheme, levels, options);
    this.#engine = engine(this);
  }

  protected compress(input: Uint8Array): Uint8Array {
    return this.#engine.compress(input);
  }

  protected decompress(input: Uint8Array): Uint8Array {
    return this.#engine.decompress(input);
  }

  protected override compressOffThread(input: Uint8Array): Promise<Uint8Array> {
    return this.#engine.compressOffThread(input);
  }

  protected override decompressOffThread(input: Uint8Array): Promise<Uint8Array> {
    return this.#engine.decompressOffThread(input);
  }
}

/**
 * A compressor over one `node:zlib` format (zlib, gzip, Brotli): the same options on the calling
 * thread and on the thread pool, and `max-decompressed-size` enforced by Node on both.
 */
export abstract class NodeZlibCompressor extends EngineCompressor {
  protected constructor(scheme: string, levels: LevelRange, options: CompressorOptions, format: NodeZlibFormat) {
    super(scheme, levels, options, (compressor) => {
      // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- the base calls back with this very instance
      const self = compressor as NodeZlibCompressor;
      return new NodeZlibEngine(format, {
        compressOptions: (input) => self.compressOptions(input),
        maxDecompressedSize: self.maxDecompressedSize,
        tooLarge: (cause) => self.tooLarge(cause),
      });
    });
  }

  /** The format's compression options for `input` (by default its level). */
  protected compressOptions(_input: Uint8Array): object {
    return { level: this.compressionLevel };
  }
}
