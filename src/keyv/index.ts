/**
 * `cachetory/keyv`: a Keyv store over any cachetory backend, for Keyv, cache-manager and NestJS.
 *
 * @example
 * ```ts
 * import Keyv from "keyv";
 * import { KeyvCachetory } from "cachetory/keyv";
 * const keyv = new Keyv({ store: new KeyvCachetory("redis://127.0.0.1:6379/0") });
 * ```
 *
 * @module
 */
export { KeyvCachetory, type KeyvCachetoryOptions, type KeyvEntry } from "./keyv-cachetory.js";
