import * as zlib from "node:zlib";
import { ConfigurationError } from "../../../errors.js";
import { loadOptional } from "../../../internal/load-optional.js";
import { zstdOffThread } from "./off-thread.js";
import { Compressor, type CompressorOptions, type LevelRange, type ZlibCallbackFunction } from "../compressor.js";

/** zstd levels 1–22; 3 is zstd's own default and a good cache trade-off. */
export const ZSTD_LEVELS: LevelRange = { min: 1, max: 22, default: 3 };

/** Options of {@link ZstdCompressor}. */
export interface ZstdCompressorOptions extends CompressorOptions {
  /** Worker threads for compression; 0 (the default) compresses on the calling thread. URL: `compression-threads`. */
  readonly compressionThreads?: number;
}

/** The part of the `zstd-napi` binding we use (its low-level, documented API). */
interface ZstdNapiBinding {
  getFrameContentSize(frame: Uint8Array): number | null;
  findFrameCompressedSize(frame: Uint8Array): number;
  dStreamOutSize(): number;
  DCtx: new () => {
    decompress(output: Uint8Array, input: Uint8Array): number;
    decompressStream(output: Uint8Array, input: Uint8Array): [number, number, number];
  };
}
interface ZstdNapi {
  compress(data: Uint8Array, parameters: { compressionLevel: number; nbWorkers: number }): Uint8Array;
}

/** What Node ≥ 22.15 offers in `node:zlib`; absent on older Node. */
interface BuiltInZstd {
  zstdCompressSync?: (input: Uint8Array, options: object) => Buffer;
  zstdDecompressSync?: (input: Uint8Array, options: object) => Buffer;
  zstdCompress?: ZlibCallbackFunction;
  zstdDecompress?: ZlibCallbackFunction;
  constants: Record<string, number>;
}
const builtIn = zlib as unknown as BuiltInZstd;
const HAS_BUILT_IN_ZSTD = typeof builtIn.zstdCompressSync === "function";

/**
 * The decompression context of this thread, made once. Building one per value cost 42 k values/s
 * against 511 k/s with one kept. It is never shared mid-operation: `decompress` is one synchronous
 * call (`ZSTD_decompressDCtx`, which starts afresh on each frame), and each worker thread loads this
 * module, and so has a context, of its own. Streaming, which keeps state between calls, takes a new one.
 */
let sharedContext: InstanceType<ZstdNapiBinding["DCtx"]> | undefined;

function oneShotContext(binding: ZstdNapiBinding): InstanceType<ZstdNapiBinding["DCtx"]> {
  sharedContext ??= new binding.DCtx();
  return sharedContext;
}

/**
 * Zstandard (`zstd://`, `zstandard://`; `compression-level` 1–22, default 3; `compression-threads`):
 * fast and compact, and what Python cachetory's `zstd://` reads and writes. Uses Node's built-in zstd
 * where the running Node has it (≥ 22.15), otherwise the optional peer `zstd-napi`.
 *
 * @example
 * ```ts
 * const serializer = serializers.fromUrl("msgpack+zstd://?compression-level=3");
 * const same = new ZstdCompressor({ compressionLevel: 3 });
 * ```
 */
export class ZstdCompressor extends Compressor {
  /** Worker threads used to compress (0: none). */
  readonly compressionThreads: number;
  readonly #napi: ZstdNapi | undefined;
  readonly #binding: ZstdNapiBinding | undefined;

  /** @throws ConfigurationError for a bad option, or when neither built-in zstd nor `zstd-napi` is available. */
  constructor(options: ZstdCompressorOptions = {}) {
    super("zstd", ZSTD_LEVELS, options);
    this.compressionThreads = options.compressionThreads ?? 0;
    if (!Number.isInteger(this.compressionThreads) || this.compressionThreads < 0 || this.compressionThreads > 256) {
      throw new ConfigurationError(
        `compressionThreads must be an integer 0–256 for zstd://, got ${String(this.compressionThreads)}`,
      );
    }
    if (!HAS_BUILT_IN_ZSTD) {
      this.#napi = loadOptional("zstd-napi", "zstd:// on Node < 22.15") as ZstdNapi;
      this.#binding = loadOptional("zstd-napi/binding", "zstd:// on Node < 22.15") as ZstdNapiBinding;
    }
  }

  protected compress(input: Uint8Array): Uint8Array {
    if (this.#napi !== undefined) {
      return this.#napi.compress(input, {
        compressionLevel: this.compressionLevel,
        nbWorkers: this.compressionThreads,
      });
    }
    return (builtIn.zstdCompressSync as NonNullable<BuiltInZstd["zstdCompressSync"]>)(input, this.#builtInOptions());
  }

  protected override compressOffThread(input: Uint8Array): Promise<Uint8Array> {
    if (this.#napi === undefined) {
      return this.onThreadPool(builtIn.zstdCompress as ZlibCallbackFunction, input, this.#builtInOptions());
    }
    return zstdOffThread({ ...this.#settings(), operation: "compress", input }, () => this.compress(input));
  }

  protected override decompressOffThread(input: Uint8Array): Promise<Uint8Array> {
    if (this.#binding === undefined) {
      const options = { maxOutputLength: this.maxDecompressedSize };
      return this.onThreadPool(builtIn.zstdDecompress as ZlibCallbackFunction, input, options);
    }
    return zstdOffThread({ ...this.#settings(), operation: "decompress", input }, () => this.decompress(input));
  }

  #settings(): { compressionLevel: number; maxDecompressedSize: number; compressionThreads: number } {
    const { compressionLevel, maxDecompressedSize, compressionThreads } = this;
    return { compressionLevel, maxDecompressedSize, compressionThreads };
  }

  #builtInOptions(): object {
    const { constants } = builtIn;
    return {
      params: {
        [constants.ZSTD_c_compressionLevel as number]: this.compressionLevel,
        [constants.ZSTD_c_nbWorkers as number]: this.compressionThreads,
      },
    };
  }

  protected decompress(input: Uint8Array): Uint8Array {
    if (this.#binding === undefined) {
      const decompress = builtIn.zstdDecompressSync as NonNullable<BuiltInZstd["zstdDecompressSync"]>;
      return this.boundedZlib(() => decompress(input, { maxOutputLength: this.maxDecompressedSize }));
    }
    return this.#decompressBounded(this.#binding, input);
  }

  /**
   * `zstd-napi`'s own `decompress` allocates whatever size a frame header declares; this version checks
   * the declared sizes against the bound first, and streams (counting) when a frame declares none.
   */
  #decompressBounded(binding: ZstdNapiBinding, input: Uint8Array): Uint8Array {
    let declared = 0;
    for (let frame = input; frame.byteLength > 0; frame = frame.subarray(binding.findFrameCompressedSize(frame))) {
      const size = binding.getFrameContentSize(frame);
      if (size === null) return this.#decompressStreaming(binding, input);
      declared += size;
      if (declared > this.maxDecompressedSize) throw this.tooLarge();
    }
    const output = Buffer.allocUnsafe(declared);
    const written = oneShotContext(binding).decompress(output, input);
    if (written !== declared)
      throw new RangeError(`zstd frame declared ${String(declared)} bytes but held ${String(written)}`);
    return output;
  }

  #decompressStreaming(binding: ZstdNapiBinding, input: Uint8Array): Uint8Array {
    const context = new binding.DCtx();
    const chunks: Uint8Array[] = [];
    const chunkSize = binding.dStreamOutSize();
    let total = 0;
    let remaining = input;
    for (;;) {
      const chunk = Buffer.allocUnsafe(chunkSize);
      const [hint, produced, consumed] = context.decompressStream(chunk, remaining);
      remaining = remaining.subarray(consumed);
      total += produced;
      if (total > this.maxDecompressedSize) throw this.tooLarge();
      if (produced > 0) chunks.push(chunk.subarray(0, produced));
      const frameDone = hint === 0;
      if (remaining.byteLength === 0 && (frameDone || produced < chunkSize)) {
        if (!frameDone) throw new RangeError("truncated zstd frame");
        return Buffer.concat(chunks, total);
      }
      if (produced === 0 && consumed === 0) throw new RangeError("zstd decompression made no progress");
    }
  }
}
