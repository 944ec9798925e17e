/**
 * The worker thread that (de)compresses large zstd values when Node has no asynchronous zstd of its
 * own (Node < 22.15 with `zstd-napi`): each request names the compressor's settings and the bytes.
 */
import { parentPort } from "node:worker_threads";
import { ZstdCompressor } from "./compressor.js";
import type { ZstdJob, ZstdJobResult } from "./off-thread.js";

const compressors = new Map<string, ZstdCompressor>();

function compressorFor(job: ZstdJob): ZstdCompressor {
  const settings = `${String(job.compressionLevel)}/${String(job.maxDecompressedSize)}/${String(job.compressionThreads)}`;
  let compressor = compressors.get(settings);
  if (compressor === undefined) {
    compressor = new ZstdCompressor({ ...job, offThreadBytes: Number.MAX_SAFE_INTEGER });
    compressors.set(settings, compressor);
  }
  return compressor;
}

parentPort?.on("message", (job: ZstdJob) => {
  let result: ZstdJobResult;
  try {
    const compressor = compressorFor(job);
    const output = job.operation === "compress" ? compressor.serialize(job.input) : compressor.deserialize(job.input);
    result = { id: job.id, output };
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    result = { id: job.id, error: { name, message } };
  }
  parentPort?.postMessage(result);
});
