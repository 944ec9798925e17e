import { serializerConformance } from "../conformance/serializer.js";

serializerConformance("json://", { richTypes: "none" });
serializerConformance("msgpack://", { richTypes: "msgpack" });
serializerConformance("v8://", { richTypes: "structured-clone" });
for (const compressor of ["zlib", "gzip", "brotli", "zstd", "zstandard"]) {
  serializerConformance(`${compressor}://`, { richTypes: "none", bytesOnly: true });
  serializerConformance(`json+${compressor}://`, { richTypes: "none" });
}
serializerConformance("msgpack+zstd://?compression-level=3", { richTypes: "msgpack" });
serializerConformance("msgpack+zlib://?compression-level=9", { richTypes: "msgpack" });
serializerConformance("v8+brotli://?compression-level=5", { richTypes: "structured-clone" });
serializerConformance("v8+gzip+zstd://", { richTypes: "structured-clone" });
for (const url of [
  "pickle://",
  "pickle://?pickle-protocol=2",
  "pickle://?pickle-protocol=3",
  "pickle://?pickle-protocol=5",
  "pickle+zlib://",
  "pickle+zstd://",
]) {
  serializerConformance(url, { richTypes: "pickle" });
}
