/**
 * The state of a tag, as stored in the backend beside the entries, and the check of an entry against
 * it: what `deleteByTag` and `expireByTag` change, in O(1) per tag, however many entries carry the tag.
 *
 * Each tag has two keys under the root cache's prefix (the same for every namespace of it):
 *
 * | key | value | changed by |
 * | --- | --- | --- |
 * | `{prefix}\0tag{h}{tag}\0g` | its generation: 16 random hexadecimal digits | `deleteByTag` |
 * | `{prefix}\0tag{h}{tag}\0e` | its expiry: 16 random hexadecimal digits, then when it was expired (ms since the epoch) | `expireByTag` |
 *
 * `{h}` is a Redis hash tag of 8 hexadecimal digits derived from the tag, so that both keys of a tag live
 * in one cluster slot (whatever `{`, `}` or `:` the tag holds) and the tags spread over the slots.
 *
 * A writer stamps each tag of an entry with the generation and expiry it saw (32 characters, in the
 * envelope). A reader compares: a generation that differs, or a state that is missing or unreadable
 * (evicted, flushed), means the entry was deleted; an expiry that differs means it went stale when that
 * expiry was set. Random versions rather than timestamps: no clock takes part in deciding whether an
 * entry is gone, so a writer whose clock runs ahead can never outlive a delete, and a state evicted and
 * created again matches no entry written before.
 *
 * @module
 */

import { randomBytes } from "node:crypto";
import type { EntryMetadata } from "../cache/envelope.js";

/** Answered for an entry that its tags' states say is gone. */
export const GONE: unique symbol = Symbol("cachetory.gone");

const GENERATION_SUFFIX = "\u0000g";
const EXPIRY_SUFFIX = "\u0000e";
const VERSION_DIGITS = 16;

/** An FNV-1a hash of the tag's UTF-16 code units, as 8 hexadecimal digits: the cluster hash tag of its keys. */
function slotHash(tag: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < tag.length; index++) {
    hash ^= tag.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}

/** What follows the root prefix in the keys where tags keep their state (never one of the cache's own keys). */
export const TAG_STATE_MARKER = "\u0000tag{";

/** The two keys of each tag, interleaved: generation, expiry, generation, expiry… */
export function stateKeys(rootPrefix: string, tags: readonly string[]): string[] {
  const keys: string[] = [];
  for (const tag of tags) {
    const base = `${rootPrefix}${TAG_STATE_MARKER}${slotHash(tag)}}${tag}`;
    keys.push(base + GENERATION_SUFFIX, base + EXPIRY_SUFFIX);
  }
  return keys;
}

/** A new random version: 16 hexadecimal digits. */
function newVersion(): string {
  return randomBytes(VERSION_DIGITS / 2).toString("hex");
}

/** A new generation of a tag (what `deleteByTag` stores). */
export function newGeneration(): string {
  return newVersion();
}

/** A new expiry of a tag at `expiredAt` (what `expireByTag` stores). */
export function newExpiry(expiredAt: number): string {
  return newVersion() + String(expiredAt);
}

/** A stored state as text, or `undefined` when absent or not a state. */
export function stateText(stored: unknown): string | undefined {
  if (typeof stored === "string") return stored;
  if (stored instanceof Uint8Array)
    return Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength).toString("latin1");
  return undefined;
}

function isVersion(text: string | undefined, length: number): text is string {
  return text !== undefined && text.length === length;
}

/**
 * The stamps a writer puts on an entry, one per tag, from the states read (interleaved as
 * {@link stateKeys}); `undefined` at the index of a tag whose state is missing (to be created).
 */
export function stampsOf(states: readonly unknown[]): (string | undefined)[] {
  const stamps: (string | undefined)[] = [];
  for (let index = 0; index < states.length; index += 2) {
    const generation = stateText(states[index]);
    const expiry = stateText(states[index + 1]);
    stamps.push(
      isVersion(generation, VERSION_DIGITS) && expiry !== undefined && expiry.length > VERSION_DIGITS
        ? generation + expiry.slice(0, VERSION_DIGITS)
        : undefined,
    );
  }
  return stamps;
}

/**
 * An entry's metadata against its tags' states (interleaved as {@link stateKeys}): {@link GONE} when a tag
 * was deleted since the entry was written (or its state is missing: fail safe); the metadata with its
 * times moved earlier when a tag was expired since (stale from the earliest such expiry, then its own
 * `staleWhileRevalidate` and `grace`); the same metadata otherwise.
 */
export function judge(metadata: EntryMetadata, states: readonly unknown[]): EntryMetadata | typeof GONE {
  let expiredAt = Number.POSITIVE_INFINITY;
  const { stamps } = metadata;
  for (let index = 0; index < stamps.length; index++) {
    const stamp = stamps[index] as string;
    const generation = stateText(states[2 * index]);
    const expiry = stateText(states[2 * index + 1]);
    if (!isVersion(generation, VERSION_DIGITS) || expiry === undefined || expiry.length <= VERSION_DIGITS) return GONE;
    if (!stamp.startsWith(generation)) return GONE;
    if (!stamp.endsWith(expiry.slice(0, VERSION_DIGITS))) {
      const at = Number(expiry.slice(VERSION_DIGITS));
      if (!(at >= 0)) return GONE;
      expiredAt = Math.min(expiredAt, at);
    }
  }
  if (expiredAt >= metadata.freshUntil) return metadata;
  const staleUntil = expiredAt + metadata.staleFor;
  return { ...metadata, freshUntil: expiredAt, staleUntil, graceUntil: staleUntil + metadata.graceFor };
}
