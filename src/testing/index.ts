export {
  AWKWARD_KEYS,
  backendConformance,
  type BackendConformanceCapabilities,
  type BackendConformanceOptions,
} from "./backend.js";
export type { ConformanceCase } from "./conformance-case.js";
export { serializerConformance, type SerializerConformanceOptions } from "./serializer.js";
