import { zstdOffThread } from "./off-thread.js";

/** The part of the `zstd-napi` binding we use (its low-level, documented API). */
export interface ZstdNapiBinding {
  getFrameContentSize(frame: Uint8Array): number | null;
  findFrameCompressedSize(frame: Uint8Array): number;
  dStreamOutSize(): number;
  DCtx: new () => {
    decompress(output: Uint8Array, input: Uint8Array): number;
    decompressStream(output: Uint8Array, input: Uint8Array): [number, number, number];
  };
}

/** The part of `zstd-napi` itself we use. */
export interface ZstdNapi {
  compress(data: Uint8Array, parameters: { compressionLevel: number; nbWorkers: number }): Uint8Array;
}

/** What a {@link ZstdNapiEngine} needs from its compressor. */
export interface ZstdSettings {
  readonly compressionLevel: number;
  readonly compressionThreads: number;
  readonly maxDecompressedSize: number;
  /** The error for output beyond the bound. */
  readonly tooLarge: () => Error;
}

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
 * zstd through the optional peer `zstd-napi`, for Node without built-in zstd (< 22.15): on the calling
 * thread, or off it in a worker thread of ours (`zstd-napi` has no asynchronous API). Decompression checks
 * each frame's declared size against the bound before allocating, and streams (counting) when a frame
 * declares none: `zstd-napi`'s own `decompress` would allocate whatever a header claims.
 */
export class ZstdNapiEngine {
  readonly #napi: ZstdNapi;
  readonly #binding: ZstdNapiBinding;
  readonly #settings: ZstdSettings;

  constructor(napi: ZstdNapi, binding: ZstdNapiBinding, settings: ZstdSettings) {
    this.#napi = napi;
    this.#binding = binding;
    this.#settings = settings;
  }

  compress(input: Uint8Array): Uint8Array {
    const { compressionLevel, compressionThreads } = this.#settings;
    return this.#napi.compress(input, { compressionLevel, nbWorkers: compressionThreads });
  }

  compressOffThread(input: Uint8Array): Promise<Uint8Array> {
    return zstdOffThread({ ...this.#workerSettings(), operation: "compress", input }, () => this.compress(input));
  }

  decompressOffThread(input: Uint8Array): Promise<Uint8Array> {
    return zstdOffThread({ ...this.#workerSettings(), operation: "decompress", input }, () => this.decompress(input));
  }

  decompress(input: Uint8Array): Uint8Array {
    const binding = this.#binding;
    let declared = 0;
    for (let frame = input; frame.byteLength > 0; frame = frame.subarray(binding.findFrameCompressedSize(frame))) {
      const size = binding.getFrameContentSize(frame);
      if (size === null) return this.#decompressStreaming(input);
      declared += size;
      if (declared > this.#settings.maxDecompressedSize) throw this.#settings.tooLarge();
    }
    const output = Buffer.allocUnsafe(declared);
    const written = oneShotContext(binding).decompress(output, input);
    if (written !== declared)
      throw new RangeError(`zstd frame declared ${String(declared)} bytes but held ${String(written)}`);
    return output;
  }

  #decompressStreaming(input: Uint8Array): Uint8Array {
    const context = new this.#binding.DCtx();
    const chunks: Uint8Array[] = [];
    const chunkSize = this.#binding.dStreamOutSize();
    let total = 0;
    let remaining = input;
    for (;;) {
      const chunk = Buffer.allocUnsafe(chunkSize);
      const [hint, produced, consumed] = context.decompressStream(chunk, remaining);
      remaining = remaining.subarray(consumed);
      total += produced;
      if (total > this.#settings.maxDecompressedSize) throw this.#settings.tooLarge();
      if (produced > 0) chunks.push(chunk.subarray(0, produced));
      const frameDone = hint === 0;
      if (remaining.byteLength === 0 && (frameDone || produced < chunkSize)) {
        if (!frameDone) throw new RangeError("truncated zstd frame");
        return Buffer.concat(chunks, total);
      }
      if (produced === 0 && consumed === 0) throw new RangeError("zstd decompression made no progress");
    }
  }

  #workerSettings(): { compressionLevel: number; maxDecompressedSize: number; compressionThreads: number } {
    const { compressionLevel, maxDecompressedSize, compressionThreads } = this.#settings;
    return { compressionLevel, maxDecompressedSize, compressionThreads };
  }
}
